"""WSGI app for test_app_counters.py: /boom raises (an exception uWSGI counts for the app),
/apps answers uwsgi.workers()'s apps of every worker, anything else says hello."""
import uwsgi
from app_events import answer


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom, on purpose")
    if path == "/apps":
        result = [[{k: a[k] for k in ("id", "modifier1", "mountpoint", "startup_time",
                                       "requests", "exceptions", "chdir")} for a in w["apps"]]
                  for w in uwsgi.workers()]
    else:
        result = "hello"
    return answer(start_response, {}, result)
