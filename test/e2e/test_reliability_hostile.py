"""Reliability against hostile clients on --http-socket: slowloris connections are cut off by
--socket-timeout and do not hold up other clients while the thread pool has room; 10,000
malformed requests from a generated corpus are each answered or closed, the server keeps
serving, and its worker's memory does not grow."""
import os
import random
import socket
import threading
import time

import pytest

from conftest import UWSGI, read_until_closed
from test_core_process import children, wait_for

SANITIZED = b"__asan_init" in open(UWSGI, "rb").read() if os.path.exists(UWSGI) else False


def get(port, path="/", timeout=5):
    """One request on a new connection; (status, body), status 0 when the answer is cut."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body
    except (IndexError, ValueError):
        return 0, data


class Slowloris(threading.Thread):
    """Trickles a request head one byte at a time and never finishes it; records when and how
    the server ended the connection."""

    HTTP_HEAD = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100000

    def __init__(self, port, interval=0.2, limit=20.0, head=HTTP_HEAD):
        super().__init__(daemon=True)
        self.port, self.interval, self.limit, self.head = port, interval, limit, head
        self.closed_after = None
        self.answer = b""

    def run(self):
        start = time.time()
        head = self.head
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.limit) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for byte in head:
                if time.time() - start > self.limit:
                    return
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    break
                s.settimeout(self.interval)
                try:
                    data = s.recv(4096)
                    self.answer += data
                    if not data:
                        break  # closed by the server
                except socket.timeout:
                    continue
                except OSError:
                    break
            self.closed_after = time.time() - start


def test_slowloris_is_cut_off_and_does_not_block_others(server):
    # A request stuck behind a slow client would wait for its cut-off (--socket-timeout, 6 s); the
    # bound below sits far under that and far over a hello on a loaded machine, so it cannot flake.
    timeout = 6
    s = server("--plugin", "example", "--http-socket", "127.0.0.1:{port}", "--threads", "4",
               "--socket-timeout", str(timeout))
    slow = [Slowloris(s.port) for _ in range(2)]
    for t in slow:
        t.start()
    time.sleep(0.5)
    # the other two threads keep serving everyone else quickly
    worst = 0.0
    for _ in range(20):
        start = time.time()
        assert get(s.port) == (200, b"Hello World")
        worst = max(worst, time.time() - start)
        time.sleep(0.05)
    assert worst < timeout / 2, "a normal request took %.2fs" % worst
    for t in slow:
        t.join(timeout=30)
    for t in slow:
        # cut off within --socket-timeout of the head's start, plus one read's timeout at most
        assert t.closed_after is not None and t.closed_after < 2 * timeout + 1.5, t.closed_after
        assert t.answer == b"" or t.answer.startswith(b"HTTP/1.1 408"), t.answer[:100]
    assert get(s.port) == (200, b"Hello World")


def malformed_corpus(n, seed=8):
    """n hostile requests: bad request lines, huge headers, bad chunk sizes, NUL bytes, lying
    Content-Length, mixed framing, and random damage to good requests."""
    rnd = random.Random(seed)
    good = [b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]

    def junk(k):
        return bytes(rnd.randrange(256) for _ in range(k))

    makers = [
        lambda: rnd.choice([b"GET", b"G\x00T", b"", b"GET GET", b"\x16\x03\x01", b"get"]) + b" " +
        rnd.choice([b"/", b"", b"x", b"/\x00", b"/%00", b"//../..", b"*", b"http://"]) + b" " +
        rnd.choice([b"HTTP/1.1", b"HTTP/9.9", b"HTTP/1", b"HTTP/1.1 x", b"FTP/1.0", b""]) +
        b"\r\nHost: t\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"A" * rnd.choice([3000, 5000, 70000]) +
        b"\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(rnd.choice([70, 300, 2000]))) +
        b"\r\n",
        lambda: b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
        rnd.choice([b"zz", b"-1", b"ffffffffffffffffffff", b"5;" + b"e" * 9000, b"5\r\nhel", b"5\r\nhelloXX",
                    b"1" * 40, b"0x5", b" 5"]) + b"\r\n",
        lambda: b"GET /\x00a HTTP/1.1\r\nHost: t\x00\r\nX: \x00\x00\r\n\r\n",
        lambda: b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" %
        rnd.choice([10, 100000, 1 << 40]) + b"short",
        lambda: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " +
        rnd.choice([b"-1", b"5, 6", b"1e3", b"99999999999999999999999", b"", b"0x10"]) + b"\r\n\r\nhello",
        lambda: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        lambda: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " +
        rnd.choice([b"gzip", b"chunked, chunked", b"identity", b"chunked;q=1", b"\x00"]) + b"\r\n\r\n0\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
        lambda: b"GET / HTTP/1.1\nHost: t\n\n",
        lambda: junk(rnd.randrange(1, 300)),
        lambda: (lambda g, i: g[:i] + junk(rnd.randrange(1, 8)) + g[i + 1:])(
            rnd.choice(good), rnd.randrange(len(rnd.choice(good)) - 1)),
        lambda: rnd.choice(good)[:rnd.randrange(1, 40)],
    ]
    return [rnd.choice(makers)() for _ in range(n)]


def send_raw(port, payload, timeout=10):
    """Sends payload, half-closes, reads to EOF. 'answered', 'closed', or 'hung'."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before reading everything
            data = read_until_closed(s)
    except socket.timeout:
        return "hung"
    return "answered" if data.startswith(b"HTTP/1.1 ") else ("closed" if not data else "garbage")


def worker_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_corpus(port, corpus, threads=8):
    results = {}
    lock = threading.Lock()
    parts = [corpus[i::threads] for i in range(threads)]

    def work(part):
        local = {}
        for payload in part:
            r = send_raw(port, payload)
            local[r] = local.get(r, 0) + 1
        with lock:
            for k, v in local.items():
                results[k] = results.get(k, 0) + v

    ts = [threading.Thread(target=work, args=(p,)) for p in parts]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


def test_10000_malformed_requests_are_answered_or_closed_without_memory_growth(server):
    s = server("--plugin", "example", "--http-socket", "127.0.0.1:{port}", "--master",
               "--processes", "1", "--threads", "4", "--disable-logging")
    assert wait_for(lambda: len(children(s.pid)) == 1)
    worker = children(s.pid)[0]
    corpus = malformed_corpus(10000)
    warm = run_corpus(s.port, corpus[:2000])  # allocator pools and buffers reach their size
    rss_before = worker_rss_kb(worker)
    rest = run_corpus(s.port, corpus[2000:])
    rss_after = worker_rss_kb(worker)
    results = {k: warm.get(k, 0) + rest.get(k, 0) for k in set(warm) | set(rest)}
    assert sum(results.values()) == 10000
    assert results.get("hung", 0) == 0 and results.get("garbage", 0) == 0, results
    assert results.get("answered", 0) > 5000, results
    assert children(s.pid) == [worker], "the worker died: " + s.output()[-2000:]
    assert get(s.port) == (200, b"Hello World")
    print("malformed corpus:", results, "worker RSS %d -> %d kB" % (rss_before, rss_after))
    if not SANITIZED:  # ASan's quarantine holds freed memory on purpose
        assert rss_after - rss_before < 1024, (rss_before, rss_after)


def test_hostile_uwsgi_packets_on_socket(server):
    """The uwsgi protocol side: truncated and lying packets, a CONTENT_LENGTH too long for any
    integer (it overflowed once; fuzz_uwsgi_codec found it), a vars block over --buffer-size."""
    import struct
    from conftest import uwsgi_packet
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master")
    hello = uwsgi_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/"})
    bad = [uwsgi_packet({"PATH_INFO": "/echo", "CONTENT_LENGTH": "9" * 25}, b"x"),
           uwsgi_packet({"PATH_INFO": "/echo", "CONTENT_LENGTH": "-5"}),
           uwsgi_packet({"PATH_INFO": "/echo", "CONTENT_LENGTH": "100"}, b"short"),
           struct.pack("<BHB", 0, 65535, 0) + b"\x05\x00abc",
           struct.pack("<BHB", 0, 10, 0) + b"\xff\xff" + b"x" * 8,
           b"\x00\x01",
           uwsgi_packet({"P" * 5000: "v"})]
    for payload in bad * 20:
        assert send_raw(s.port, payload) in ("answered", "closed")
    assert send_raw(s.port, hello) == "answered"
    assert "Segmentation fault" not in s.output() and "killed by signal" not in s.output()


def test_last_chunk_trickled_byte_by_byte(server):
    """Beast asserted on a last chunk that arrives a byte at a time, aborting the process."""
    s = server("--plugin", "example", "--http-socket", "127.0.0.1:{port}")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"2\r\nok\r\n")
        for piece in (b"0", b"\r", b"\n", b"\r", b"\n"):
            time.sleep(0.05)
            c.sendall(piece)
        answer = b""
        while not answer.endswith(b"0\r\n\r\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"2\r\nok\r\n0\r\n\r\n"), answer
    assert s.proc.poll() is None
    assert get(s.port) == (200, b"Hello World")


def test_slowloris_on_the_uwsgi_socket_is_cut_off(server):
    import struct
    timeout = 2
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--threads", "2",
               "--socket-timeout", str(timeout))
    packet = struct.pack("<BHB", 0, 4000, 0) + b"\x09\x00PATH_INFO" + b"x" * 3989
    slow = Slowloris(s.port, head=packet)
    slow.start()
    time.sleep(0.5)
    from conftest import uwsgi_request
    assert uwsgi_request(s.port, {"PATH_INFO": "/"}, timeout=5)[0] == 200
    slow.join(timeout=30)
    assert slow.closed_after is not None and slow.closed_after < 2 * timeout + 1.5, slow.closed_after
