"""uWSGI's named loggers and log routes, the file logger's keyval form and the log encoders:
several --logger (each unnamed one gets every line), `--logger NAME BACKEND` with
`--log-route NAME REGEX` / `--log-req-route`, `file:logfile=PATH,maxsize=N,backupname=F`, and
`--log-encoder json ...`. Each test runs on our server (PyPy) and on Debian's uWSGI (CPython,
its logfile plugin), with the same assertions; both read --log-route's regex with PCRE."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import UWSGI, Flavour, free_port, wait_for
from module_helpers import start_app
from test_request_log import read_text, request

FORMAT = "REQ %(uri) status=%(status)"
DROPPED = re.compile(r"uwsgi: (\d+) request log line\(s\) of pid \d+ dropped")


def start_logged(server, flavour, tmp_path, *logging, log_format=FORMAT):
    """The test app with the logger options given (Debian's uWSGI: its logfile plugin)."""
    return start_app(server, flavour, tmp_path, "module_app.py", "--plugin", "logfile",
                     *logging, "--log-format", log_format)


def logged(path, line):
    """Whether `line` arrives in the file at `path` (bounded wait); else the file's tail."""
    assert wait_for(lambda: line in read_text(path)), read_text(path)[-2000:]


def answered(s, *paths):
    """The log line each request gets, once it answered with the status its path asks."""
    lines = []
    for path in paths:
        status = int(path.split("status=")[1][:3]) if "status=" in path else 200
        assert request(s, path)[0] == status
        lines.append("REQ %s status=%d\n" % (path, status))
    return lines


def test_routes_send_matching_lines_to_named_loggers_only(server, flavour, tmp_path):
    every, every2, errors = (tmp_path / n for n in ("every.log", "every2.log", "errors.log"))
    s = start_logged(server, flavour, tmp_path, "--logger", "file:%s" % every,
                     "--logger", "file:%s" % every2, "--logger", "errors file:%s" % errors,
                     "--log-route", "errors status=5[0-9][0-9]")
    fine, broken = answered(s, "/?n=fine", "/?n=broken&status=503+Down")
    logged(errors, broken)
    for unnamed in (every, every2):  # each unnamed logger gets every line no route took
        logged(unnamed, fine)
        assert broken not in read_text(unnamed)
    assert fine not in read_text(errors)
    # the server's own lines (start-up) went to both unnamed loggers, none to the named one
    assert read_text(every).count("\n") > 2 and read_text(every2).count("\n") > 2
    assert "REQ " not in s.output()


def test_log_req_route_with_req_logger(server, flavour, tmp_path):
    general, requests, missing = (tmp_path / n for n in ("server.log", "req.log", "404.log"))
    s = start_logged(server, flavour, tmp_path, "--logger", "file:%s" % general,
                     "--logger", "missing file:%s" % missing, "--req-logger", "file:%s" % requests,
                     "--log-req-route", "missing status=404")
    here, gone = answered(s, "/?n=here", "/?n=gone&status=404+Not+Found")
    logged(missing, gone)
    logged(requests, here)
    assert gone not in read_text(requests)
    assert "REQ " not in read_text(general)


def test_file_logger_keyval_form_rotates(server, flavour, tmp_path):
    log, backup = tmp_path / "app.log", tmp_path / "app.log.old"
    s = start_logged(server, flavour, tmp_path,
                     "--logger", "file:logfile=%s,maxsize=3000,backupname=%s" % (log, backup),
                     log_format=FORMAT + " " + "x" * 200)
    n = 0
    while not backup.exists() and n < 200:  # each line is about 230 bytes
        n += 1
        assert request(s, "/?n=%d" % n)[0] == 200
    assert wait_for(backup.exists), read_text(log)[-2000:]
    assert "REQ /?n=" in read_text(backup)
    assert len(read_text(backup)) > 3000, "rotated only once past maxsize"
    assert request(s, "/?n=after")[0] == 200
    assert wait_for(lambda: "REQ /?n=after " in read_text(log)), read_text(log)
    assert len(read_text(log)) < 3000 + 1000


def test_routes_hold_across_a_reload(server, flavour, tmp_path):
    """After a graceful reload (SIGHUP: ours re-executes itself, as uWSGI) each line still goes
    once to where it belongs: no second copy through the log process of before the reload."""
    every, errors = tmp_path / "every.log", tmp_path / "errors.log"
    s = start_logged(server, flavour, tmp_path, "--logger", "file:%s" % every,
                     "--logger", "errors file:%s" % errors, "--log-route", "errors status=5[0-9][0-9]")
    before, = answered(s, "/?n=before")
    logged(every, before)
    os.kill(s.pid, signal.SIGHUP)

    def served_after_reload():
        try:
            return answered(s, "/?n=after-reload-started")
        except (AssertionError, OSError):
            return None
    assert wait_for(lambda: "graceful" in read_text(every).split(before, 1)[1].lower()), \
        read_text(every)[-3000:]
    assert wait_for(served_after_reload, timeout=60), read_text(every)[-3000:]
    fine, broken = answered(s, "/?n=fine-after", "/?n=broken-after&status=502+Bad")
    logged(every, fine)
    logged(errors, broken)
    assert read_text(every).count(fine) == 1 and read_text(every).count(before) == 1
    assert read_text(errors).count(broken) == 1 and broken not in read_text(every)
    assert "REQ " not in s.output()


def test_log_maxsize_rotates_the_logto_file_behind_the_log_process(server, flavour, tmp_path):
    """--logto with --log-maxsize, and a named logger: the lines no route takes go to the
    --logto file, which is still rotated (uWSGI's master rotates its original log fd)."""
    main, backup, errors = tmp_path / "main.log", tmp_path / "main.log.old", tmp_path / "e.log"
    s = start_logged(server, flavour, tmp_path, "--logto", str(main), "--log-maxsize", "3000",
                     "--log-backupname", str(backup), "--logger", "errs file:%s" % errors,
                     "--log-route", "errs status=5[0-9][0-9]",
                     log_format=FORMAT + " " + "x" * 200)
    for n in range(400):  # about 230 bytes a line; uWSGI checks the size once a second
        answered(s, "/?n=%d" % n)
        if backup.exists():
            break
    assert wait_for(backup.exists), read_text(main)[-2000:]
    assert "REQ /?n=" in read_text(backup)
    broken = answered(s, "/?n=after&status=500+Err")[0].rstrip("\n")  # then the x's
    logged(errors, broken)
    assert broken not in read_text(main)


def test_json_log_encoder(server, flavour, tmp_path):
    log = tmp_path / "json.log"
    s = start_logged(server, flavour, tmp_path, "--logger", "file:%s" % log,
                     "--log-encoder", 'json {"msg":"${msg}","time":${unix},"ms":${millis}}',
                     "--log-encoder", "nl", log_format='REQ "%(uri)"\t%(status)')
    assert request(s, "/?n=json")[0] == 200

    def records():
        out = []
        for line in read_text(log).splitlines():
            if line.strip():
                out.append(json.loads(line))  # every line is a JSON document
        return out
    assert wait_for(lambda: any(r["msg"].startswith("REQ ") for r in records())), read_text(log)
    req = [r for r in records() if r["msg"].startswith("REQ ")][0]
    assert req["msg"] == 'REQ "/?n=json"\t200'
    assert isinstance(req["time"], int) and abs(req["ms"] // 1000 - req["time"]) <= 1


def test_json_request_lines_with_log_req_encoder(server, flavour, tmp_path):
    """JSON request lines only: --log-req-encoder encodes what the --req-logger gets; the
    server's own lines stay plain."""
    general, requests = tmp_path / "server.log", tmp_path / "requests.jsonl"
    s = start_logged(server, flavour, tmp_path, "--logger", "file:%s" % general,
                     "--req-logger", "file:%s" % requests,
                     "--log-req-encoder", 'format {"req":"${msg}","at":${micros}}',
                     "--log-req-encoder", "nl")
    line, = answered(s, "/?n=jsonl")
    assert wait_for(lambda: read_text(requests).endswith("}\n")), read_text(requests)
    record = json.loads(read_text(requests).splitlines()[0])
    assert record["req"] == line.rstrip("\n") and record["at"] > 10 ** 15
    assert "{" not in read_text(general).splitlines()[0]


def test_format_and_prefix_encoders_for_one_named_logger(server, flavour, tmp_path):
    plain, tagged = tmp_path / "plain.log", tmp_path / "tagged.log"
    s = start_logged(server, flavour, tmp_path, "--logger", "file:%s" % plain,
                     "--logger", "tag file:%s" % tagged, "--log-route", "tag REQ",
                     "--log-encoder", "prefix:tag [T] ")
    line, = answered(s, "/?n=p")
    assert wait_for(lambda: "[T] " + line in read_text(tagged)), read_text(tagged)
    assert "[T]" not in read_text(plain)


def run_refused(args):
    r = subprocess.run([UWSGI, "--plugin", "example", "--socket", "127.0.0.1:%d" % free_port()]
                       + args, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr


def test_bad_routes_and_encoders_are_refused_at_start_up(tmp_path):
    f = "file:%s" % (tmp_path / "x.log")
    for args, says in [
            (["--logger", f, "--log-route", "nobody x"], "no logger is named 'nobody'"),
            (["--logger", "a " + f, "--log-route", "a ("], "bad regular expression"),
            (["--logger", "a " + f, "--log-route", "a"], "give NAME REGEX"),
            (["--logger", "file:logfile=%s,maxsize=x" % (tmp_path / "y")], "not a number"),
            (["--logger", "file:maxsize=10"], "needs logfile=PATH"),
            (["--logger", "file:logfile=/tmp/z,colour=red"], "unknown key 'colour'"),
            (["--log-encoder", "rot13"], "unknown log encoder"),
            (["--log-encoder", "json {\"m\":\"${mesage}\"}"], "unknown variable ${mesage}"),
            (["--logger", f, "--log-master-bufsize", "0"], "--log-master-bufsize 0")]:
        code, err = run_refused(args)
        assert code == 1, (args, err)
        assert says in err, (args, err)


def test_a_stuck_log_drops_counted_lines_instead_of_holding_requests(server, tmp_path):
    """Ours only: the request queue to the log process is bounded and written without waiting.
    uWSGI's request log pipe is non-blocking too but drops without a word, and its log master
    (the master itself) stalls on the stuck write. Here the log is a FIFO nobody reads: the
    requests keep their pace, and every line is either written or counted as dropped."""
    fifo = tmp_path / "stuck.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, not read yet: writes block
    got = []
    s = start_app(server, Flavour("pypy"), tmp_path, "module_app.py",
                  "--req-logger", "file:%s" % fifo, "--log-format", "REQ %(uri) " + "x" * 8000)
    try:
        made, slowest = 0, 0.0
        for n in range(300):  # 300 lines of 8 KB: far past the FIFO's and the queue's room
            t = time.monotonic()
            assert request(s, "/?n=%d" % n)[0] == 200
            slowest = max(slowest, time.monotonic() - t)
            made += 1
        assert slowest < 5, "a request waited %.1f s on the stuck log" % slowest

        def drain():  # ends at EOF, when the log process is gone
            os.set_blocking(reader, True)
            while chunk := os.read(reader, 1 << 16):
                got.append(chunk)
        threading.Thread(target=drain, daemon=True).start()

        def balanced():
            text = b"".join(got).decode(errors="replace")
            dropped = sum(int(m) for m in DROPPED.findall(text))
            return text.count("REQ /?n=") + dropped == made and dropped > 0
        for n in range(40):  # each worker logs its count with its next line that fits
            assert request(s, "/?n=after%d" % n)[0] == 200
            made += 1
            if wait_for(balanced, timeout=2):
                break
        assert balanced(), b"".join(got)[-3000:]
    finally:
        s.stop()  # the log process ends after the server: the drain thread sees EOF
        os.close(reader)


# uWSGI's default request line (logging.c, uwsgi_logit_simple), what a logger gets without
# --log-format
DEFAULT_LINE = re.compile(
    r"^(?:\{address space usage: (\d+) bytes/(\d+)MB\} \{rss usage: (\d+) bytes/(\d+)MB\} )?"
    r"\[pid: (\d+)\|app: (-?\d+)\|req: (-?\d+)/(\d+)\] 127\.0\.0\.1 \(\) "
    r"\{(\d+) vars in (\d+) bytes\} \[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\] "
    r"GET (\S+) => generated (\d+) bytes in (\d+) msecs \(HTTP/1\.1 200\) "
    r"(\d+) headers in (\d+) bytes \((\d+) switches on core (\d+)\)$")


def default_lines(path, n):
    """The first N request lines in uWSGI's default form, once N arrived (bounded)."""
    found = []

    def lines():
        found[:] = [m for m in map(DEFAULT_LINE.match, read_text(path).splitlines()) if m]
        return len(found) >= n
    assert wait_for(lines), read_text(path)[-2000:]
    return found[:n]


def test_a_logger_without_log_format_gets_uwsgis_default_request_line(server, flavour, tmp_path):
    general, requests = tmp_path / "server.log", tmp_path / "req.log"
    s = start_app(server, flavour, tmp_path, "module_app.py", "--plugin", "logfile",
                  "--logger", "file:%s" % general, "--req-logger", "file:%s" % requests,
                  "--memory-report", workers=1)
    before = time.time()
    bodies = [request(s, "/default-line?n=%d" % i)[1] for i in range(3)]
    lines = default_lines(requests, 3)
    worker = [int(p) for p in subprocess.run(["ps", "-o", "pid=", "--ppid", str(s.pid)],
                                               capture_output=True, text=True).stdout.split()]
    totals = []
    for i, m in enumerate(lines):
        (vsz, vsz_m, rss, rss_m, pid, app, app_req, total, nvars, pktsize, ctime, uri, size,
         msecs, headers, hsize, switches, core) = m.groups()
        assert vsz and int(vsz) // (1024 * 1024) == int(vsz_m) and int(rss) > 0, m.group(0)
        assert int(pid) in worker
        assert uri == "/default-line?n=%d" % i
        assert int(size) == len(bodies[i])  # the body, the head counted apart
        assert int(app) == 0 and int(app_req) == i + 1  # this worker's requests to app 0
        totals.append(int(total))
        # uWSGI counts a var's key and value apart; the packet has 2+2 size bytes per var
        assert int(nvars) % 2 == 0 and int(nvars) >= 2 * 8
        assert int(pktsize) > 4 * int(nvars) // 2 + len("REQUEST_METHODGET")
        start = time.mktime(time.strptime(ctime, "%a %b %d %H:%M:%S %Y"))
        assert int(before) - 1 <= start <= time.time() + 1, ctime
        # a status line, the app's headers and the blank line
        assert int(headers) >= 1 and int(hsize) > len("HTTP/1.1 200 OK\r\n\r\n") + 10
        assert int(switches) == 1 and int(core) == 0  # one body write, one request thread
    assert totals == [1, 2, 3]
    # the server's own log has no request line
    assert "default-line" not in read_text(general)


@pytest.mark.parametrize("stream", [False, True], ids=["seqpacket", "stream"])
def test_log_master_bufsize_cuts_long_messages_unless_log_master_stream(server, flavour,
                                                                      tmp_path, stream):
    """--log-master-bufsize is what the log process reads at once: a longer message is cut
    there (the rest is lost); with --log-master-stream the log socket is a byte stream and the
    message arrives whole, in pieces."""
    log = tmp_path / "app.log"
    s = start_app(server, flavour, tmp_path, "stderr_app.py", "--plugin", "logfile",
                  "--logger", "file:%s" % log, "--log-master-bufsize", "100",
                  *(["--log-master-stream"] if stream else []), workers=1)
    assert request(s, "/?n=303")[0] == 200
    if stream:
        logged(log, "<" + "x" * 300 + ">\n")
    else:
        logged(log, "<" + "x" * 99)  # 100 bytes
        assert "x" * 100 not in read_text(log), read_text(log)[-1000:]
        assert request(s, "/?n=50")[0] == 200  # and the log goes on after a cut message
        logged(log, "<" + "x" * 47 + ">")
