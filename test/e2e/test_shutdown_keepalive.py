"""A stop (SIGTERM/SIGINT) while clients hold keep-alive connections is prompt (issue 20).

Ours stops gracefully: the requests already running finish, no other request starts, and a
request still running after --reload-mercy is abandoned; with a master the master enforces the
mercy, without one the single process does it itself. Before, a thread finished its whole
epoll batch first (one more request on every keep-alive connection that had one waiting; with
wrk's 32 connections on a warming-up Django page a single process took 3.8 s to stop), and a
single process waited for a busy request without any bound.

Debian's uWSGI (CPython plugin) runs the same tests: its worker ends on SIGINT/SIGTERM at once
(`end_me`: exit code 30 without a master), cutting the busy request too; with a master, SIGINT
does the same to the workers. Both servers start no waiting request.
"""
import os
import signal
import socket
import subprocess

import pytest

from conftest import read, wait_for
from module_helpers import start_app


def http_request(sock, path):
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: test\r\n\r\n" % path.encode())


def read_response(sock):
    """The body of one response with a Content-Length (b"" once the server closed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return body


def read_or_closed(sock):
    try:
        return read_response(sock)
    except (ConnectionResetError, socket.timeout):
        return b""


def started(s):
    return read(os.path.join(s.out_dir, "started")).split()


def exit_code(s, timeout=60):
    try:
        return s.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def serve(server, flavour, tmp_path, threads, master, *extra):
    args = ["--threads", str(threads), *extra]
    return start_app(server, flavour, tmp_path, "held_request_app.py", *args, workers=1,
                     master=master)


@pytest.mark.parametrize("threads, sig, master", [
    (1, signal.SIGTERM, False), (2, signal.SIGINT, False), (1, signal.SIGINT, True)],
    ids=["1-thread-TERM", "2-threads-INT", "master-1-thread-INT"])
def test_a_stop_starts_no_request_waiting_on_a_keep_alive_connection(server, flavour, tmp_path,
                                                                    threads, sig, master):
    s = serve(server, flavour, tmp_path, threads, master)
    idle = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(3)]
    busy = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(threads)]
    try:
        for i, c in enumerate(idle):  # kept alive by ours, closed after the answer by uWSGI
            http_request(c, "/first%d" % i)
            assert read_response(c) == b"/first%d" % i
        for c in busy:  # every request thread busy
            http_request(c, "/hold")
        assert wait_for(lambda: started(s).count("/hold") == threads, timeout=30), s.output()
        for c in idle:  # a request waits on each idle connection (or its send fails: closed)
            try:
                http_request(c, "/waiting")
            except OSError:
                pass
        s.proc.send_signal(sig)
        if not flavour.upstream:
            assert s.wait_log("shutdown requested"), s.output()
        open(os.path.join(s.out_dir, "release"), "w").close()
        code = exit_code(s)
        answers = [read_or_closed(c) for c in busy]
        waiting = [read_or_closed(c) for c in idle]
    finally:
        for c in idle + busy:
            c.close()
    assert "/waiting" not in started(s), (started(s), s.output()[-3000:])
    assert waiting == [b""] * len(idle)
    if flavour.upstream:  # uWSGI's end_me: the busy requests are cut
        assert code == (0 if master else 30), s.output()[-3000:]
        assert answers == [b""] * threads
    else:  # ours: they finish
        assert code == 0, s.output()[-3000:]
        assert answers == [b"/hold"] * threads


@pytest.mark.parametrize("threads, sig", [(1, signal.SIGTERM), (2, signal.SIGINT)],
                         ids=["1-thread-TERM", "2-threads-INT"])
def test_a_single_process_stop_is_bounded_by_the_reload_mercy(server, flavour, tmp_path,
                                                             threads, sig):
    s = serve(server, flavour, tmp_path, threads, False, "--reload-mercy", "2")
    busy = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(threads)]
    try:
        for c in busy:
            http_request(c, "/hold")  # never released: it would run for 120 s
        assert wait_for(lambda: started(s).count("/hold") == threads, timeout=30), s.output()
        s.proc.send_signal(sig)
        code = exit_code(s)
    finally:
        for c in busy:
            c.close()
    assert code is not None, "still running 60 s after the stop:\n" + s.output()[-3000:]
    if flavour.upstream:
        assert code == 30, s.output()[-3000:]  # end_me at once
    else:
        assert code == 0, s.output()[-3000:]
        assert "still busy after --reload-mercy 2 s" in s.output()
        assert "goodbye (shutdown hurried)" in s.output()
