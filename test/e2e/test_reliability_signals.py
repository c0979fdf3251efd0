"""Reliability: signals that arrive while a reload or a shutdown is under way (issue 12).

Every sequence of HUP/TERM/INT/QUIT ends in a decided state (core/control_signals.hpp): more
HUPs during a reload coalesce into it, a TERM/INT turns it into a shutdown, a QUIT makes it
brutal; during a shutdown a HUP is ignored and a second TERM/INT hurries it, and the exit is 0.
Before, the master unblocked every signal just before execv, so a signal pending since the
reload began ran its default action and killed the server (exit 129/143, nothing listening).
"""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import ROOT, UpstreamProcess, free_port, uwsgi_request, wait_for, wait_for_port
from test_core_process import HELLO, Loop, children, hello

UPSTREAM = "/usr/bin/uwsgi-core"


def upstream_python3():
    return os.access(UPSTREAM, os.X_OK) and os.path.exists("/usr/lib/uwsgi/plugins/python3_plugin.so")


class Upstream(UpstreamProcess):
    """Debian's uWSGI (CPython) serving examples/hello/app.py, as the reference."""

    def __init__(self, tmp_path, args):
        self.port = free_port()
        super().__init__(
            [UPSTREAM, "--plugins", "python3", "--socket", "127.0.0.1:%d" % self.port,
             "--wsgi-file", os.path.join(ROOT, "examples", "hello", "app.py")] + args,
            str(tmp_path / ("upstream-%d.log" % self.port)))
        wait_for_port(self.port, self.proc, self.log_path)


@pytest.fixture
def upstream(tmp_path):
    started = []

    def start(*args):
        u = Upstream(tmp_path, list(args))
        started.append(u)
        return u

    yield start
    for u in started:
        u.stop()


class SlowLoop(Loop):
    """Back-to-back /sleep?MS requests."""

    def __init__(self, port, ms):
        super().__init__(port)
        self.ms = ms

    def run(self):
        deadline = time.time() + 120
        while self.running and time.time() < deadline:
            result = {}
            slow_request(self.port, self.ms, result).join(timeout=40)
            status = result.get("r", (0,))[0]
            if status == 200:
                self.ok += 1
            else:
                self.failed += 1
                self.errors.append(result.get("r"))


def slow_request(port, ms, result):
    def run():
        try:
            result["r"] = uwsgi_request(port, dict(HELLO, PATH_INFO="/sleep", QUERY_STRING=str(ms)),
                                        timeout=30)
        except OSError as e:
            result["r"] = (0, {}, repr(e).encode())
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _in_flight(s):
    # The example plugin logs nothing before it answers, so a request counts as in flight once
    # a worker holds its connection (ss names the process owning it: an established connection
    # still in the accept backlog has none) and has read the request (nothing left in Recv-Q).
    # A stop finishes the request in progress but starts none from the backlog.
    out = subprocess.run(["ss", "-Htnp", "state", "established", "sport", "= :%d" % s.port],
                         capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines()
               if "users:" in line and line.split()[0] == "0")


def busy_server(server, ms, *args):
    """An example-plugin server with one /sleep?MS request in flight: (server, thread, result)."""
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", *args)
    result = {}
    t = slow_request(s.port, ms, result)
    assert wait_for(lambda: _in_flight(s) >= 1)
    return s, t, result


def exit_code(s, timeout=30):
    try:
        return s.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.parametrize("impl", ["ours", "debian-uwsgi"])
def test_hup_storm_under_load_fails_no_request(server, upstream, impl):
    """10 HUPs in 1 s under a light request loop: no failed request, still serving, same pid.
    (Before: 650 of 742 requests failed and the master died; Debian's uWSGI: 0 failed.)"""
    if impl == "ours":
        s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
                   "--processes", "2")
    else:
        if not upstream_python3():
            pytest.skip("Debian's uwsgi-core with the python3 plugin is not installed")
        s = upstream("--master", "--processes", "2")
    assert wait_for(lambda: hello(s.port))
    # a light loop, and one of 300 ms requests so that reloads wait for busy workers and the
    # next HUPs arrive during them (our example plugin sleeps on /sleep; Debian's app does not)
    loop, slow = Loop(s.port), SlowLoop(s.port, 300)
    loop.start()
    slow.start()
    assert wait_for(lambda: loop.ok >= 5 and slow.ok >= 1, timeout=20)
    for _ in range(10):
        os.kill(s.pid, signal.SIGHUP)
        time.sleep(0.1)  # the storm's pace: 10 HUPs in 1 s
    after_storm = loop.ok
    assert wait_for(lambda: loop.ok >= after_storm + 20, timeout=60), (loop.ok, s.output()[-3000:])
    loop.stop()
    slow.stop()
    assert s.proc.poll() is None, s.output()[-3000:]
    # Debian's uWSGI survives the storm but at times loses a request that is in flight when a
    # HUP lands during its reload (seen: 1 of either loop); ours must lose none.
    if impl == "ours":
        assert loop.failed == 0 and slow.failed == 0, (loop.errors[:5], slow.errors[:5],
                                                       s.output()[-3000:])
    assert hello(s.port)
    if impl == "ours":
        assert "coalesced" in s.output() or s.output().count("reloading: executing") == 10


def test_hup_then_term_during_a_slow_request_ends_in_a_clean_shutdown(server):
    s, t, result = busy_server(server, 4000, "--master")
    os.kill(s.pid, signal.SIGHUP)
    assert s.wait_log("graceful reload requested")
    os.kill(s.pid, signal.SIGHUP)  # a second HUP coalesces
    os.kill(s.pid, signal.SIGTERM)
    assert exit_code(s) == 0, s.output()
    t.join(timeout=30)
    assert result["r"][0] == 200
    log = s.output()
    assert "it becomes a shutdown" in log and "goodbye" in log
    assert "reloading: executing" not in log


@pytest.mark.parametrize("master", [True, False])
def test_term_then_hup_is_ignored_and_a_second_term_hurries_the_shutdown(server, tmp_path,
                                                                          master):
    pidfile = tmp_path / "u.pid"
    s, t, result = busy_server(server, 20000, "--threads", "2",
               "--pidfile", str(pidfile), *(["--master"] if master else []))
    started = time.time()
    stop = signal.SIGTERM if master else signal.SIGINT
    os.kill(s.pid, stop)
    assert s.wait_log("shutdown requested (%s)" % signal.strsignal(stop))
    os.kill(s.pid, signal.SIGHUP)
    assert s.wait_log("during the shutdown: ignored")
    assert s.proc.poll() is None  # still waiting for the busy request
    os.kill(s.pid, stop)
    assert exit_code(s) == 0, s.output()
    assert time.time() - started < 15  # hurried: did not wait for the 20 s request
    assert "hurr" in s.output()
    assert not pidfile.exists()
    t.join(timeout=30)


def test_quit_during_a_graceful_reload_makes_it_brutal(server):
    s, t, result = busy_server(server, 20000, "--master")
    os.kill(s.pid, signal.SIGHUP)
    assert s.wait_log("graceful reload requested")
    os.kill(s.pid, signal.SIGQUIT)
    assert s.wait_log("reloading: executing", timeout=15), s.output()
    t.join(timeout=30)
    assert result["r"][0] == 0  # the busy worker was killed
    assert wait_for(lambda: hello(s.port), timeout=20)
    assert s.proc.poll() is None


def test_signals_during_a_single_process_reload(server):
    """Without a master the process itself reloads: a HUP storm coalesces, TERM then ends it."""
    s, t, result = busy_server(server, 1500, "--threads", "2")
    for _ in range(5):
        os.kill(s.pid, signal.SIGHUP)
    assert s.wait_log("reloading: executing", timeout=20), s.output()
    t.join(timeout=30)
    assert result["r"][0] == 200
    assert wait_for(lambda: hello(s.port), timeout=20)
    assert s.proc.poll() is None
    # HUP then TERM while a request runs: one clean shutdown, the request answered
    t = slow_request(s.port, 1500, result)
    assert wait_for(lambda: _in_flight(s) >= 1)
    os.kill(s.pid, signal.SIGHUP)
    os.kill(s.pid, signal.SIGTERM)
    assert exit_code(s) == 0, s.output()
    t.join(timeout=30)
    assert result["r"][0] == 200


def test_sigquit_to_a_single_process_is_a_brutal_reload_not_an_abort(server):
    s, t, result = busy_server(server, 20000, "--threads", "2")
    os.kill(s.pid, signal.SIGQUIT)
    assert s.wait_log("reloading: executing", timeout=15), s.output()
    assert wait_for(lambda: hello(s.port), timeout=20)
    assert s.proc.poll() is None
    t.join(timeout=30)


def test_signals_to_a_worker_during_its_graceful_exit(server):
    """A worker stopping gracefully keeps its busy request: a repeated TERM does not kill it
    (Ctrl-C reaches master and workers alike); QUIT ends it at once without an abort."""
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--threads", "2")
    assert wait_for(lambda: len(children(s.pid)) == 1)
    worker = children(s.pid)[0]
    result = {}
    t = slow_request(s.port, 1500, result)
    assert wait_for(lambda: _in_flight(s) >= 1)
    os.kill(worker, signal.SIGTERM)
    os.kill(worker, signal.SIGTERM)
    os.kill(worker, signal.SIGHUP)
    t.join(timeout=30)
    assert result["r"][0] == 200
    assert wait_for(lambda: "worker 1 (pid %d) exited with code 0" % worker in s.output())
    assert wait_for(lambda: len(children(s.pid)) == 1 and children(s.pid)[0] != worker)
    worker = children(s.pid)[0]
    t = slow_request(s.port, 20000, result)
    assert wait_for(lambda: _in_flight(s) >= 1)
    os.kill(worker, signal.SIGQUIT)
    assert wait_for(lambda: "(pid %d) exited with code 0" % worker in s.output(), timeout=10), \
        s.output()
    assert "killed by signal" not in s.output()
    t.join(timeout=30)
    assert wait_for(lambda: hello(s.port))


@pytest.mark.parametrize("master", [True, False])
def test_graceful_shutdown_refuses_new_connections_at_once(server, master):
    """Listeners stop listening when the shutdown starts, so a client (or nginx) is refused and
    retries elsewhere instead of being accepted into a backlog that is reset at exit."""
    s, t, result = busy_server(server, 6000, "--threads", "2", *(["--master"] if master else []))
    os.kill(s.pid, signal.SIGTERM)

    def refused():
        try:
            with socket.create_connection(("127.0.0.1", s.port), timeout=2):
                return False
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:  # connected in the instant the listener was shut down
            return False
    assert wait_for(refused, timeout=5)
    assert s.proc.poll() is None  # refused while the busy request still runs
    t.join(timeout=30)
    assert result["r"][0] == 200
    assert exit_code(s) == 0
