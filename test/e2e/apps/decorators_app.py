"""WSGI app for test_uwsgi_decorators.py and test_uwsgi_locks.py: uses Debian's
uwsgidecorators unmodified and uwsgi.lock(), recording what fires in $MODULE_TEST_DIR/events.
Runs unchanged on our PyPy plugin and on uWSGI's CPython plugin."""
import os
import signal
import threading
import time
import urllib.parse

import uwsgi
import uwsgidecorators
from app_events import answer, event

COUNTER = os.path.join(os.environ["MODULE_TEST_DIR"], "counter")


@uwsgidecorators.postfork
def announce():
    event("postfork", uwsgi.worker_id(), os.getpid())


@uwsgidecorators.rpc("deco_hello")
def deco_hello(*args):
    return b"hello " + b",".join(args)


@uwsgidecorators.thread
def in_a_thread(tag):
    event("thread", tag, int(threading.current_thread() is not threading.main_thread()))


@uwsgidecorators.harakiri(1)
def too_slow():
    event("harakiri-start", uwsgi.worker_id(), os.getpid())
    time.sleep(60)  # far past harakiri(1): a loaded machine still kills it long before


def increment():
    """A read-modify-write that loses updates unless a lock serialises it."""
    try:
        with open(COUNTER) as f:
            value = int(f.read() or 0)
    except FileNotFoundError:
        value = 0
    time.sleep(0.001)
    with open(COUNTER + ".tmp", "w") as f:
        f.write(str(value + 1))
    os.rename(COUNTER + ".tmp", COUNTER)


@uwsgidecorators.lock
def locked_increment():
    increment()


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/rpc":
        result = uwsgi.call(b"deco_hello", b"a", b"b")  # uWSGI takes bytes only
    elif path == "/thread":
        in_a_thread(q["tag"])
        result = "started"
    elif path == "/harakiri":
        too_slow()
        result = "survived"
    elif path == "/incr":
        for _ in range(int(q["n"])):
            uwsgi.lock()
            try:
                increment()
            finally:
                uwsgi.unlock()
        event("incremented", uwsgi.worker_id(), q["n"])
        result = "ok"
    elif path == "/incr-deco":
        for _ in range(int(q["n"])):
            locked_increment()
        event("incremented", uwsgi.worker_id(), q["n"])
        result = "ok"
    elif path == "/lock-and-die":
        uwsgi.lock(int(q.get("id", 0)))
        event("dying-with-lock", uwsgi.worker_id(), os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)
        result = "unreachable"
    elif path == "/is-locked":
        uwsgi.lock(1)
        held = uwsgi.is_locked(1)
        uwsgi.unlock(1)
        result = [held, uwsgi.is_locked(1), uwsgi.is_locked()]
    elif path == "/bad-lock":
        result = []
        for call in (uwsgi.lock, uwsgi.unlock, uwsgi.is_locked):
            try:
                call(int(q["id"]))
                result.append("no error")
            except ValueError as e:
                result.append("ValueError: %s" % e)
    else:
        result = "hello"
    return answer(start_response, q, result)
