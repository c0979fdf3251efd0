"""--master-fifo: uWSGI's one-letter commands to the master, on ours (PyPy) and on Debian's
uWSGI (CPython). Worker processes are counted from the kernel; the chain reload runs under a
client loop that must see no failed request."""
import http.client
import os
import threading

import pytest

from conftest import wait_for
from test_stats_server import read_stats, stats_answer
from workers_helpers import (every_worker_answered, get, live_children, start_workers_app,
                             wait_children, worker_pid)


def send(fifo, command):
    """Writes COMMAND once the master reads FIFO (after a reload the new master image makes
    the fifo afresh, uWSGI's once its master loop starts): bounded, never hangs."""
    assert wait_for(lambda: _try_send(fifo, command), timeout=20), "nobody reads " + fifo


def _try_send(fifo, command):
    try:
        # O_NONBLOCK: a fifo without a reader fails (ENXIO) instead of blocking the test
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        os.write(fd, command.encode())
    finally:
        os.close(fd)
    return True


def start(server, flavour, tmp_path, *extra):
    fifo = str(tmp_path / "master.fifo")
    s = start_workers_app(server, flavour, "--master-fifo", fifo, *extra)
    assert wait_for(lambda: os.path.exists(fifo))
    return s, fifo


def replaced(s, before):
    """Every worker of BEFORE is gone and as many new ones run. Each poll sends a request:
    Debian's uWSGI lets an idle worker told to go finish only once a request wakes it."""
    def check():
        try:
            get(s, timeout=5)
        except OSError:
            pass  # a reload may refuse it for a moment; not what is asserted here
        now = live_children(s.pid)
        return not set(before) & set(now) and len(now) == len(before)
    return check


def test_reload_commands_replace_the_workers(server, flavour, tmp_path):
    s, fifo = start(server, flavour, tmp_path, "--processes", "2")
    for command in ("r", "w", "R", "W"):
        assert every_worker_answered(s, 2)
        before = live_children(s.pid)
        send(fifo, command)
        assert wait_for(replaced(s, before), timeout=30), (command, before,
                                                          live_children(s.pid),
                                                          s.output()[-3000:])
        assert s.proc.poll() is None
        assert wait_for(lambda: worker_pid(s) in live_children(s.pid))


def test_stats_command_logs_the_request_count(server, flavour, tmp_path):
    s, fifo = start(server, flavour, tmp_path, "--processes", "2")
    for _ in range(5):
        get(s)
    # A worker counts a request after its answer has gone (uWSGI's uwsgi_close_request, and
    # ours), just before it logs the request line: the five lines mean five counted requests.
    assert wait_for(lambda: s.output().count("GET / =>") >= 5), s.output()[-2000:]
    send(fifo, "s\n")
    assert s.wait_log("workers total requests: 5"), s.output()[-2000:]


@pytest.mark.parametrize("command", ["q", "Q"])
def test_stop_commands_end_the_server(server, flavour, tmp_path, command):
    if flavour.upstream and command == "Q":
        # seen: uWSGI 2.0.21 kills its workers on Q and its master goes on running
        pytest.skip("Debian's uWSGI 2.0.21 master does not exit on Q")
    s, fifo = start(server, flavour, tmp_path, "--processes", "2")
    assert every_worker_answered(s, 2)
    workers = live_children(s.pid)
    send(fifo, command)
    s.proc.wait(timeout=30)
    assert s.proc.returncode == 0, s.output()[-2000:]
    assert wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in workers))


def test_graceful_stop_finishes_the_request_in_flight(server, flavour, tmp_path):
    s, fifo = start(server, flavour, tmp_path, "--processes", "1")
    answer = []
    t = threading.Thread(target=lambda: answer.append(get(s, "/sleep?s=2&mark=1")))
    t.start()
    assert s.wait_log("sleeping in worker")  # the request is in the app now
    send(fifo, "q")
    t.join(30)
    assert answer and int(answer[0]) > 0
    s.proc.wait(timeout=30)


def test_plus_and_minus_move_the_cheaper_worker_count(server, flavour, tmp_path):
    s, fifo = start(server, flavour, tmp_path, "--processes", "3", "--cheaper", "1",
                    "--cheaper-overload", "60")
    assert wait_children(s.pid, lambda n: n == 1)
    send(fifo, "+")
    assert wait_children(s.pid, lambda n: n == 2, timeout=20), s.output()[-2000:]
    send(fifo, "+")
    assert wait_children(s.pid, lambda n: n == 3, timeout=20), s.output()[-2000:]
    send(fifo, "-")
    assert wait_children(s.pid, lambda n: n == 2, timeout=20), s.output()[-2000:]


def test_numbers_select_the_live_fifo(server, flavour, tmp_path):
    second = str(tmp_path / "second.fifo")
    s, fifo = start(server, flavour, tmp_path, "--processes", "1", "--master-fifo", second)
    get(s)
    send(fifo, "1")
    assert wait_for(lambda: os.path.exists(second))
    # uWSGI switches once the writer of the first fifo is gone; ours after the batch
    send(second, "s")
    assert s.wait_log("workers total requests: 1"), s.output()[-2000:]



def test_chain_reload_replaces_workers_one_at_a_time_and_drops_nothing(server, flavour, tmp_path):
    s, fifo = start(server, flavour, tmp_path, "--processes", "3")
    assert every_worker_answered(s, 3)
    before = live_children(s.pid)
    results = {"ok": 0, "failed": []}
    stop = threading.Event()

    def client_loop():
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            try:
                conn.request("GET", "/sleep?s=0.05")
                r = conn.getresponse()
                body = r.read()
                if r.status == 200 and body:
                    results["ok"] += 1
                else:
                    results["failed"].append(r.status)
            except Exception as e:  # every failure counts, whatever it is
                results["failed"].append(repr(e))
            finally:
                conn.close()

    clients = [threading.Thread(target=client_loop) for _ in range(4)]
    for c in clients:
        c.start()
    try:
        assert wait_for(lambda: results["ok"] >= 20, timeout=30)
        send(fifo, "c")
        assert wait_for(replaced(s, before), timeout=60), (before, live_children(s.pid),
                                                          s.output()[-3000:])
        served_during = results["ok"]
        assert wait_for(lambda: results["ok"] >= served_during + 20, timeout=30)
    finally:
        stop.set()
        for c in clients:
            c.join(60)
    if flavour.upstream:
        # seen once in a full run: Debian's uWSGI 2.0.21 reset one connection during its chain
        # reload under this load; this server must drop none
        assert len(results["failed"]) <= 2, results["failed"][:5]
    else:
        assert results["failed"] == [], results["failed"][:5]
    out = s.output()
    # one at a time: uWSGI's lines, one victim each
    assert s.wait_log("chain reloading complete"), out[-3000:]
    out = s.output()
    for wid in (1, 2, 3):
        assert "chain next victim is worker %d" % wid in out


def accept_queue(port):
    """Connections waiting in the kernel's accept queue of the listener on PORT (for a
    listening socket /proc/net/tcp's rx_queue is that count): nobody accepted them."""
    with open("/proc/net/tcp") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":%04X" % port) and fields[3] == "0A":  # 0A: LISTEN
                return int(fields[4].split(":")[1], 16)
    return -1


def test_p_pauses_the_workers_until_the_next_p(server, flavour, tmp_path):
    stats = str(tmp_path / "stats.sock")
    s, fifo = start(server, flavour, tmp_path, "--processes", "2", "--stats", stats)
    assert every_worker_answered(s, 2)
    send(fifo, "p")
    assert s.wait_log("PAUSE"), s.output()[-2000:]
    # each idle worker says so at once, in uWSGI's words (no connection needs to wake it)
    for wid in (1, 2):
        assert s.wait_log("*** worker %d suspended ***" % wid), s.output()[-2000:]
    assert wait_for(lambda: stats_answer(stats))
    assert wait_for(lambda: [w["status"] for w in read_stats(stats)["workers"]]
                    == ["pause", "pause"]), read_stats(stats)["workers"]
    answer = []
    t = threading.Thread(target=lambda: answer.append(get(s, timeout=60)))
    t.start()
    try:
        # the request waits in the listen queue: no worker takes it
        assert wait_for(lambda: accept_queue(s.port) == 1), accept_queue(s.port)
        assert not answer
        # still paused: one line per worker, none woken again by the waiting connection
        assert s.output().count("suspended ***") == 2, s.output()[-2000:]
        send(fifo, "p")
        assert s.wait_log("resuming workers"), s.output()[-2000:]
        for wid in (1, 2):
            assert s.wait_log("*** worker %d resumed ***" % wid), s.output()[-2000:]
        t.join(60)
        assert answer and int(answer[0]) in live_children(s.pid), (answer, s.output()[-2000:])
    finally:
        t.join(60)
    assert wait_for(lambda: all(w["status"] != "pause" for w in read_stats(stats)["workers"]))
    assert int(get(s)) in live_children(s.pid)


def test_l_reopens_the_log_file(server, flavour, tmp_path):
    log = tmp_path / "app.log"
    s, fifo = start(server, flavour, tmp_path, "--processes", "1", "--logto", str(log))
    assert wait_for(lambda: log.exists() and "spawned" in log.read_text(errors="replace"))
    # what logrotate does before it asks for a reopen: the file is renamed away
    old = tmp_path / "app.log.1"
    os.rename(log, old)
    send(fifo, "l")
    assert wait_for(lambda: log.exists() and "reopened." in log.read_text(errors="replace")), \
        old.read_text(errors="replace")[-2000:]
    assert "triggering log-reopen..." in old.read_text(errors="replace")
    send(fifo, "s")  # the master's lines go to the new file now
    assert wait_for(lambda: "workers total requests" in log.read_text(errors="replace"))
    assert "workers total requests" not in old.read_text(errors="replace")


def test_L_rotates_the_log_file(server, flavour, tmp_path):
    log = tmp_path / "app.log"
    backup = tmp_path / "app.log.rotated"
    s, fifo = start(server, flavour, tmp_path, "--processes", "1", "--logto", str(log),
                    "--log-backupname", str(backup))
    assert wait_for(lambda: log.exists() and "spawned" in log.read_text(errors="replace"))
    send(fifo, "L")
    assert wait_for(lambda: backup.exists() and "triggering rotation to %s..." % backup
                    in backup.read_text(errors="replace")), log.read_text(errors="replace")
    send(fifo, "s")
    assert wait_for(lambda: log.exists() and "workers total requests"
                    in log.read_text(errors="replace"))
    if not flavour.upstream:
        # better than uWSGI 2.0, whose workers keep writing into the rotated file (only the
        # master's descriptor is replaced): ours follow the path within a second

        def request_logged_in_new_file():
            get(s)
            return "GET / =>" in log.read_text(errors="replace")
        assert wait_for(request_logged_in_new_file), log.read_text(errors="replace")[-2000:]
