"""WebSockets (uWSGI's uwsgi.websocket_* API) over --http-socket, with Debian's python3-websockets
as the client, on our server (PyPy) and on Debian's uWSGI with its CPython plugin (`flavour`).
Where uWSGI falls short of RFC 6455 the assertion on it is weaker, and says why."""
import asyncio
import base64
import http.client
import os
import socket
import struct

import pytest
import websockets

from conftest import wait_for
from tls_helpers import client_context, make_certificate

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")
APP = os.path.join(APPS, "websocket_app.py")


def start(server, flavour, *extra, threads=1, socket="--http-socket"):
    args = [socket, "127.0.0.1:{port}", "--threads", str(threads)]
    args += flavour.app_args(APP) + list(extra)
    env = {k: None for k in os.environ if k.startswith("UWSGI_")}
    return server(*args, binary=flavour.binary, env=env)


def ws_url(s, path):
    return "ws://127.0.0.1:%d%s" % (s.port, path)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def exchange_ticks(ws, seconds, pause):
    """Echoes "tick" every `pause` s for `seconds` (the client's ping handling answers the
    server's pings meanwhile)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await ws.send("tick")
        assert await ws.recv() == "tick"
        await asyncio.sleep(pause)


async def server_close_code(url):
    """The /server-close app says "bye" and returns, so the server ends the WebSocket: the close
    code the client saw."""
    async with websockets.connect(url) as ws:
        assert await ws.recv() == "bye"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        return ws.close_code


async def client_close_code(url):
    """One echo on /echo, then the client closes with 1000: the code the server answered with."""
    ws = await websockets.connect(url)
    await ws.send("x")
    assert await ws.recv() == "x"
    await ws.close(code=1000, reason="done")
    return ws.close_code


async def wss_echoes(port, crt):
    """Binary messages of several TLS records each, echoed over wss:// by /echo-binary."""
    url = "wss://localhost:%d/echo-binary" % port
    async with websockets.connect(url, ssl=client_context(crt), max_size=None) as ws:
        for size in (5, 70000, 300000):
            blob = os.urandom(size)
            await ws.send(blob)
            assert await ws.recv() == blob


def plain_ok(s):
    """The worker serves on: a plain HTTP request beside (or after) the WebSockets."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    try:
        conn.request("GET", "/plain")
        resp = conn.getresponse()
        return resp.status == 200 and resp.read() == b"plain"
    finally:
        conn.close()


def test_text_and_binary_round_trips(server, flavour):
    s = start(server, flavour)

    async def go():
        async with websockets.connect(ws_url(s, "/echo")) as ws:
            text = "h\u00e9llo w\u00f6rld \u2603 \U0001F600"
            await ws.send(text)
            assert await ws.recv() == text
            await ws.send(b"\x00\x01\xfe\xff")  # echoed as text: uWSGI's recv keeps no type
        async with websockets.connect(ws_url(s, "/echo-binary"), max_size=None) as ws:
            blob = bytes(range(256)) * 3
            await ws.send(blob)
            assert await ws.recv() == blob
            await ws.send(b"")
            assert await ws.recv() == b""
    run(go())


def test_one_mib_message(server, flavour):
    s = start(server, flavour)
    blob = os.urandom(1024 * 1024)  # uWSGI's --websocket-max-size default is 1024 KiB

    async def go():
        async with websockets.connect(ws_url(s, "/echo-binary"), max_size=None) as ws:
            await ws.send(blob)
            assert await ws.recv() == blob
    run(go())


def test_fragmented_client_message(server, flavour):
    if flavour.upstream:
        pytest.skip("uWSGI faulty: it returns the first fragment's bytes, not the message")
    s = start(server, flavour)

    async def go():
        async with websockets.connect(ws_url(s, "/echo")) as ws:
            await ws.send(["fr\u00e4g", "ment", "ed \u2603"])  # three frames, one message
            assert await ws.recv() == "fr\u00e4gmented \u2603"
            await ws.send([b"ab", b"", b"cd"])
            assert await ws.recv() == "abcd"
    run(go())


def test_str_arguments(server, flavour):
    s = start(server, flavour)

    async def go():
        async with websockets.connect(ws_url(s, "/str")) as ws:
            assert await ws.recv() == "h\u00e9llo \u2603"
            assert await ws.recv() == "bin \u00e9".encode()
    run(go())


def test_client_ping_gets_pong(server, flavour):
    if flavour.upstream:
        pytest.skip("uWSGI faulty: a client's ping during websocket_recv gets no pong")
    s = start(server, flavour)

    async def go():
        async with websockets.connect(ws_url(s, "/echo")) as ws:
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 20)
            await ws.send("after ping")
            assert await ws.recv() == "after ping"
    run(go())


async def recv_nb_exchange(url):
    """The /nb app: recv_nb gives b'' before anything was sent, then the message."""
    async with websockets.connect(url) as ws:
        assert await ws.recv() == "empty"
        await ws.send("now")
        assert await ws.recv() == "nb:now"


def test_recv_nb(server, flavour):
    s = start(server, flavour)
    run(recv_nb_exchange(ws_url(s, "/nb")))


def test_client_close(server, flavour):
    s = start(server, flavour)

    code = run(client_close_code(ws_url(s, "/echo")))
    if not flavour.upstream:
        assert code == 1000  # the close handshake answered with the client's code
    assert plain_ok(s)


def test_server_close(server, flavour):
    s = start(server, flavour)

    code = run(server_close_code(ws_url(s, "/server-close")))
    if not flavour.upstream:
        # uWSGI drops the TCP connection without a close frame (the client sees 1006)
        assert code == 1000
    assert plain_ok(s)


def test_twenty_clients_on_four_threads(server, flavour):
    """A WebSocket holds a request thread while its app loops (uWSGI's threaded mode): with 20
    clients and --threads 4, uWSGI serves 4 at once and the others wait unanswered for a thread;
    ours holds 3 (--websocket-max-connections defaults to --threads - 1) and answers the others
    503 with Retry-After, so they retry as real clients do. None is lost either way."""
    s = start(server, flavour, threads=4)
    refused = []

    async def client(i):
        while True:
            try:
                ws = await websockets.connect(ws_url(s, "/echo"), open_timeout=60)
            except websockets.InvalidStatusCode as e:
                assert e.status_code == 503 and not flavour.upstream, e
                refused.append(i)
                await asyncio.sleep(0.05)  # the client's back-off before its retry
                continue
            try:
                for k in range(5):
                    msg = "client %d message %d \u00e9" % (i, k)
                    await ws.send(msg)
                    assert await ws.recv() == msg
            finally:
                await ws.close()
            return i
    async def go():
        return await asyncio.gather(*(client(i) for i in range(20)))
    assert sorted(run(go())) == list(range(20))
    assert plain_ok(s)


def read_refusal(sock, head):
    """The status line and body of an answer that is no 101 (its head read by raw_upgrade)."""
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0], body


def assert_limit_refusal(s, sock, head, limit):
    """Our answer to an upgrade past --websocket-max-connections (read by raw_upgrade, directly or
    through a proxy): 503 with Retry-After, the limit named in the body and in the log."""
    status, body = read_refusal(sock, head)
    assert status == b"HTTP/1.1 503 Service Unavailable", head
    assert b"\r\nRetry-After: 1\r\n" in head, head
    assert b"holds %d WebSockets, its --websocket-max-connections" % limit in body, body
    assert s.wait_log("websocket handshake refused (503 Service Unavailable)")


def test_idle_websockets_leave_a_thread_for_plain_requests(server, flavour):
    """--threads 4 with 3 idle WebSockets: plain requests are still served (both servers). One
    more upgrade: uWSGI gives it the last thread, after which its plain requests wait in the
    listen queue until a WebSocket closes (checked by hand: curl times out); ours answers it 503
    at once, names the limit in the body and the log, and upgrades again once one closed."""
    s = start(server, flavour, threads=4)
    held = []
    try:
        for _ in range(3):
            sock, head = raw_upgrade(s, "/hold")
            held.append(sock)
            assert head.startswith(b"HTTP/1.1 101"), head
            assert read_frame_exactly(sock) == (1, b"held")
        for _ in range(3):  # each on a new connection: a free thread takes each
            assert plain_ok(s)
        sock, head = raw_upgrade(s, "/hold")
        held.append(sock)
        if flavour.upstream:
            assert head.startswith(b"HTTP/1.1 101"), head  # uWSGI: the 4th thread is taken too
            return
        assert_limit_refusal(s, sock, head, 3)
        assert plain_ok(s)  # the refusal did not cost the free thread
        held.pop().close()
        held.pop().close()  # one held WebSocket goes: its thread takes an upgrade again

        def upgraded():
            sock, head = raw_upgrade(s, "/hold")
            held.append(sock)
            return head.startswith(b"HTTP/1.1 101")
        assert wait_for(upgraded)
        assert plain_ok(s)
    finally:
        for sock in held:
            sock.close()


def test_websocket_max_connections_option(server, flavour, tmp_path):
    """--websocket-max-connections 1 on --threads 2: the second upgrade gets the 503; a value
    above --threads is refused at start-up, naming both options."""
    if flavour.upstream:
        pytest.skip("uWSGI has no such limit (its WebSockets may take every thread)")
    s = start(server, flavour, "--websocket-max-connections", "1", threads=2)
    first, head = raw_upgrade(s, "/hold")
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        second, head = raw_upgrade(s, "/hold")
        second.close()
        assert head.startswith(b"HTTP/1.1 503"), head
        assert plain_ok(s)
    finally:
        first.close()
    bad = server(*(["--http-socket", "127.0.0.1:{port}", "--threads", "2",
                    "--websocket-max-connections", "3"] + flavour.app_args(APP)),
                 binary=flavour.binary, wait=False)
    assert bad.proc.wait(timeout=60) == 1
    assert "--websocket-max-connections 3 is more than --threads 2" in bad.output()


# --- bad input, over a raw socket so the client can break the protocol ---

def raw_upgrade(s, path="/echo", key=b"dGhlIHNhbXBsZSBub25jZQ==", version=b"13", extra=b""):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    req = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" \
          b"Connection: Upgrade\r\n"
    if key is not None:
        req += b"Sec-WebSocket-Key: " + key + b"\r\n"
    req += b"Sec-WebSocket-Version: " + version + b"\r\n" + extra + b"\r\n"
    sock.sendall(req)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return hdr + payload
    key = b"\x01\x02\x03\x04"
    return hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def read_frames(sock, quiet_after=None):
    """Every frame until the server closes the connection: [(opcode, payload)]. quiet_after:
    stop once the server has sent nothing for that many seconds (for uWSGI, which leaves some
    broken connections open; nothing is asserted of its frames then)."""
    if quiet_after:
        sock.settimeout(quiet_after)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    frames = []
    while len(data) >= 2:
        n = data[1] & 0x7F
        at = 2
        if n == 126:
            n, at = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, at = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((data[0] & 0x0F, data[at:at + n]))
        data = data[at + n:]
    return frames


def read_frame_exactly(sock):
    """One whole server frame: (opcode, payload)."""
    def take(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "connection closed mid-frame"
            data += chunk
        return data
    b0, b1 = take(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", take(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", take(8))[0]
    return b0 & 0x0F, take(n)


def close_code(frames):
    closes = [p for op, p in frames if op == 8]
    return struct.unpack("!H", closes[0][:2])[0] if closes and len(closes[0]) >= 2 else None


BAD_FRAMES = {
    "unmasked": (frame(1, b"hello", mask=False), 1002),
    "bad-opcode": (frame(3, b"x"), 1002),
    "reserved-bits": (frame(1, b"x", rsv=0x40), 1002),
    "invalid-utf8": (frame(1, b"\xc3\x28 not utf-8"), 1007),
    "fragmented-ping": (frame(9, b"p", fin=False), 1002),
    "continuation-first": (frame(0, b"x"), 1002),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_bad_frame_gets_rfc_close_code(server, flavour, name):
    if flavour.upstream and name == "continuation-first":
        pytest.skip("uWSGI faulty: a lone continuation frame resets the next HTTP request")
    s = start(server, flavour)
    data, code = BAD_FRAMES[name]
    sock, head = raw_upgrade(s)
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        sock.sendall(data)
        frames = read_frames(sock, quiet_after=3 if flavour.upstream else None)
    finally:
        sock.close()
    if not flavour.upstream:
        assert close_code(frames) == code, frames
    # uWSGI checks none of this and may echo garbage or wait: only the worker's health is
    # compared there
    assert plain_ok(s)


def test_oversize_message(server, flavour):
    s = start(server, flavour, "--websocket-max-size", "1")  # 1 KiB
    sock, head = raw_upgrade(s, "/echo-binary")
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        sock.sendall(frame(2, b"a" * 1024))  # exactly the limit: fine
        sock.sendall(frame(2, b"b" * 1025))
        frames = read_frames(sock)
    finally:
        sock.close()
    assert frames[0] == (2, b"a" * 1024)
    if not flavour.upstream:
        assert close_code(frames) == 1009, frames[1:]
    else:
        assert (2, b"b" * 1025) not in frames  # uWSGI drops the connection instead
    assert plain_ok(s)


@pytest.mark.parametrize("case", ["missing-key", "bad-key", "version-8"])
def test_bad_handshake_is_refused(server, flavour, case):
    s = start(server, flavour)
    key = {"missing-key": None, "bad-key": b"short"}.get(case, b"dGhlIHNhbXBsZSBub25jZQ==")
    version = b"8" if case == "version-8" else b"13"
    sock, head = raw_upgrade(s, key=key, version=version)
    sock.close()
    if flavour.upstream:
        # uWSGI answers a missing key with a 500 from the app's exception and does not check
        # the key's form nor the version: nothing is asserted of it but the worker's health
        pass
    else:
        want = b"HTTP/1.1 426" if case == "version-8" else b"HTTP/1.1 400"
        assert head.startswith(want), head
        if case == "version-8":
            assert b"Sec-WebSocket-Version: 13" in head
    assert plain_ok(s)


def test_server_ping_and_missed_pong(server, flavour):
    """--websocket-ping-freq 1: the server pings a quiet client; one that never answers is
    closed after --websocket-pong-tolerance."""
    s = start(server, flavour, "--websocket-ping-freq", "1", "--websocket-pong-tolerance", "1")
    sock, head = raw_upgrade(s, "/hold")
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        frames = read_frames(sock)  # until the server gives up on us
    finally:
        sock.close()
    assert (1, b"held") in frames
    assert any(op == 9 for op, _ in frames), frames
    if not flavour.upstream:
        assert close_code(frames) == 1001, frames
    assert plain_ok(s)


def test_client_answering_pings_stays_open(server, flavour):
    s = start(server, flavour, "--websocket-ping-freq", "1", "--websocket-pong-tolerance", "1")

    async def go():
        async with websockets.connect(ws_url(s, "/echo"), ping_interval=None) as ws:
            await asyncio.sleep(0)  # let pings flow while we exchange for over 3 ping periods
            await exchange_ticks(ws, 3.5, 0.2)
    run(go())


def test_accept_key_is_rfc_example(server, flavour):
    s = start(server, flavour)
    sock, head = raw_upgrade(s)  # RFC 6455 1.3's example key
    sock.close()
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, head


def test_websocket_over_tls(server, flavour, tmp_path):
    """wss:// on --https-socket: the frames go through the connection's TLS session."""
    crt, key = make_certificate(tmp_path)
    addr = "127.0.0.1:{port},%s,%s" % (crt, key)
    s = server(*(["--https-socket", addr, "--threads", "1"] + flavour.app_args(APP)),
               binary=flavour.binary, env={k: None for k in os.environ if k.startswith("UWSGI_")})

    run(wss_echoes(s.port, crt))
