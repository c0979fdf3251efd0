"""WebSockets through the --http/--https router: the request goes to a worker like any other; once
the worker answers 101 the router tunnels the bytes both ways, unchanged, until either side
closes. python3-websockets as the client, on ours (PyPy) and on Debian's uWSGI (CPython), which
tunnels only with --http-websockets (ours always does; it accepts the option)."""
import os

import websockets

from test_websocket import (APP, client_close_code, plain_ok, run, server_close_code,
                            wss_echoes)
from tls_helpers import make_certificate


def start(server, flavour, *listen, threads=4):
    # 4 threads: room for the 3 WebSockets a test opens one after the other, should a worker
    # still hold the last one's thread (--websocket-max-connections is --threads - 1)
    plugin = ["--plugin", "http"] if flavour.upstream else []
    env = {k: None for k in os.environ if k.startswith("UWSGI_")}
    return server(*plugin, "--master", *listen, "--http-websockets", "--threads", str(threads),
                  *flavour.app_args(APP), binary=flavour.binary, env=env)


def test_round_trips_through_the_router(server, flavour):
    s = start(server, flavour, "--http", "127.0.0.1:{port}")
    url = "ws://127.0.0.1:%d" % s.port
    blob = os.urandom(1024 * 1024)  # more than the router reads at once, both ways

    async def go():
        async with websockets.connect(url + "/echo") as ws:
            for text in ("h\u00e9llo \u2603", "second", "third"):
                await ws.send(text)
                assert await ws.recv() == text
            assert plain_ok(s)  # a plain request beside the open WebSocket
        async with websockets.connect(url + "/echo-binary", max_size=None) as ws:
            await ws.send(blob)
            assert await ws.recv() == blob
            await ws.send(b"\x00" * 70000)
            assert await ws.recv() == b"\x00" * 70000
    run(go())
    code = run(server_close_code(url + "/server-close"))
    if not flavour.upstream:
        # the core's close frame passed the tunnel (uWSGI drops the connection: 1006)
        assert code == 1000
    assert plain_ok(s)


def test_client_close_through_the_router(server, flavour):
    s = start(server, flavour, "--http", "127.0.0.1:{port}")

    code = run(client_close_code("ws://127.0.0.1:%d/echo" % s.port))
    if not flavour.upstream:
        assert code == 1000  # the worker's answer to the close came back through the tunnel
    assert plain_ok(s)


def test_wss_through_the_https_router(server, flavour, tmp_path):
    crt, key = make_certificate(tmp_path)
    s = start(server, flavour, "--https", "127.0.0.1:{port},%s,%s" % (crt, key))

    run(wss_echoes(s.port, crt))
