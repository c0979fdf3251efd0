"""The cache benchmark's app (same code on PyPy and CPython): /run?op=OP&n=N runs N operations
in this request and answers "worker ops_per_second".

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


def run(op, n):
    if op == "get":
        uwsgi.cache_update("key", VALUE)
        get = uwsgi.cache_get
        t = time.perf_counter()
        for _ in range(n):
            get("key")
    elif op == "set":
        upd = uwsgi.cache_update
        t = time.perf_counter()
        for _ in range(n):
            upd("key", VALUE)
    elif op == "inc":
        inc = uwsgi.cache_inc
        t = time.perf_counter()
        for _ in range(n):
            inc("counter")
    elif op == "sqlite":
        c = db()
        t = time.perf_counter()
        for _ in range(n):
            c.execute("select v from kv where k = ?", ("key",)).fetchone()
    else:
        raise ValueError(op)
    return n / (time.perf_counter() - t)


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    rate = run(q.get("op", "get"), int(q.get("n", "100000")))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d %.0f" % (uwsgi.worker_id(), rate)).encode()]
