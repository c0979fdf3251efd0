"""WSGI app for the TLS and router tests: /env answers what the server told the app as JSON,
/echo returns the request body, /file sends a file through wsgi.file_wrapper, /big a large body,
/sleep?SECS answers its pid after SECS, /stream answers in pieces without Content-Length."""
import json
import os
import time


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if path == "/file":
        f = open(environ["QUERY_STRING"], "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.fstat(f.fileno()).st_size))])
        return environ["wsgi.file_wrapper"](f, 65536)
    if path == "/big":
        n = int(environ["QUERY_STRING"])
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"x" * n]
    if path == "/sleep":
        time.sleep(float(environ["QUERY_STRING"]))
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"first,", b"second,", b"third"])
    keys = ("HTTPS", "REMOTE_ADDR", "REMOTE_PORT", "SERVER_PORT", "REQUEST_METHOD", "PATH_INFO",
            "QUERY_STRING", "HTTP_HOST", "HTTP_X_FORWARDED_FOR")
    facts = {k: environ.get(k) for k in keys}
    facts["url_scheme"] = environ["wsgi.url_scheme"]
    facts["pid"] = os.getpid()
    body = json.dumps(facts).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
