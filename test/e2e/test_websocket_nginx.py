"""WebSockets behind Debian's nginx (1.22): proxy_pass with the Upgrade headers to an
--http-socket, and uwsgi_pass to a --socket. nginx's uwsgi module tunnels the connection after
a 101 too (it passes the client's Upgrade and Connection as HTTP_* vars, and the server's 101
switches the connection to a tunnel), so no proxy_set_header is needed there."""
import asyncio
import os
import urllib.request

import pytest
import websockets

from test_core_nginx import nginx  # noqa: F401 (the fixture: one nginx per test, stopped)
from test_websocket import assert_limit_refusal, raw_upgrade, read_frame_exactly, run, start

PROXY = ("proxy_pass http://127.0.0.1:%d; proxy_http_version 1.1; "
         "proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"; "
         "proxy_read_timeout 60s;")


def test_round_trips_through_proxy_pass(server, flavour, nginx):
    s = start(server, flavour)
    n = nginx(PROXY % s.port)
    url = "ws://127.0.0.1:%d" % n.port
    blob = os.urandom(1024 * 1024)

    async def go():
        async with websockets.connect(url + "/echo") as ws:
            await ws.send("h\u00e9llo \u2603")
            assert await ws.recv() == "h\u00e9llo \u2603"
            if not flavour.upstream:  # uWSGI does not reassemble fragments (test_websocket.py)
                await ws.send(["a", "b", "c"])
                assert await ws.recv() == "abc"
        async with websockets.connect(url + "/echo-binary", max_size=None) as ws:
            await ws.send(blob)
            assert await ws.recv() == blob
        async with websockets.connect(url + "/server-close") as ws:
            assert await ws.recv() == "bye"
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
    run(go())


def test_round_trips_through_uwsgi_pass(server, flavour, nginx):
    s = start(server, flavour, socket="--socket")
    n = nginx("include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d; "
              "uwsgi_read_timeout 60s;" % s.port)
    url = "ws://127.0.0.1:%d" % n.port

    async def go():
        async with websockets.connect(url + "/echo") as ws:
            await ws.send("h\u00e9llo \u2603")
            assert await ws.recv() == "h\u00e9llo \u2603"
            pong = await ws.ping(b"p")
            if not flavour.upstream:  # uWSGI answers no client ping (test_websocket.py)
                await asyncio.wait_for(pong, 20)
        async with websockets.connect(url + "/echo-binary", max_size=None) as ws:
            await ws.send(b"\x00" * 70000)
            assert await ws.recv() == b"\x00" * 70000
    run(go())


@pytest.mark.parametrize("via", ["proxy_pass", "uwsgi_pass"])
def test_websocket_limit_503_reaches_client_through_nginx(server, flavour, nginx, via):
    """--threads 2 holds one WebSocket on ours (--websocket-max-connections defaults to
    --threads - 1): the next upgrade through nginx gets our 503 with Retry-After and the body
    naming the limit, as nginx passes an upstream's error answer through unchanged, and a plain
    request through nginx is still served by the free thread. uWSGI has no limit: it upgrades the
    second WebSocket too, taking its last thread (test_websocket.py)."""
    if via == "proxy_pass":
        s = start(server, flavour, threads=2)
        n = nginx(PROXY % s.port)
    else:
        s = start(server, flavour, threads=2, socket="--socket")
        n = nginx("include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d; "
                  "uwsgi_read_timeout 60s;" % s.port)
    held = []
    try:
        sock, head = raw_upgrade(n, "/hold")
        held.append(sock)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert read_frame_exactly(sock) == (1, b"held")
        sock, head = raw_upgrade(n, "/hold")
        held.append(sock)
        if flavour.upstream:
            assert head.startswith(b"HTTP/1.1 101"), head  # uWSGI: its last thread is taken
            assert read_frame_exactly(sock) == (1, b"held")
            return
        assert_limit_refusal(s, sock, head, 1)
        with urllib.request.urlopen(n.url("/plain"), timeout=30) as r:
            assert r.status == 200 and r.read() == b"plain"
    finally:
        for sock in held:
            sock.close()
