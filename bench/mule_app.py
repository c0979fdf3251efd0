"""App for bench/mule_bench.py: /send?n=N&size=S makes the worker send N messages of S bytes to
mule 1 with uwsgi.mule_msg (a full queue is retried: every message arrives), then one b"end".
The mule (bench/mule_receiver.py) counts them."""
import time
import urllib.parse

import uwsgi


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    n, size = int(q.get("n", 0)), int(q.get("size", 64))
    if n == 0:  # the bench's readiness probe: nothing for the mule
        start_response("200 OK", [("Content-Length", "3")])
        return [b"0 0"]
    message = b"m" * size
    full = 0
    for _ in range(n):
        while not uwsgi.mule_msg(message, 1):
            full += 1
            time.sleep(0.0005)
    while not uwsgi.mule_msg(b"end", 1):
        time.sleep(0.0005)
    body = ("%d %d" % (n, full)).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
