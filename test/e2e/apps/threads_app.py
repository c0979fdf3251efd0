"""WSGI app for test_python_threads.py: /start starts a Python thread (threading.Thread) that
counts ticks every 10 ms in $MODULE_TEST_DIR/ticks (rewritten each tick); /facts answers
uwsgi.has_threads; /sleep?s=S sleeps S seconds in the request; /join starts a thread that sums
range(1000) and joins it (waits at most 30 s), answering [499500]. Runs unchanged on our PyPy
plugin and on uWSGI's CPython plugin."""
import os
import threading
import time
import urllib.parse

import uwsgi
from app_events import answer

TICKS = os.path.join(os.environ["MODULE_TEST_DIR"], "ticks")
_started = []


def _count():
    n = 0
    while True:
        n += 1
        tmp = TICKS + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(n))
        os.rename(tmp, TICKS)
        time.sleep(0.01)


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    result = None
    if path == "/start" and not _started:
        t = threading.Thread(target=_count, name="ticker", daemon=True)
        t.start()
        _started.append(t)
    elif path == "/facts":
        result = uwsgi.has_threads
    elif path == "/join":
        result = []
        t = threading.Thread(target=lambda: result.append(sum(range(1000))), name="joined")
        t.start()
        t.join(30)
    elif path == "/sleep":
        time.sleep(float(query["s"]))
    return answer(start_response, query, result)
