"""The app of the adaptive-worker, master-fifo and systemd tests: answers its worker's pid.

/sleep?s=N  holds the worker N seconds (to make it busy), then answers the pid
/grow?mb=N  keeps N more megabytes of written memory alive in this worker (rss grows)
/status     answers the status of each worker in uwsgi.workers() instead, comma separated
"""
import os
import sys
import time

_kept = []


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    if path == "/sleep":
        if "mark" in query:  # a test waits for this line to know the request is in the app
            sys.stderr.write("sleeping in worker %d\n" % os.getpid())
            sys.stderr.flush()
        time.sleep(float(query.get("s", "1")))
    elif path == "/grow":
        # bytes * n writes every page, so the memory is resident (not a lazy zero mapping)
        _kept.append(b"x" * (int(query.get("mb", "1")) * 1024 * 1024))
    body = str(os.getpid()).encode()
    if path == "/status":
        import uwsgi
        body = b",".join(w["status"] for w in uwsgi.workers())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
