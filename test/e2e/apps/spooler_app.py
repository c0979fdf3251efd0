"""WSGI app for test_spooler.py: the uwsgi.spooler hook and every spooler function, recording
what each task saw in $MODULE_TEST_DIR/spooled (one repr'd tuple per line, appended with a single
write). The task's `kind` says how its handler ends. Runs unchanged on our PyPy plugin and on
uWSGI's CPython plugin."""
import os
import time
import urllib.parse

import uwsgi
from app_events import answer

OUT = os.environ["MODULE_TEST_DIR"]


def record(*fields):
    fd = os.open(os.path.join(OUT, "spooled"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (repr(fields) + "\n").encode())
    finally:
        os.close(fd)


def attempt(tag):
    """How many times the task `tag` ran, this run included."""
    path = os.path.join(OUT, "attempts-" + tag)
    n = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as f:
        f.write(str(n))
    return n


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def spooler(args):
    kind, tag = _text(args.get(b"kind", b"")), _text(args.get(b"tag", b""))
    body = args.get("body")
    record("run", kind, tag, os.getpid(), uwsgi.i_am_the_spooler(), os.getcwd(),
           args.get("spooler_task_name"), sorted(_text(k) for k in args),
           len(body) if body else 0, body[:16] if body else None)
    if kind == "slow":
        time.sleep(float(args[b"secs"]))
    elif kind == "retry" and attempt(tag) < 3:
        return uwsgi.SPOOL_RETRY
    elif kind == "raise" and attempt(tag) < 2:
        raise RuntimeError("task %s fails on its first run" % tag)
    elif kind == "ignore":
        return uwsgi.SPOOL_IGNORE
    elif kind == "get_task":
        # uWSGI's spooler_get_task takes a str path only
        record("get_task", tag, uwsgi.spooler_get_task(args["spooler_task_name"].decode()))
    return uwsgi.SPOOL_OK


uwsgi.spooler = spooler


def on_spooler_signal(num):
    record("signal", num, os.getpid(), uwsgi.i_am_the_spooler())


if os.environ.get("SPOOLER_SIGNAL"):
    uwsgi.register_signal(int(os.environ["SPOOLER_SIGNAL"]), "spooler", on_spooler_signal)


def _call(fn):
    try:
        return fn()
    except Exception as e:
        return ("error", type(e).__name__, str(e))


def spool_many(n, threads, tag):
    """Tasks spooled at the same moment (the writers share the directory's fsync): each with a
    body of its own size and byte; the names in order of (thread, i)."""
    import threading
    names = {}
    start = threading.Barrier(threads)

    def writer(t):
        start.wait()
        for i in range(n):
            body = bytes([65 + t]) * (1000 + 100 * t + i)
            names[(t, i)] = uwsgi.spool({b"kind": b"ok", b"tag": ("%s-%d-%d" % (tag, t, i)).encode(),
                                         b"body": body})

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return [names[(t, i)] for t in range(threads) for i in range(n)]


def application(env, start_response):
    q = dict(urllib.parse.parse_qsl(env["QUERY_STRING"]))
    path = env["PATH_INFO"]
    hold = {k: q.pop(k) for k in ("hold",) if k in q}
    if path == "/spool":  # every query parameter a bytes key and value
        args = {k.encode(): v.encode() for k, v in q.items()}
        if "body_size" in q:
            args[b"body"] = b"B" * int(q["body_size"])
        result = _call(lambda: uwsgi.spool(args))
    elif path == "/spool_many":  # n tasks from each of `threads` threads at once
        result = _call(lambda: spool_many(int(q["n"]), int(q["threads"]), q["tag"]))
    elif path == "/send_to_spooler":
        result = _call(lambda: uwsgi.send_to_spooler({k.encode(): v.encode() for k, v in q.items()}))
    elif path == "/spool_big_args":
        result = _call(lambda: uwsgi.spool({b"kind": b"ok", b"big": b"x" * 70000}))
    elif path == "/spool_nothing":
        result = _call(lambda: uwsgi.spool())
    elif path == "/info":  # uWSGI has uwsgi.spoolers only when it runs spoolers
        result = (uwsgi.spooler_pid(), uwsgi.spooler_pids(), uwsgi.i_am_the_spooler(),
                  getattr(uwsgi, "spoolers", None))
    elif path == "/jobs":
        result = sorted(uwsgi.spooler_jobs())
    elif path == "/freq":
        result = uwsgi.set_spooler_frequency(int(q["n"]))
    elif path == "/get_task":
        result = uwsgi.spooler_get_task(q["path"])
    elif path == "/signal":
        result = uwsgi.signal(int(q["n"]))
    else:
        result = None
    return answer(start_response, hold, result)
