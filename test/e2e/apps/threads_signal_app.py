"""WSGI app for test_python_threads.py: registers a handler for uwsgi signal 40 (every worker)
at import, in the master. /spin raises signal 40 and loops in pure Python until the handler,
which the worker's signal thread runs, has run (at most 30 s); it answers how many times it did.
With PyPy's threads off the signal thread can only get in because registering the handler made
a cffi callback, which turned them on."""
import time
import urllib.parse

import uwsgi
from app_events import answer

handled = []
uwsgi.register_signal(40, "workers", handled.append)


def application(environ, start_response):
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    result = None
    if environ["PATH_INFO"] == "/spin":
        before = len(handled)
        uwsgi.signal(40)
        deadline = time.time() + 30
        spins = 0
        while len(handled) == before and time.time() < deadline:
            spins += 1
        result = len(handled) - before
    return answer(start_response, query, result)
