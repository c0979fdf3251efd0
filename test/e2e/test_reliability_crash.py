"""Reliability: workers that die under load (a native handler's segfault, an app's os._exit)
are respawned, only the request in flight is lost and the master log says what happened; and
--max-requests recycling under a continuous multi-threaded load loses nothing.
kill -9, SIGHUP reload and --harakiri under load are in test_core_process.py."""
import http.client
import os
import textwrap
import threading
import time

import pytest

from conftest import PYPY_HOME, plugin_available, uwsgi_request
from test_core_process import HELLO, Loop, children, hello, wait_for

# A sanitized build (tools/sanitize-test) would report the segfault itself and exit 1; let the
# signal kill the worker as it does in a normal build.
NO_SEGV_HANDLER = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":handle_segv=0",
                   "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "") + ":handle_segv=0"}


def crash_request(port, path="/crash"):
    status, _, _ = uwsgi_request(port, dict(HELLO, PATH_INFO=path, REQUEST_URI=path), timeout=20)
    return status


def test_segfault_in_a_native_handler_under_load(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--processes", "2", env=NO_SEGV_HANDLER)
    assert wait_for(lambda: len(children(s.pid)) == 2)
    loop = Loop(s.port)
    loop.start()
    time.sleep(0.3)
    for i in range(3):  # again and again: every crash is respawned
        before = set(children(s.pid))
        assert crash_request(s.port) == 0  # the request in flight dies with its worker
        assert wait_for(lambda: len(children(s.pid)) == 2 and set(children(s.pid)) != before)
    time.sleep(0.3)
    loop.stop()
    assert s.wait_log("killed by signal 11 (Segmentation fault)", count=3), s.output()[-3000:]
    assert s.wait_log("respawning worker", count=3), s.output()[-3000:]
    assert s.output().count("killed by signal 11 (Segmentation fault)") == 3
    assert loop.ok > 10
    # one thread per worker: the crash took only its own request, none of the loop's
    assert loop.failed == 0, loop.errors
    assert hello(s.port)


def test_segfault_over_http_socket_answers_the_others(server):
    s = server("--plugin", "example", "--http-socket", "127.0.0.1:{port}", "--master",
               "--processes", "2", env=NO_SEGV_HANDLER)
    assert wait_for(lambda: len(children(s.pid)) == 2)
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    c.request("GET", "/crash")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        c.getresponse()
    c.close()
    assert s.wait_log("killed by signal 11")
    for _ in range(20):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"Hello World")
        c.close()


@pytest.mark.needs_plugin("pypy")
def test_os_exit_in_a_pypy_app_under_load(server, tmp_path):
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent("""\
        import os

        def application(environ, start_response):
            if environ["PATH_INFO"] == "/exit":
                os._exit(3)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"Hello World"]
        """))
    s = server("--socket", "127.0.0.1:{port}", "--master", "--processes", "2",
               "--pypy-home", PYPY_HOME, "--pypy-wsgi-file", str(app))
    assert wait_for(lambda: len(children(s.pid)) == 2, timeout=30)
    loop = Loop(s.port)
    loop.start()
    time.sleep(0.5)
    before = set(children(s.pid))
    assert crash_request(s.port, "/exit") == 0
    assert wait_for(lambda: len(children(s.pid)) == 2 and set(children(s.pid)) != before,
                    timeout=30)
    time.sleep(0.5)
    loop.stop()
    assert s.wait_log("exited with code 3") and s.wait_log("respawning worker"), \
        s.output()[-3000:]
    assert loop.ok > 10
    assert loop.failed == 0, loop.errors


class HttpLoop(threading.Thread):
    """One client thread: a new HTTP connection per request (Connection: close)."""

    def __init__(self, port, deadline):
        super().__init__(daemon=True)
        self.port, self.deadline = port, deadline
        self.ok = 0
        self.errors = []

    def run(self):
        while time.time() < self.deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                c.request("GET", "/", headers={"Connection": "close"})
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200 and body == b"Hello World":
                    self.ok += 1
                else:
                    self.errors.append((r.status, body[:80]))
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(repr(e))


@pytest.mark.parametrize("socket_option", ["--socket", "--http-socket"])
def test_max_requests_recycling_under_threaded_load_fails_nothing(server, socket_option):
    s = server("--plugin", "example", socket_option, "127.0.0.1:{port}", "--master",
               "--processes", "2", "--threads", "4", "--max-requests", "40")
    assert wait_for(lambda: len(children(s.pid)) == 2)
    first = set(children(s.pid))
    deadline = time.time() + 3
    if socket_option == "--socket":
        loops = [Loop(s.port) for _ in range(4)]
    else:
        loops = [HttpLoop(s.port, deadline) for _ in range(4)]
    for lp in loops:
        lp.start()
    time.sleep(max(0, deadline - time.time()))
    for lp in loops:
        if isinstance(lp, Loop):
            lp.stop()
        else:
            lp.join(timeout=60)
    ok = sum(lp.ok for lp in loops)
    errors = [e for lp in loops for e in lp.errors]
    s.wait_log("recycling", count=3)
    recycled = s.output().count("recycling")
    assert errors == [], errors[:10]
    assert ok >= 200, ok
    assert recycled >= 3, "only %d recycles in %d requests" % (recycled, ok)
    assert not first & set(children(s.pid))
