"""WSGI app for test_uwsgi_signals.py: uwsgidecorators' signal decorators (unmodified) and the
raw signal calls, each handler recording what fired in $MODULE_TEST_DIR/events. Runs unchanged
on our PyPy plugin and on uWSGI's CPython plugin."""
import os
import urllib.parse

import uwsgi
import uwsgidecorators
from app_events import answer, event

WATCHED = os.path.join(os.environ["MODULE_TEST_DIR"], "watched")
with open(WATCHED, "w") as f:
    f.write("0")


@uwsgidecorators.timer(1)
def every_second(num):
    event("timer", uwsgi.worker_id(), num)


@uwsgidecorators.rbtimer(1)
def rb_every_second(num):
    event("rbtimer", uwsgi.worker_id(), num)


@uwsgidecorators.cron(-1, -1, -1, -1, -1)
def every_minute(num):
    event("cron", uwsgi.worker_id(), num)


@uwsgidecorators.filemon(WATCHED)
def watched_changed(num):
    event("filemon", uwsgi.worker_id(), num)


@uwsgidecorators.signal(30)
def on_30(num):
    event("signal", uwsgi.worker_id(), num)


@uwsgidecorators.signal(31, target="workers")
def on_31(num):
    event("signal", uwsgi.worker_id(), num)


def on_33(num):
    event("signal", uwsgi.worker_id(), num)


uwsgi.register_signal(33, "workers", on_33)
uwsgi.register_signal(34, "worker2", on_33)
uwsgi.register_signal(40, "", on_33)  # raised by the native rpcdemo plugin in the tests
if hasattr(uwsgi, "add_ms_timer"):  # newer than Debian's uWSGI 2.0.21
    uwsgi.add_ms_timer(35, 300)
    uwsgi.register_signal(35, "", lambda num: event("ms_timer", uwsgi.worker_id(), num))
uwsgi.register_signal(37, "", lambda num: event("opt_timer", uwsgi.worker_id(), num))  # --timer
uwsgi.add_rb_timer(36, 1, 2)  # fires twice, then stops
uwsgi.register_signal(36, "", lambda num: event("rb2", uwsgi.worker_id(), num))


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/raise":
        result = uwsgi.signal(int(q["n"]))
    elif path == "/registered":
        result = [uwsgi.signal_registered(n) for n in (30, 31, 33, 99)]
    elif path == "/wait":
        event("waiting", uwsgi.worker_id())
        result = [uwsgi.signal_wait(int(q["n"])), uwsgi.signal_received()]
    elif path == "/native-raise":
        result = uwsgi.call(b"raise", q["n"].encode())
    elif path == "/bad":
        result = []
        tries = [("register 300", lambda: uwsgi.register_signal(300, "", on_33)),
                 ("target", lambda: uwsgi.register_signal(50, "nonsense", on_33)),
                 ("worker9", lambda: uwsgi.register_signal(51, "worker9", on_33)),
                 ("mules", lambda: uwsgi.register_signal(52, "mules", on_33)),
                 ("raise 256", lambda: uwsgi.signal(256)),
                 ("filemon", lambda: uwsgi.add_file_monitor(53, "/nonexistent/x/y"))]
        for name, call in tries:
            try:
                call()
                result.append((name, "no error"))
            except (ValueError, OverflowError) as e:
                result.append((name, type(e).__name__))
    else:
        result = "hello"
    return answer(start_response, q, result)
