"""The request log: --log-format with uWSGI's variables and logvars, and which requests are
logged with --disable-logging (--log-4xx, --log-5xx, --log-slow, --log-big). Each test runs on
our server (PyPy) and on Debian's uWSGI (CPython), with the same assertions."""
import re
import subprocess
import time
import urllib.error
import urllib.request

from conftest import UWSGI, free_port, wait_for
from module_helpers import start_app

FORMAT = ("REQ addr=%(addr) method=%(method) uri=%(uri) status=%(status) size=%(size) "
          "ms=%(msecs) us=%(micros) time=%(time) ltime=[%(ltime)] ua=%(uagent) "
          "ref=%(referer) pid=%(pid) wid=%(wid) answer=%(answer) END")
LINE = re.compile(
    r"REQ addr=(?P<addr>\S*) method=(?P<method>\S*) uri=(?P<uri>\S*) status=(?P<status>\d+) "
    r"size=(?P<size>\d+) ms=(?P<ms>\d+) us=(?P<us>\d+) time=(?P<time>\d+) "
    r"ltime=\[(?P<ltime>[^\]]*)\] ua=(?P<ua>\S*) ref=(?P<ref>\S*) pid=(?P<pid>\d+) "
    r"wid=(?P<wid>\d+) answer=(?P<answer>\S*) END")


def request(s, path, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(s.url(path), headers=headers or {}),
                                    timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:  # 4xx and 5xx answers
        return e.code, e.read()


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_log_format_variables_and_logvars(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "module_app.py", "--log-format", FORMAT)
    before = time.time()
    status, body = request(s, "/logvars?hold=0.05",
                           {"User-Agent": "probe/1.0", "Referer": "http://ref.example/x"})
    assert status == 200
    assert wait_for(lambda: LINE.search(s.output())), s.output()[-2000:]
    m = LINE.search(s.output()).groupdict()
    assert m["addr"] == "127.0.0.1" and m["method"] == "GET"
    assert m["uri"] == "/logvars?hold=0.05" and m["status"] == "200"
    assert int(m["size"]) >= len(body)  # uWSGI: headers and body
    assert m["ua"] == "probe/1.0" and m["ref"] == "http://ref.example/x"
    assert m["answer"] == "43"  # the app's uwsgi.set_logvar, last value
    assert int(m["pid"]) in children(s.pid)
    assert m["wid"] in ("1", "2")
    assert 50 <= int(m["ms"]) < 10000 and int(m["us"]) // 1000 == int(m["ms"])
    assert before - 2 <= int(m["time"]) <= time.time() + 1
    day = time.strftime("%d/%b/%Y", time.localtime(int(m["time"])))
    assert m["ltime"].startswith(day + ":")
    assert re.fullmatch(r"\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", m["ltime"])


def test_disable_logging_keeps_4xx_5xx_slow_and_big(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "module_app.py", "--disable-logging",
                  "--log-4xx", "--log-5xx", "--log-slow", "300", "--log-big", "4000",
                  "--log-format", "REQ %(uri) %(status)")
    assert request(s, "/?n=plain")[0] == 200
    assert request(s, "/?n=notfound&status=404+Not+Found")[0] == 404
    assert request(s, "/?n=failed&status=503+Unavailable")[0] == 503
    assert request(s, "/?n=slow&hold=0.6")[0] == 200
    assert request(s, "/?n=big&pad=5000")[0] == 200
    assert request(s, "/?n=small&pad=3000")[0] == 200
    assert request(s, "/?n=last&status=404+Not+Found")[0] == 404
    # each worker writes its own lines after answering: they may come in any order
    logged = ["REQ /?n=last&status=404+Not+Found 404", "REQ /?n=notfound&status=404+Not+Found 404",
              "REQ /?n=failed&status=503+Unavailable 503", "REQ /?n=slow&hold=0.6 200",
              "REQ /?n=big&pad=5000 200"]
    assert wait_for(lambda: all(line in s.output() for line in logged)), s.output()
    out = s.output()
    assert "n=plain" not in out and "n=small" not in out


def test_malformed_log_format_is_refused_at_start_up():
    for fmt, says in [("%(uri) %(status", "'%(' without its ')'"),
                      ("%() x", "'%()' is not a variable name"),
                      # (a space makes it a uWSGI config arithmetic placeholder, resolved before)
                      ("%(a+b)", "'%(a+b)' is not a variable name")]:
        r = subprocess.run([UWSGI, "--plugin", "example", "--socket",
                            "127.0.0.1:%d" % free_port(), "--log-format", fmt],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 1, (fmt, r.stderr)
        assert says in r.stderr, (fmt, r.stderr)


def test_log_x_forwarded_for_gives_the_proxied_address(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "module_app.py", "--log-x-forwarded-for",
                  "--log-format", "XFF %(addr) %(uri)")
    assert request(s, "/?n=proxied", {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})[0] == 200
    assert request(s, "/?n=direct")[0] == 200
    # each worker writes its own lines: the two may come in either order
    assert wait_for(lambda: "XFF 127.0.0.1 /?n=direct" in s.output()), s.output()[-2000:]
    # the header as the proxy sent it, whole (uWSGI does not pick the first address)
    assert wait_for(lambda: "XFF 203.0.113.7, 10.0.0.1 /?n=proxied" in s.output()), \
        s.output()[-2000:]


def test_logger_and_req_logger_file_backends(server, flavour, tmp_path):
    general, requests = tmp_path / "server.log", tmp_path / "requests.log"
    # Debian's uWSGI has its file logger in the logfile plugin; ours in the core (logged)
    s = start_app(server, flavour, tmp_path, "module_app.py", "--plugin", "logfile",
                  "--logger", "file:%s" % general, "--req-logger", "file:%s" % requests,
                  "--log-format", "REQ %(uri) %(status)")
    assert request(s, "/?n=one")[0] == 200
    assert request(s, "/?n=two&status=404+Not+Found")[0] == 404
    # each worker writes its own lines after answering: the two may come in either order
    assert wait_for(lambda: "REQ /?n=two&status=404+Not+Found 404\n" in read_text(requests))
    assert wait_for(lambda: "REQ /?n=one 200\n" in read_text(requests)), read_text(requests)
    server_log = read_text(general)
    assert server_log.strip(), "the server's own lines went to the --logger file"
    assert "REQ " not in server_log and "REQ " not in s.output()


def test_req_logger_stdio_and_the_default_line(server, flavour, tmp_path):
    general = tmp_path / "server.log"
    s = start_app(server, flavour, tmp_path, "module_app.py", "--plugin", "logfile",
                  "--req-logger", "stdio", "--logger", "file:%s" % general)
    assert request(s, "/?n=stdio")[0] == 200
    # request lines on the original stderr, everything else in the --logger file
    assert wait_for(lambda: "/?n=stdio" in s.output()), s.output()[-2000:]
    assert "/?n=stdio" not in read_text(general)


def test_bad_logger_backend_is_refused_at_start_up(tmp_path):
    for args, says in [(["--req-logger", "syslogd:x"], "unknown logger backend"),
                       (["--logger", "file:%s/no/such/dir/x.log" % tmp_path], "cannot open"),
                       (["--logger", "mine ftp:/tmp/x"], "unknown logger backend")]:
        r = subprocess.run([UWSGI, "--plugin", "example", "--socket",
                            "127.0.0.1:%d" % free_port()] + args,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 1, (args, r.stderr)
        assert says in r.stderr, (args, r.stderr)


def read_text(path):
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def test_log_maxsize_rotates_the_logto_file(server, flavour, tmp_path):
    log, backup = tmp_path / "app.log", tmp_path / "app.log.old"
    s = start_app(server, flavour, tmp_path, "module_app.py", "--logto", str(log),
                  "--log-maxsize", "4000", "--log-backupname", str(backup),
                  "--log-format", "REQ %(uri) " + "x" * 200)
    n = 0

    def rotated():
        nonlocal n
        n += 1
        assert request(s, "/?n=%d" % n)[0] == 200
        return "triggering rotation to %s" % backup in read_text(backup)
    assert wait_for(rotated, timeout=60), read_text(log)[-1000:]
    assert "logsize: " in read_text(backup)
    assert log.exists()
    if flavour.name == "pypy":
        # uWSGI's workers keep writing into the renamed file (only its master reopens, unless
        # --log-master); ours follow the path within a second
        def follows():
            nonlocal n
            n += 1
            assert request(s, "/?n=after%d" % n)[0] == 200
            return "REQ /?n=after" in read_text(log)
        assert wait_for(follows, timeout=30), read_text(log)[-1000:]


def test_log_maxsize_without_a_log_file_is_refused(tmp_path):
    r = subprocess.run([UWSGI, "--plugin", "example", "--socket", "127.0.0.1:%d" % free_port(),
                        "--log-maxsize", "1000"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "--log-maxsize rotates the --logto" in r.stderr, r.stderr
