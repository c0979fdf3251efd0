"""Helpers for the `uwsgi` module tests: start an app from test/e2e/apps on one flavour (our
server on PyPy, or Debian's uWSGI on CPython) with a master and 2 workers, ask it things over
HTTP, and read the events its hooks record."""
import ast
import http.client
import os
import threading
import time

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")


def start_app(server, flavour, tmp_path, app, *extra, workers=2, wait=True, env=None,
              master=True, **server_kw):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = ["--http-socket", "127.0.0.1:{port}", "--processes", str(workers)]
    args += ["--master"] if master else []
    args += flavour.app_args(os.path.join(APPS, app)) + list(extra)
    full_env = {k: None for k in os.environ if k.startswith("UWSGI_")}  # uWSGI reads them
    full_env.update(env or {})
    full_env["MODULE_TEST_DIR"] = str(out)
    s = server(*args, binary=flavour.binary, env=full_env, wait=wait, **server_kw)
    s.out_dir = str(out)
    return s


def get(s, path, timeout=30):
    """(worker_id, value) the app answered; the app answers repr((worker_id, value))."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 200, (path, resp.status, body, s.output()[-3000:])
    return ast.literal_eval(body.decode())


def from_each_worker(s, path, workers=2, rounds=20):
    """{worker_id: value}, asking with concurrent slow requests until every worker answered."""
    seen = {}
    sep = "&" if "?" in path else "?"
    for _ in range(rounds):
        results = []

        def ask():
            results.append(get(s, path + sep + "hold=0.3"))
        threads = [threading.Thread(target=ask) for _ in range(workers * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for wid, value in results:
            seen.setdefault(wid, value)
        if len(seen) == workers:
            return seen
    raise AssertionError("only workers %s answered %s" % (sorted(seen), path))


def events(s):
    try:
        with open(os.path.join(s.out_dir, "events")) as f:
            return [line.split() for line in f.read().splitlines()]
    except FileNotFoundError:
        return []


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
