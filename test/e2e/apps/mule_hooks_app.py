"""WSGI app for test_mule_messages.py: mule_msg / farm_msg from requests, received by
signal-only mules through uwsgi.mule_msg_hook (and install_mule_msg_hook where uWSGI has it) and
by the programmed mules mule_prog.py (a script) and mule_prog:main (module:function). Every
receiver records what it got in $MODULE_TEST_DIR/events. Runs unchanged on our PyPy plugin and
on uWSGI's CPython plugin."""
import urllib.parse

import uwsgi
from app_events import answer, event


def hook(message):
    event("hook", message.decode(), uwsgi.mule_id())


def extra_hook(message):
    event("extra", message.decode(), uwsgi.mule_id())


uwsgi.mule_msg_hook = hook
if hasattr(uwsgi, "install_mule_msg_hook"):  # newer than Debian's uWSGI 2.0.21
    uwsgi.install_mule_msg_hook(extra_hook)


def outcome(fn):
    try:
        return repr(fn())
    except Exception as e:
        return type(e).__name__


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    path = environ["PATH_INFO"]
    if path == "/msg":
        to = q.get("to")
        args = [q["text"].encode()] + ([] if to is None else [int(to) if to.isdigit() else to.encode()])
        return answer(start_response, q, uwsgi.mule_msg(*args))
    if path == "/farm":
        return answer(start_response, q, uwsgi.farm_msg(q["name"], q["text"].encode()))
    if path == "/big":  # a message of n bytes to mule 3
        return answer(start_response, q, uwsgi.mule_msg(b"B" * int(q["n"]), 3))
    if path == "/fill":  # messages of n bytes to mule 4 (it reads only its farm) until full
        count = 0
        while count < 1000 and uwsgi.mule_msg(b"F" * int(q["n"]), 4):
            count += 1
        return answer(start_response, q, count)
    if path == "/bad":
        return answer(start_response, q, {
            "mule 9": outcome(lambda: uwsgi.mule_msg(b"x", 9)) if q.get("id") else None,
            "no farm": outcome(lambda: uwsgi.mule_msg(b"x", "nofarm")),
            "over msg size": outcome(lambda: uwsgi.mule_msg(b"x" * 300000, 1)),
            "get in a worker": outcome(lambda: uwsgi.mule_get_msg(timeout=1)),
            "farm_get in a worker": outcome(uwsgi.farm_get_msg),
            "farm_msg no farm": outcome(lambda: uwsgi.farm_msg("nofarm", b"x")),
            "mule_id": uwsgi.mule_id(),
            "in_farm": outcome(uwsgi.in_farm),
        })
    return answer(start_response, q, "hello")
