"""The pypy plugin's WebSocket hub (--async N; --ugreen/--greenlet): WebSocket upgrades run as
continulets on one hub thread per worker (plugins/pypy/websocket_hub.py). Ours only, but for
test_ugreen_spelling_on_both_servers: the rest looks at our hub thread. Client: Debian's
python3-websockets."""
import asyncio
import http.client
import os

import pytest
import websockets

from conftest import Flavour, plugin_available, wait_for
from test_core_nginx import nginx  # noqa: F401 (the fixture: one nginx per test, stopped)
from test_websocket_nginx import PROXY
from test_websocket import (
    APP, close_code, exchange_ticks, plain_ok, raw_upgrade, read_frames, recv_nb_exchange, run,
    server_close_code, ws_url)
from tls_helpers import client_context, make_certificate

HUB = "uwsgi-ws-hub"  # the hub thread's name, which /whoami sends first

pytestmark = pytest.mark.skipif(not plugin_available("pypy"), reason="pypy plugin not built")


def start(server, *extra, threads=4, hub=("--async", "8"), socket="--http-socket"):
    ours = Flavour("pypy")
    args = [socket, "127.0.0.1:{port}", "--threads", str(threads)]
    args += ours.app_args(APP) + list(hub) + list(extra)
    env = {k: None for k in os.environ if k.startswith("UWSGI_")}
    return server(*args, binary=ours.binary, env=env)


def plain_thread(s):
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    try:
        conn.request("GET", "/plain-thread")
        resp = conn.getresponse()
        assert resp.status == 200
        return resp.read().decode()
    finally:
        conn.close()


def test_startup_line_names_the_mode(server):
    s = start(server)
    assert s.wait_log("WebSocket hub: on (--async 8), one per worker")


@pytest.mark.parametrize("spelling", ["--ugreen", "--greenlet"])
def test_uwsgi_spellings(server, spelling):
    s = start(server, hub=(spelling,))
    assert s.wait_log("WebSocket hub: on (--async 4)")  # N = --threads

    async def go():
        async with websockets.connect(ws_url(s, "/whoami")) as ws:
            assert await ws.recv() == HUB
    run(go())


def test_text_and_binary_round_trips_on_the_hub(server):
    s = start(server)

    async def go():
        async with websockets.connect(ws_url(s, "/whoami")) as ws:
            assert await ws.recv() == HUB
            text = "h\u00e9llo \u2603 \U0001F600"
            await ws.send(text)
            assert await ws.recv() == text
        async with websockets.connect(ws_url(s, "/echo-binary"), max_size=None) as ws:
            for blob in (bytes(range(256)) * 3, b"", b"x" * 70000, bytes(300000)):
                await ws.send(blob)
                assert await ws.recv() == blob
    run(go())


def test_many_clients_on_one_worker(server):
    """32 WebSockets at once on one worker (--threads 33, --async 32), all on its hub, each
    echoing 20 messages with one in flight; then the worker serves plain requests."""
    s = start(server, threads=33, hub=("--async", "32"))

    async def client(i):
        async with websockets.connect(ws_url(s, "/whoami"), open_timeout=60) as ws:
            assert await ws.recv() == HUB
            for k in range(20):
                msg = "client %d message %d" % (i, k)
                await ws.send(msg)
                assert await ws.recv() == msg
        return i

    async def go():
        return await asyncio.gather(*(client(i) for i in range(32)))
    assert sorted(run(go())) == list(range(32))
    assert plain_ok(s)


def test_past_the_hub_capacity_runs_on_the_request_thread(server):
    """--async 2: the third WebSocket at once runs on its own request thread, as without a
    hub; once the first two closed, the hub takes WebSockets again."""
    s = start(server, threads=5, hub=("--async", "2"))

    async def go():
        a = await websockets.connect(ws_url(s, "/whoami"))
        b = await websockets.connect(ws_url(s, "/whoami"))
        c = await websockets.connect(ws_url(s, "/whoami"))
        assert [await a.recv(), await b.recv()] == [HUB, HUB]
        assert await c.recv() != HUB
        for ws in (a, b, c):
            await ws.send("still there")
            assert await ws.recv() == "still there"
            await ws.close()

        async def on_hub():
            async with websockets.connect(ws_url(s, "/whoami")) as ws:
                return await ws.recv() == HUB
        deadline = asyncio.get_running_loop().time() + 15  # the hub frees its slots as the
        while not await on_hub():                            # closed loops end
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    run(go())


def test_client_ping_gets_pong_on_the_hub(server):
    s = start(server)

    async def go():
        async with websockets.connect(ws_url(s, "/whoami")) as ws:
            assert await ws.recv() == HUB
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 20)
            await ws.send("after ping")
            assert await ws.recv() == "after ping"
    run(go())


def test_server_pings_and_missed_pong_on_the_hub(server):
    """A parked WebSocket gets its ticks: the hub's ws_recv calls send the pings
    (--websocket-ping-freq 1) and close a client that never answers (tolerance 1 s) with 1001,
    while another WebSocket on the same hub answers its pings and stays open."""
    s = start(server, "--websocket-ping-freq", "1", "--websocket-pong-tolerance", "1")

    async def answering():
        async with websockets.connect(ws_url(s, "/whoami"), ping_interval=None) as ws:
            assert await ws.recv() == HUB
            await exchange_ticks(ws, 3.5, 0.3)

    async def go():
        task = asyncio.ensure_future(answering())
        frames = await asyncio.get_running_loop().run_in_executor(None, mute_client)
        await task
        return frames

    def mute_client():
        sock, head = raw_upgrade(s, "/hold")
        try:
            assert head.startswith(b"HTTP/1.1 101"), head
            return read_frames(sock)  # until the server gives up on us
        finally:
            sock.close()
    frames = run(go())
    assert (1, b"held") in frames
    assert any(op == 9 for op, _ in frames), frames
    assert close_code(frames) == 1001, frames
    assert plain_ok(s)


def test_peer_close_ends_the_app_loop(server):
    """The client closes: websocket_recv raises OSError in the hub task, the app's loop ends
    (its except clause logs), the close is answered with 1000, and the worker serves plain
    requests after; several times in a row on a hub of 1."""
    s = start(server, hub=("--async", "1"))

    async def one():
        ws = await websockets.connect(ws_url(s, "/whoami"))
        assert await ws.recv() == HUB
        await ws.send("x")
        assert await ws.recv() == "x"
        await ws.close(code=1000)
        return ws.close_code
    for n in range(1, 4):
        # a hub of 1 takes the next WebSocket only once the last one's loop ended
        assert wait_for(lambda: s.output().count("whoami loop ended") == n - 1)
        assert run(one()) == 1000
        assert s.wait_log("whoami loop ended", count=n)
        assert plain_ok(s)
    assert run(server_close_code(ws_url(s, "/server-close"))) == 1000
    assert plain_ok(s)


def test_recv_nb_on_the_hub(server):
    s = start(server)
    run(recv_nb_exchange(ws_url(s, "/nb")))


def test_plain_request_on_a_request_thread_while_websockets_are_open(server):
    s = start(server, threads=4, hub=("--async", "8"))

    async def go():
        socks = [await websockets.connect(ws_url(s, "/whoami")) for _ in range(3)]
        try:
            for ws in socks:
                assert await ws.recv() == HUB
            loop = asyncio.get_running_loop()
            name = await loop.run_in_executor(None, plain_thread, s)
            assert name != HUB
            for ws in socks:  # the hub still serves them
                await ws.send("ok")
                assert await ws.recv() == "ok"
        finally:
            for ws in socks:
                await ws.close()
    run(go())


def test_websocket_over_tls_on_the_hub(server, tmp_path):
    """wss:// on --https-socket: messages of several TLS records each; bytes OpenSSL already
    decrypted make no socket event, so the hub's first ask (UWSGI_WS_RECV_BUFFERED) takes them."""
    crt, key = make_certificate(tmp_path)
    ours = Flavour("pypy")
    env = {k: None for k in os.environ if k.startswith("UWSGI_")}
    s = server(*(["--https-socket", "127.0.0.1:{port},%s,%s" % (crt, key), "--threads", "4",
                  "--async", "8"] + ours.app_args(APP)), binary=ours.binary, env=env)

    async def go():
        url = "wss://localhost:%d" % s.port
        async with websockets.connect(url + "/whoami", ssl=client_context(crt)) as ws:
            assert await ws.recv() == HUB
            for _ in range(3):  # two messages back to back: the second is often buffered
                await ws.send("one")
                await ws.send("two")
                assert [await ws.recv(), await ws.recv()] == ["one", "two"]
            async with websockets.connect(url + "/echo-binary", ssl=client_context(crt),
                                          max_size=None) as wb:
                for size in (5, 70000, 300000):
                    blob = os.urandom(size)
                    await wb.send(blob)
                    assert await wb.recv() == blob
            await ws.send("the first one still answers")
            assert await ws.recv() == "the first one still answers"
    run(go())


def test_bad_async_value_is_refused(server):
    ours = Flavour("pypy")
    bad = server(*(["--http-socket", "127.0.0.1:{port}", "--async", "0"] + ours.app_args(APP)),
                 binary=ours.binary, wait=False)
    assert bad.proc.wait(timeout=60) != 0
    assert "--async 0: give the most WebSockets one hub runs, N >= 1" in bad.output()


def test_upgrade_request_answered_with_plain_http_on_the_hub(server):
    """An app may answer an upgrade request with plain HTTP (no handshake): the hub runs it and
    the response goes out as on a request thread, through the same protocol calls."""
    s = start(server)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    try:
        conn.request("GET", "/plain-thread", headers={"Upgrade": "WebSocket",
                                                      "Connection": "Upgrade"})
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.read().decode() == HUB
    finally:
        conn.close()
    assert plain_thread(s) != HUB


def test_one_hub_per_worker(server):
    """--processes 2: each worker starts its own hub at its first WebSocket (after fork); 6
    WebSockets at once, 3 per worker at most (--threads 4), all on a hub."""
    s = start(server, "--processes", "2", threads=4, hub=("--async", "4"))

    async def go():
        socks = []
        try:
            while len(socks) < 6:
                try:
                    ws = await websockets.connect(ws_url(s, "/whoami"))
                except websockets.InvalidStatusCode as e:  # that worker holds 3 already
                    assert e.status_code == 503
                    await asyncio.sleep(0.05)
                    continue
                socks.append(ws)
                assert await ws.recv() == HUB
            for ws in socks:
                await ws.send("both")
                assert await ws.recv() == "both"
        finally:
            for ws in socks:
                await ws.close()
    run(go())
    assert plain_ok(s)


@pytest.mark.parametrize("via", ["proxy_pass", "uwsgi_pass"])
def test_hub_behind_nginx(server, nginx, via):  # noqa: F811 (the fixture)
    """The hub is the same behind nginx: proxy_pass with the Upgrade headers to an
    --http-socket, and uwsgi_pass to a --socket (the core owns the connection either way)."""
    if via == "proxy_pass":
        s = start(server)
        n = nginx(PROXY % s.port)
    else:
        s = start(server, socket="--socket")
        n = nginx("include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d; "
                  "uwsgi_read_timeout 60s;" % s.port)
    url = "ws://127.0.0.1:%d" % n.port

    async def go():
        async with websockets.connect(url + "/whoami") as ws:
            assert await ws.recv() == HUB
            for k in range(3):
                await ws.send("m%d \u2603" % k)
                assert await ws.recv() == "m%d \u2603" % k
        async with websockets.connect(url + "/echo-binary", max_size=None) as ws:
            await ws.send(bytes(200000))
            assert await ws.recv() == bytes(200000)
    run(go())


def test_ugreen_spelling_on_both_servers(server, flavour, request):
    """uWSGI's own command line on both servers (`--async 8 --ugreen`; Debian's uWSGI loads its
    ugreen plugin): two WebSockets echo, one ends, the other echoes on, a third one echoes, and
    plain requests are served. Debian's uWSGI 2.0.21 does not get through it: its worker dies of
    a segmentation fault in async_schedule_to_req_green once one of several WebSockets ended,
    a fault of uWSGI's (so its case is an expected failure, strict)."""
    if flavour.upstream:
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="uWSGI 2.0.21's ugreen segfaults when one of several "
                                "WebSockets ends"))
        s = server("--http-socket", "127.0.0.1:{port}", "--plugin", "ugreen", "--async", "8",
                   "--ugreen", *flavour.app_args(APP), binary=flavour.binary,
                   env={k: None for k in os.environ if k.startswith("UWSGI_")})
    else:
        s = start(server, hub=("--async", "8", "--ugreen"))

    async def echo(ws, text):
        await ws.send(text)
        return await ws.recv() == text

    async def go():
        a = await websockets.connect(ws_url(s, "/echo"))
        b = await websockets.connect(ws_url(s, "/echo"))
        assert await echo(a, "a") and await echo(b, "b")
        await a.close()
        for k in range(3):
            assert await echo(b, "b%d" % k)
        await b.close()
        async with websockets.connect(ws_url(s, "/echo")) as c:
            assert await echo(c, "c")
    run(go())
    assert plain_ok(s)
