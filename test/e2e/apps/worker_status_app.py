"""WSGI app for test_worker_status.py: uwsgi.workers()'s status while a worker runs a uwsgi
signal handler ("sigN") and while the master pauses the workers ("pause"). A handler or a
request holds until the test writes a file, so the test sees the state it asserts."""
import os
import time
import urllib.parse

import uwsgi
from app_events import answer, event

OUT = os.environ["MODULE_TEST_DIR"]


def hold_until(name, limit=60):
    """Waits (bounded) for the test to create OUT/name."""
    deadline = time.time() + limit
    while not os.path.exists(os.path.join(OUT, name)) and time.time() < deadline:
        time.sleep(0.02)


def slow_handler(num):
    event("handler", uwsgi.worker_id(), num)
    hold_until("release-handler")


uwsgi.register_signal(41, "worker2", slow_handler)


def statuses():
    return [(w["id"], w["status"]) for w in uwsgi.workers()]


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    path = environ["PATH_INFO"]
    if path == "/raise":
        result = uwsgi.signal(int(q["n"]))
    elif path == "/statuses":
        result = statuses()
    elif path == "/hold":  # busy until the test says go, then what every worker is doing
        event("holding", uwsgi.worker_id())
        hold_until("release-request")
        result = statuses()
    else:
        result = "hello"
    return answer(start_response, q, result)
