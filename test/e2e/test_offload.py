"""--offload-threads N: static files and wsgi.file_wrapper bodies are sent by an offload thread
of the worker, so the request thread serves on while a slow client reads. Here: the connection
is kept alive after an offloaded body (the client's next request on the same socket), and a
reload waits for the offloaded transfers instead of cutting them. On ours (PyPy) and Debian's
uWSGI (CPython) where uWSGI has the behaviour; where it has not, the test says what it does.
"""
import hashlib
import os
import signal
import socket

import pytest

from conftest import wait_for

APP = '''
import os
HERE = os.path.dirname(os.path.abspath(__file__))

def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/wrapped":
        name = os.path.join(HERE, "public", "big.bin")
        f = open(name, "rb")
        # Content-Length from the app: uWSGI's file_wrapper adds none (then its router closes)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.path.getsize(name)))])
        return environ["wsgi.file_wrapper"](f)
    body = ("app:" + path).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

BIG = 8 << 20  # larger than every socket buffer on the way, so the body waits for the reader
SMALL = b"small file\n"


@pytest.fixture
def site(tmp_path):
    pub = tmp_path / "public"
    pub.mkdir()
    # incompressible and position-dependent, so a lost or repeated block changes the digest
    (pub / "big.bin").write_bytes(os.urandom(BIG))
    (pub / "small.txt").write_bytes(SMALL)
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def start(server, flavour, site):
    """start(kind, *extra): the app with /s mapped to public/, one worker with one request
    thread and one offload thread, on --http-socket (kind "socket") or behind the --http
    router with --http-keepalive (kind "router")."""
    def run(kind, *extra):
        if kind == "socket":
            front = ["--http-socket", "127.0.0.1:{port}"]
        else:
            plugin = ["--plugin", "http"] if flavour.upstream else []
            front = plugin + ["--http", "127.0.0.1:{port}", "--http-keepalive"]
        return server(*front, "--master", "--processes", "1", "--threads", "1",
                      "--offload-threads", "1", "--static-map", "/s=%s/public" % site,
                      *flavour.app_args(str(site / "app.py")), *extra, binary=flavour.binary)
    return run


class Client:
    """One raw HTTP/1.1 keep-alive connection: requests sent by hand, responses read by their
    Content-Length, so a closed connection shows as such (no silent reconnect)."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:  # before connect, so the advertised window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, path):
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())

    def head(self):
        """(status, {header: value}); None when the server closed the connection first."""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), headers

    def body(self, length, sink=None, limit=None):
        """Reads up to LENGTH body bytes (LIMIT at most now) into SINK (a hashlib object) or
        returns them; the count read."""
        got = b""
        count = 0
        want = length if limit is None else min(length, limit)
        while count < want:
            if not self.buf:
                self.buf = self.sock.recv(min(65536, want - count))
                if not self.buf:
                    break
            take, self.buf = self.buf[:want - count], self.buf[want - count:]
            count += len(take)
            if sink is not None:
                sink.update(take)
            else:
                got += take
        return (count, got) if sink is None else (count, None)

    def get(self, path):
        self.send(path)
        head = self.head()
        if head is None:
            return None
        status, headers = head
        count, got = self.body(int(headers["content-length"]))
        return status, headers, got

    def closed(self):
        """True when the server has closed the connection (EOF or reset), waiting up to 10 s."""
        self.sock.settimeout(10)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("kind", ["socket", "router"])
@pytest.mark.parametrize("path", ["/s/big.bin", "/wrapped"])
def test_offloaded_body_frees_the_thread_and_the_connection_serves_on(start, site, flavour,
                                                                      kind, path):
    """A client that stops reading an 8 MiB body (static file or file_wrapper) holds the offload
    thread, not the only request thread: another client is answered meanwhile. The slow client
    then reads every byte (sha256) and sends its next request on the same connection.

    uWSGI closes every offloaded connection (its offload thread owns the socket and closes it),
    and its --http-socket keeps no connection alive at all: there the connection ends after
    the body. Ours gives the connection back to the worker. Behind the --http router with
    --http-keepalive both keep the client's connection (the router owns it)."""
    s = start(kind)
    slow = Client(s.port, rcvbuf=4096)
    try:
        slow.send(path)
        status, headers = slow.head()
        assert status == 200 and int(headers["content-length"]) == BIG
        sink = hashlib.sha256()
        first, _ = slow.body(BIG, sink, limit=4096)
        assert first > 0  # the transfer has started; now the slow client stops reading
        for other_path, answer in (("/s/small.txt", SMALL), ("/app", b"app:/app")):
            other = Client(s.port)
            try:
                assert other.get(other_path)[::2] == (200, answer)
            finally:
                other.close()
        rest, _ = slow.body(BIG - first, sink)
        assert first + rest == BIG
        assert sink.hexdigest() == digest(site / "public" / "big.bin")
        if flavour.upstream and kind == "socket":
            assert slow.closed()  # uWSGI: see above; ours keeps it
            return
        assert slow.get("/s/small.txt")[::2] == (200, SMALL)
        assert slow.get(path)[0] == 200  # and again an offloaded body on it
        assert slow.get("/app")[::2] == (200, b"app:/app")
    finally:
        slow.close()


def test_pipelined_request_behind_an_offloaded_body_is_answered(start, flavour):
    """Two requests in one write: the first one's body is not offloaded (the second is already
    read, and epoll cannot see buffered bytes), both are answered in order on the connection.
    uWSGI's --http-socket answers only the first and closes."""
    if flavour.upstream:
        pytest.skip("uWSGI's --http-socket closes after each response (no pipelining)")
    s = start("socket")
    c = Client(s.port)
    try:
        c.sock.sendall(b"GET /s/big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
                       b"GET /s/small.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers = c.head()
        assert status == 200
        count, _ = c.body(BIG, hashlib.sha256())
        assert count == BIG
        status, headers = c.head()
        assert (status, c.body(int(headers["content-length"]))[1]) == (200, SMALL)
        assert c.get("/app")[::2] == (200, b"app:/app")
    finally:
        c.close()


def test_connection_close_ends_the_connection_after_the_offloaded_body(start, flavour):
    """Connection: close from the client: the body arrives whole, then the server closes."""
    s = start("socket")
    c = Client(s.port)
    try:
        c.sock.sendall(b"GET /s/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        status, headers = c.head()
        assert status == 200
        assert c.body(BIG, hashlib.sha256())[0] == BIG
        assert c.closed()
    finally:
        c.close()


def trigger(s, how, fifo):
    if how == "SIGHUP":
        os.kill(s.pid, signal.SIGHUP)
        return
    from test_master_fifo import send
    send(fifo, how)


@pytest.mark.parametrize("how", ["SIGHUP", "r", "c"])
def test_reload_waits_for_offloaded_transfers(start, site, flavour, tmp_path, how):
    """A slow client is downloading an 8 MiB static file from an offload thread when the server
    reloads (SIGHUP, or the master fifo's r or c: graceful reload, chain reload): the stopping
    worker waits for the transfer (bounded by --reload-mercy: the master kills it past that),
    so the client gets every byte; then the reloaded server answers.

    Debian's uWSGI cuts the transfer: its worker ends with its offload threads (measured with SIGHUP:
    the client got 1.9 MiB of 8; ours before this change 2.8 MiB), so the test runs on ours only."""
    if flavour.upstream:
        pytest.skip("uWSGI's reload cuts offloaded transfers (see above)")
    fifo = str(tmp_path / "master.fifo")
    s = start("socket", "--master-fifo", fifo)
    assert wait_for(lambda: os.path.exists(fifo))
    slow = Client(s.port, rcvbuf=4096)
    try:
        slow.send("/s/big.bin")
        status, headers = slow.head()
        assert status == 200
        sink = hashlib.sha256()
        first, _ = slow.body(BIG, sink, limit=4096)
        trigger(s, how, fifo)
        # the worker has stopped serving and waits for the body it is still sending
        assert s.wait_log("waiting for 1 offloaded transfer(s)"), s.output()[-3000:]
        rest, _ = slow.body(BIG - first, sink)
        assert first + rest == BIG, s.output()[-3000:]
        assert sink.hexdigest() == digest(site / "public" / "big.bin")
        assert slow.closed()  # a stopping worker keeps no connection
    finally:
        slow.close()

    def answers():
        c = Client(s.port)
        try:
            return c.get("/app")[::2] == (200, b"app:/app")
        except OSError:
            return False
        finally:
            c.close()
    assert wait_for(answers, timeout=30), s.output()[-3000:]
    assert s.proc.poll() is None
