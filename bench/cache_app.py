"""The cache benchmark's app (same code on PyPy and CPython): /run?op=OP&secs=S runs operations
for S seconds (batches of 1000) in this request and answers "worker ops_per_second". A fixed
duration, not a count, so the runs of 2 workers asked at once overlap.

  get      uwsgi.cache_get of one present key (a hit)
  set      uwsgi.cache_update of one key (a 100-byte value)
  inc      uwsgi.cache_inc of one key
  sqlite   the same key looked up in an app-side SQLite table (the alternative to a cache hit)
"""
import os
import sqlite3
import tempfile
import time
import urllib.parse

import uwsgi

VALUE = b"v" * 100
_db = None


def db():
    global _db
    if _db is None:
        path = os.path.join(tempfile.gettempdir(), "cache-bench-%d.sqlite" % os.getpid())
        _db = sqlite3.connect(path, check_same_thread=False)
        _db.execute("create table if not exists kv (k text primary key, v blob)")
        _db.execute("insert or replace into kv values (?, ?)", ("key", VALUE))
        _db.commit()
    return _db


def batch(op):
    """1000 operations of `op`."""
    if op == "get":
        get = uwsgi.cache_get
        for _ in range(1000):
            get("key")
    elif op == "set":
        upd = uwsgi.cache_update
        for _ in range(1000):
            upd("key", VALUE)
    elif op == "inc":
        inc = uwsgi.cache_inc
        for _ in range(1000):
            inc("counter")
    elif op == "sqlite":
        c = db()
        for _ in range(1000):
            c.execute("select v from kv where k = ?", ("key",)).fetchone()
    else:
        raise ValueError(op)


def run(op, secs):
    uwsgi.cache_update("key", VALUE)
    done, t = 0, time.perf_counter()
    end = t + secs
    while True:
        batch(op)
        done += 1000
        now = time.perf_counter()
        if now >= end:
            return done / (now - t)


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    rate = run(q.get("op", "get"), float(q.get("secs", "1")))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d %.0f" % (uwsgi.worker_id(), rate)).encode()]
