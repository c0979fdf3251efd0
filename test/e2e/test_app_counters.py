"""uWSGI's per-app counters: each worker's requests and exceptions for each app, in
uwsgi.workers()[i]["apps"] and in the stats server's workers[].apps[] (keys id, modifier1,
mountpoint, startup_time, requests, exceptions, chdir). Runs on our PyPy server and on Debian's
uWSGI (CPython plugin)."""
import http.client

from conftest import free_port
from module_helpers import get, start_app, wait_for
from test_stats_server import read_stats

APP_KEYS = ["id", "modifier1", "mountpoint", "startup_time", "requests", "exceptions", "chdir"]


def status_of(s, path):
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except http.client.RemoteDisconnected:
        return 0
    finally:
        conn.close()


def test_requests_and_exceptions_per_app(server, flavour, tmp_path):
    stats = free_port()
    s = start_app(server, flavour, tmp_path, "app_counters_app.py",
                  "--stats", "127.0.0.1:%d" % stats)
    wait_for(lambda: _stats(stats), what="the stats server")
    for _ in range(5):
        assert status_of(s, "/") == 200
    for _ in range(2):
        # Debian's uWSGI closes the connection without an answer when the app raises before
        # start_response; ours answers 500
        assert status_of(s, "/boom") == (0 if flavour.upstream else 500)
    # from the master, with no request in flight: 7 requests, 2 of them exceptions, over the
    # two workers' entries for the one app
    doc = _stats(stats)
    apps = [w["apps"] for w in doc["workers"]]
    assert all(len(a) == 1 for a in apps), apps
    for a in apps:
        assert list(a[0]) == APP_KEYS, a  # uWSGI's keys in its order
        assert (a[0]["id"], a[0]["modifier1"], a[0]["mountpoint"], a[0]["chdir"]) == (0, 0, "", "")
        assert isinstance(a[0]["startup_time"], int)
    assert sum(a[0]["requests"] for a in apps) == 7, apps
    assert sum(a[0]["exceptions"] for a in apps) == 2, apps
    # from the app: the same counters, its own request counted as it runs (as uWSGI)
    _, workers = get(s, "/apps")
    assert [len(w) for w in workers] == [1, 1]
    assert sum(w[0]["requests"] for w in workers) == 8, workers
    assert sum(w[0]["exceptions"] for w in workers) == 2, workers
    assert all(w[0]["mountpoint"] == b"" and w[0]["modifier1"] == 0 for w in workers)


def _stats(port):
    try:
        return read_stats(port)
    except (OSError, ValueError):
        return None
