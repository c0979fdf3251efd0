"""--shutdown-delay SECS (not in uWSGI; for load balancers and Kubernetes, docs/SCALEOUT.md): on
SIGTERM the stats server's /ready answers 503 at once while new requests are still served for
SECS seconds, then the graceful drain; a second signal starts the drain at once. Ours only:
Debian's uWSGI has no such option."""
import signal
import socket
import time

import pytest

from conftest import Flavour, free_port, http_get, plugin_available, wait_for
from workers_helpers import start_workers_app

pytestmark = pytest.mark.skipif(not plugin_available("pypy"), reason="plugin pypy is not built")


def ready(stats_port):
    try:
        return http_get(stats_port, "/ready", timeout=5)[0]
    except OSError:
        return None


def start(server, delay):
    stats_port = free_port()
    s = start_workers_app(server, Flavour("pypy"), "--processes", "2", "--stats",
                          "127.0.0.1:%d" % stats_port, "--stats-http", "--shutdown-delay",
                          str(delay))
    assert wait_for(lambda: ready(stats_port) == 200, 60), s.output()[-2000:]
    return s, stats_port


def test_sigterm_serves_while_not_ready_for_the_delay_then_drains(server):
    s, stats_port = start(server, 4)
    s.proc.send_signal(signal.SIGTERM)
    asked = time.monotonic()
    assert wait_for(lambda: ready(stats_port) == 503, 10), s.output()[-2000:]
    assert s.wait_log("still serving for 4 s (--shutdown-delay)")
    # not ready, yet a new connection is still served (a balancer that has not noticed yet)
    status, body = http_get(s.port, "/", timeout=10)
    assert status == 200 and int(body) > 0
    assert s.proc.poll() is None
    assert s.proc.wait(timeout=60) == 0, s.output()[-2000:]
    # the drain began only once the delay was over
    assert time.monotonic() - asked >= 4 - 0.5
    out = s.output()
    assert out.index("--shutdown-delay over: draining") < out.index("goodbye")
    with pytest.raises(OSError):  # and then the listener is gone
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()


def test_a_second_sigterm_cuts_the_delay_short(server):
    s, stats_port = start(server, 600)
    s.proc.send_signal(signal.SIGTERM)
    assert s.wait_log("still serving for 600 s"), s.output()[-2000:]
    assert ready(stats_port) == 503
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=60) == 0, s.output()[-2000:]
    assert "during the shutdown delay: shutting down now" in s.output()


def test_shutdown_delay_out_of_range_is_refused(server):
    s = start_workers_app(server, Flavour("pypy"), "--processes", "1", "--shutdown-delay", "-1",
                          wait=False)
    assert s.proc.wait(timeout=60) != 0
    assert "--shutdown-delay must be at least 0" in s.output()
