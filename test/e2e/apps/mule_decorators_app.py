"""WSGI app for test_mule_decorators.py: Debian's uwsgidecorators (unmodified) @mulefunc,
@mule, @muleloop, @mulemsg and @farm, each recording where it ran in $MODULE_TEST_DIR/events.
Which mule runs what depends on --mules: @mule(1), @mulefunc(2), @farm("f") (give --farm f:3),
@muleloop(4), @mulemsg(5). Runs unchanged on our PyPy plugin and on uWSGI's CPython plugin."""
import time
import urllib.parse

import uwsgi
import uwsgidecorators
from app_events import answer, event


@uwsgidecorators.mulefunc
def anywhere(text):
    event("mulefunc", text, uwsgi.mule_id())


@uwsgidecorators.mulefunc(2)
def in_mule_2(text, suffix=""):
    event("mulefunc2", text + suffix, uwsgi.mule_id())


@uwsgidecorators.mule(1)
def brain():
    event("brain", uwsgi.mule_id())


@uwsgidecorators.muleloop(4)
def loop():
    event("loop", uwsgi.mule_id())
    time.sleep(0.3)


@uwsgidecorators.mulemsg(5)
def on_message(message):
    event("mulemsg", message.decode(), uwsgi.mule_id())


@uwsgidecorators.farm("f")
def on_farm_message(message):
    event("farm", message.decode(), uwsgi.mule_id())


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    path = environ["PATH_INFO"]
    if path == "/anywhere":
        anywhere(q["text"])
    elif path == "/mule2":
        in_mule_2(q["text"], suffix="!")
    elif path == "/msg":
        uwsgi.mule_msg(q["text"].encode(), int(q["to"]))
    elif path == "/farm":
        uwsgi.farm_msg("f", q["text"].encode())
    return answer(start_response, q, "ok")
