"""WSGI app for test_mules.py: signal handlers that run in mules record, in
$MODULE_TEST_DIR/events, which process ran them (pid, mule_id, worker_id). Runs unchanged on our
PyPy plugin and on uWSGI's CPython plugin."""
import os
import urllib.parse

import uwsgi
from app_events import answer, event


def record(num):
    event("signal", num, os.getpid(), uwsgi.mule_id(), uwsgi.worker_id())


uwsgi.register_signal(40, "mule", record)    # one mule, the first free one
uwsgi.register_signal(41, "mules", record)   # each mule
uwsgi.register_signal(42, "mule2", record)   # mule 2 only


def application(environ, start_response):
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    path = environ["PATH_INFO"]
    if path == "/raise":
        uwsgi.signal(int(query["n"]))
        return answer(start_response, query, "raised")
    return answer(start_response, query, "hello")
