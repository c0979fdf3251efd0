"""WSGI app for test_spooler.py: Debian's uwsgidecorators (unmodified) @spool (a dict, or
pickled arguments with pass_arguments=True; done after one run), @spoolforever (run again at
every scan) and @spoolraw (the function's return value decides), recording each run in
$MODULE_TEST_DIR/spooled."""
import os
import urllib.parse

import uwsgi
import uwsgidecorators
from app_events import answer


def record(*fields):
    fd = os.open(os.path.join(os.environ["MODULE_TEST_DIR"], "spooled"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (repr(fields) + "\n").encode())
    os.close(fd)


@uwsgidecorators.spool
def simple(args):
    record("spool", sorted(args), args["tag"], uwsgi.i_am_the_spooler())


@uwsgidecorators.spool(pass_arguments=True)
def pickled(number, items, flag=None):
    record("spool_pickled", number, items, flag)


@uwsgidecorators.spoolforever
def forever(args):
    record("spoolforever", args["tag"])


@uwsgidecorators.spoolraw
def raw(args):
    record("spoolraw", sorted(args), args["tag"])
    return uwsgi.SPOOL_OK


def application(env, start_response):
    q = dict(urllib.parse.parse_qsl(env["QUERY_STRING"]))
    path = env["PATH_INFO"]
    if path == "/spool":
        result = simple({"tag": q.get("tag", "s")})
    elif path == "/pickled":
        result = pickled(7, [1, "two", (3,)], flag={"k": b"v"})
    elif path == "/forever":
        result = forever({"tag": q.get("tag", "f")})
    elif path == "/raw":
        result = raw(tag="r1", other="o")
    else:
        result = None
    return answer(start_response, {}, result)
