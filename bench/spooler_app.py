"""App for bench/spooler_bench.py: GET /spool spools one small task (uwsgi.spool, bytes as
uWSGI's CPython plugin wants them); the spooler's handler does a little work and returns
SPOOL_OK, so the task file goes. The same file runs on our PyPy server and on uWSGI+CPython."""
import uwsgi


def spooler(args):
    # a token of work: the task is read, its arguments looked at
    return uwsgi.SPOOL_OK if len(args[b"payload"]) == 64 else uwsgi.SPOOL_RETRY


uwsgi.spooler = spooler


def application(env, start_response):
    name = uwsgi.spool({b"payload": b"p" * 64, b"n": env["QUERY_STRING"].encode()})
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(name)))])
    return [name]
