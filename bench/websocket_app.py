"""The echo app of bench/websocket_bench.py, in uWSGI's API, run by our server on PyPy and by
Debian's uWSGI on CPython: /echo echoes every message back as binary; anything else answers ok
(the readiness probe)."""
import uwsgi


def application(env, start_response):
    if env["PATH_INFO"] != "/echo":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    uwsgi.websocket_handshake(env.get("HTTP_SEC_WEBSOCKET_KEY", ""), env.get("HTTP_ORIGIN", ""))
    while True:
        uwsgi.websocket_send_binary(uwsgi.websocket_recv())
