"""WebSocket app for test_websocket.py, in uWSGI's API, run by our server on PyPy and by Debian's
uWSGI on CPython. The path picks what it does after the handshake."""
import threading
import time

import uwsgi


def application(env, start_response):
    path = env["PATH_INFO"]
    if path == "/plain":  # a plain HTTP request beside the WebSockets
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"plain"]
    if path == "/plain-thread":  # which thread serves a plain request (--async: not the hub)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [threading.current_thread().name.encode()]
    uwsgi.websocket_handshake(env.get("HTTP_SEC_WEBSOCKET_KEY", ""), env.get("HTTP_ORIGIN", ""))
    if path == "/echo":  # text out, whatever came in (uWSGI's recv gives bytes only)
        while True:
            uwsgi.websocket_send(uwsgi.websocket_recv())
    if path == "/echo-binary":
        while True:
            uwsgi.websocket_send_binary(uwsgi.websocket_recv())
    if path == "/str":  # str arguments are sent UTF-8 encoded
        uwsgi.websocket_send("h\u00e9llo \u2603")
        uwsgi.websocket_send_binary("bin \u00e9")
        uwsgi.websocket_recv()  # until the client closes
    if path == "/nb":  # recv_nb: b'' while nothing is pending, then the message
        empties = 0
        while True:
            msg = uwsgi.websocket_recv_nb()
            if msg:
                uwsgi.websocket_send(b"nb:" + msg)
                break
            empties += 1
            if empties == 1:
                uwsgi.websocket_send(b"empty")
            time.sleep(0.01)
        uwsgi.websocket_recv()
    if path == "/whoami":  # the thread's name (--async: the hub's), then an echo loop
        uwsgi.websocket_send(threading.current_thread().name)
        try:
            while True:
                uwsgi.websocket_send(uwsgi.websocket_recv())
        except OSError:
            print("whoami loop ended", flush=True)  # the peer closed: the loop ends
            raise
    if path == "/server-close":  # the app returns: the server ends the WebSocket
        uwsgi.websocket_send(b"bye")
    if path == "/hold":  # answers once, then holds its thread until the client closes
        uwsgi.websocket_send(b"held")
        while True:
            uwsgi.websocket_recv()
    return []
