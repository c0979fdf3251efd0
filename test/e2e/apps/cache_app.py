"""WSGI app for test_cache.py: calls uwsgi.cache_* as the query asks and answers
repr((worker_id, result)). Runs unchanged on our PyPy plugin and on uWSGI's CPython plugin.

  /call?fn=cache_set&args=REPR        uwsgi.<fn>(*ast.literal_eval(REPR))
  /incr?n=N&key=K                     N x uwsgi.cache_inc(K) in this request
  /cachelib?cache=NAME                cachelib's UWSGICache: set/get/add/delete/has/clear
  /churn?secs=S                       writes the cache without pause for S seconds, after writing
                                      this worker's pid to $MODULE_TEST_DIR/churn.pid
"""
import ast
import os
import time
import urllib.parse

import uwsgi


def call(q):
    fn = getattr(uwsgi, q["fn"])
    args = ast.literal_eval(q.get("args", "()"))
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 (the test asserts the exception's type)
        return "%s: %s" % (type(e).__name__, e)


def incr(q):
    key = q.get("key", "counter")
    ok = 0
    for _ in range(int(q["n"])):
        if uwsgi.cache_inc(key, 1, 0, q.get("cache", "")):
            ok += 1
    return ok


def with_cachelib(q):
    import cachelib.uwsgi as cu
    # cachelib refuses PyPy by name ("uWSGI caching does not work under PyPy"): that guard
    # predates the cache plugin; bypass it here, the rest of cachelib is unchanged.
    real = cu.platform.python_implementation
    cu.platform.python_implementation = lambda: "CPython"
    try:
        c = cu.UWSGICache(default_timeout=0, cache=q.get("cache", ""))
    finally:
        cu.platform.python_implementation = real
    return [
        c.set("k", {"a": 1}),
        c.get("k"),
        c.add("k", "other"),
        c.get("k"),
        c.has("k"),
        c.delete("k"),
        c.has("k"),
        c.get("k"),
        c.add("k2", [1, 2]),
        c.get("k2"),
        c.clear(),
        c.get("k2"),
    ]


def churn(q):
    with open(os.path.join(os.environ["MODULE_TEST_DIR"], "churn.pid"), "w") as f:
        f.write(str(os.getpid()))
    end = time.time() + float(q["secs"])
    i = 0
    while time.time() < end:
        uwsgi.cache_update("churn", b"x" * (1 + i % 1000))
        uwsgi.cache_inc("churn-n")
        i += 1
    return i


def application(environ, start_response):
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if "hold" in q:
        time.sleep(float(q["hold"]))
    path = environ["PATH_INFO"]
    if path == "/call":
        result = call(q)
    elif path == "/incr":
        result = incr(q)
    elif path == "/cachelib":
        result = with_cachelib(q)
    elif path == "/churn":
        result = churn(q)
    else:
        result = "hello"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr((uwsgi.worker_id(), result)).encode()]
