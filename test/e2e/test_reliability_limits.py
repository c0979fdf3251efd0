"""Reliability at resource limits: a worker out of file descriptors (a small RLIMIT_NOFILE and
many kept-alive connections) logs why it cannot accept, does not crash or spin, and serves
again once connections close."""
import resource
import socket
import time

from test_core_process import children, wait_for
from test_reliability_hostile import get


def keep_alive(port):
    """A connection that made one keep-alive request and now sits idle (None if refused)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        data = s.recv(4096)
        if data.startswith(b"HTTP/1.1 200"):
            return s
        s.close()
    except OSError:
        pass
    return None


def test_out_of_file_descriptors_is_logged_and_recovers(server):
    def small_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    s = server("--plugin", "example", "--http-socket", "127.0.0.1:{port}", "--master",
               "--threads", "2", "--socket-timeout", "30", "--disable-logging",
               preexec_fn=small_nofile)
    assert wait_for(lambda: len(children(s.pid)) == 1)
    worker = children(s.pid)[0]
    idle = []
    for _ in range(90):  # more than the worker has descriptors for
        c = keep_alive(s.port)
        if not c:
            break
        idle.append(c)
    assert 20 < len(idle) < 64, len(idle)
    # connections the worker cannot accept wait in the backlog
    waiting = [socket.create_connection(("127.0.0.1", s.port), timeout=2) for _ in range(5)]
    assert s.wait_log("raise ulimit -n", timeout=10), s.output()[-2000:]
    time.sleep(1.0)  # out of descriptors for a while: the worker must neither die nor spin
    cpu = sum(int(x) for x in open("/proc/%d/stat" % worker).read().split()[13:15])
    time.sleep(1.0)
    cpu_after = sum(int(x) for x in open("/proc/%d/stat" % worker).read().split()[13:15])
    assert children(s.pid) == [worker]
    assert cpu_after - cpu < 50, "worker busy-looped: %d ticks in 1 s" % (cpu_after - cpu)
    assert s.output().count("raise ulimit -n") < 50, "the error floods the log"
    for c in idle + waiting:
        c.close()
    # descriptors are back: new clients are served by the same worker
    assert wait_for(lambda: get(s.port, timeout=5)[0] == 200, timeout=15)
    assert children(s.pid) == [worker]
    assert "Segmentation fault" not in s.output()
