"""WSGI app for test_mules.py's mule_get_msg / mule_file / --mule-harakiri /
--mule-reload-mercy tests: signal 51 (mule 1) records and, with $SLOW_SIGNAL, then sleeps far
longer than any test; signal 52 (mule 1) records only. /mule_file?id=N answers uwsgi.mule_file
(no id: called without one). Runs unchanged on our PyPy plugin and on uWSGI's CPython plugin."""
import os
import time
import urllib.parse

import uwsgi
from app_events import answer, event


def slow(num):
    event("signal", num, os.getpid(), uwsgi.mule_id())
    if os.environ.get("SLOW_SIGNAL"):
        time.sleep(600)


def quick(num):
    event("signal", num, os.getpid(), uwsgi.mule_id())


uwsgi.register_signal(51, "mule1", slow)
uwsgi.register_signal(52, "mule1", quick)


def _call(fn):
    try:
        return fn()
    except Exception as e:
        return ("error", type(e).__name__)


def _raise(query):
    uwsgi.signal(int(query["n"]))
    return "raised"


def _mule_file(query):
    if "id" in query:
        return _call(lambda: uwsgi.mule_file(int(query["id"])))
    return _call(uwsgi.mule_file)  # no id


ROUTES = {
    "/raise": _raise,
    "/msg": lambda query: uwsgi.mule_msg(query["text"].encode(), 1),
    "/mule_file": _mule_file,
}


def application(environ, start_response):
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    route = ROUTES.get(environ["PATH_INFO"], lambda query: "hello")
    return answer(start_response, query, route(query))
