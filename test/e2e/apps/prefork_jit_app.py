"""Answers repr((worker_id, compiled loops)): the count of loops PyPy's JIT compiled in this
process so far, read before the request does anything (a worker's count starts from what its
master had compiled at fork). ?hold=SECS waits first, so concurrent requests spread over the
workers."""
import time

import pypyjit
import uwsgi


def compiled_loops():
    return pypyjit.get_stats_snapshot().counters["TOTAL_COMPILED_LOOPS"]


def application(environ, start_response):
    loops = compiled_loops()
    query = environ.get("QUERY_STRING", "")
    if query.startswith("hold="):
        time.sleep(float(query[5:]))
    body = repr((uwsgi.worker_id(), loops)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
