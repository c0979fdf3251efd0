"""WSGI app for test_uwsgi_module.py: shows the test what the `uwsgi` module looks like in a
worker, and records the hooks it sees in $MODULE_TEST_DIR/events (one line per event, appended
by every process). Runs unchanged on our PyPy plugin and on uWSGI's CPython plugin."""
import os
import time
import urllib.parse

import uwsgi
from app_events import answer, event


def post_fork():
    event("post_fork", uwsgi.worker_id(), os.getpid())


def after_request():
    event("after_req", uwsgi.worker_id(), os.getpid())


uwsgi.post_fork_hook = post_fork
uwsgi.after_req_hook = after_request


# New Relic's pattern: keep whatever atexit was there and call it from its own.
def _chain_atexit(name):
    previous = getattr(uwsgi, "atexit", None)

    def hook():
        event("atexit", name, os.getpid())
        if previous is not None:
            previous()
    uwsgi.atexit = hook


_chain_atexit("first")
_chain_atexit("second")

FACTS = ("opt", "numproc", "cores", "has_threads", "buffer_size", "started_on", "version",
         "version_info", "hostname", "is_a_reload", "loop", "magic_table", "SPOOL_OK",
         "SPOOL_RETRY", "SPOOL_IGNORE")


def facts():
    return {name: getattr(uwsgi, name) for name in FACTS}


def calls():
    return {
        "worker_id": uwsgi.worker_id(), "masterpid": uwsgi.masterpid(),
        "mule_id": uwsgi.mule_id(), "workers": uwsgi.workers(),
        "total_requests": uwsgi.total_requests(), "request_id": uwsgi.request_id(),
        "mem": uwsgi.mem(), "micros": uwsgi.micros(), "connection_fd": uwsgi.connection_fd(),
        "pid": os.getpid(), "accepting": uwsgi.accepting(), "accepting0": uwsgi.accepting(0),
        "accepting1": uwsgi.accepting(True), "rpc_list": uwsgi.rpc_list(),
    }


def logvars():
    out = [uwsgi.set_logvar("answer", "42"), uwsgi.get_logvar("answer"),
           uwsgi.get_logvar(b"answer")]
    uwsgi.set_logvar(b"answer", b"43")
    out += [uwsgi.get_logvar("answer"), uwsgi.get_logvar("missing")]
    return out


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/facts":
        result = facts()
    elif path == "/calls":
        result = calls()
    elif path == "/logvars":
        result = logvars()
    elif path == "/log":
        result = [uwsgi.log(q["msg"])]
        if q.get("bytes"):  # uWSGI's log() takes str only; ours takes bytes too
            result.append(uwsgi.log(q["msg"].encode() + b" (bytes)"))
    elif path == "/log-this":
        result = uwsgi.log_this_request()
    elif path == "/procname":
        result = [uwsgi.setprocname(q["name"])]
        if q.get("bytes"):  # uWSGI's setprocname() takes str only; ours takes bytes too
            result.append(uwsgi.setprocname(q["name"].encode()))
    elif path == "/harakiri":
        uwsgi.set_user_harakiri(1)
        event("harakiri-start", uwsgi.worker_id(), os.getpid())
        time.sleep(8)
        result = "survived"
    elif path == "/reload":
        result = uwsgi.reload()
    elif path == "/stop":
        result = uwsgi.stop()
    else:
        result = "hello"
    return answer(start_response, q, result)
