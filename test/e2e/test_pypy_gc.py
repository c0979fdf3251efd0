"""PyPy's GC inside the server: the parameters it runs with are logged at start-up; the nursery is
4 MB unless the user set PYPY_GC_NURSERY (the size the pypy3 binary picks from the CPU's cache,
1 MB on a 1 MB L2, cost a Django page twice the CPU: docs/PERFORMANCE.md), without leaving that
setting in the environment; a user's PYPY_GC_* / PYPYLOG settings are honoured, in the master
and in forked workers. Also that the setup script leaves cffi's C parser out of the
process (its live objects made every major collection slower; docs/PERFORMANCE.md).

No timings here: bench/embedded_vs_binary.py measures the speed.
"""
import json
import subprocess
import urllib.request

import pytest

pytestmark = pytest.mark.needs_plugin("pypy")

PYPY3 = "/usr/bin/pypy3"

APP = """
import gc, os, sys
def application(environ, start_response):
    body = {"nursery": gc.get_stats().nursery_size, "pid": os.getpid(),
            "env_nursery": os.environ.get("PYPY_GC_NURSERY"),
            "parser_modules": sorted(m for m in sys.modules if "pycparser" in m or m == "cffi.cparser")}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [__import__("json").dumps(body).encode()]
"""


def binary_nursery(env=None):
    """The nursery size /usr/bin/pypy3 itself picks, as gc.get_stats() prints it ("1.0MB")."""
    out = subprocess.run([PYPY3, "-c", "import gc; print(gc.get_stats().nursery_size)"],
                         capture_output=True, text=True, timeout=60, env=env, check=True)
    return out.stdout.strip()


def ask(srv):
    with urllib.request.urlopen(srv.url("/"), timeout=20) as r:
        return json.loads(r.read())


def start(server, tmp_path, env=None, extra=()):
    app = tmp_path / "gcapp.py"
    app.write_text(APP)
    return server("--http-socket", "127.0.0.1:{port}", "--wsgi-file", str(app), *extra, env=env)


def test_default_nursery_is_4m_logged_and_not_inherited(server, tmp_path):
    srv = start(server, tmp_path, env={"PYPY_GC_NURSERY": None, "PYPYLOG": None},
                extra=("--master", "--processes", "2"))
    assert srv.wait_log("GC incminimark: nursery 4.0MB (the server's default, as PYPY_GC_NURSERY=4M: "
                 "PyPy's size from the CPU's cache is small for web apps; set PYPY_GC_NURSERY "
                 "to choose)")
    assert srv.wait_log("environment: no PYPY_GC_*;")
    answer = ask(srv)
    assert answer["pid"] != srv.pid  # a forked worker, which inherits the master's GC
    assert answer["nursery"] == "4.0MB"
    # set only around PyPy's start: the app's environment (and its subprocesses') is the user's
    assert answer["env_nursery"] is None
    # The C parser cffi.FFI().cdef() imports is not alive in the process (pre-parsed tables).
    assert srv.wait_log("cffi pre-parsed at build time")
    assert answer["parser_modules"] == []


def test_user_nursery_honoured_in_master_and_workers(server, tmp_path):
    log_file = tmp_path / "pypylog.txt"
    env = {"PYPY_GC_NURSERY": "3M", "PYPYLOG": "gc-set-nursery-size:%s" % log_file}
    srv = start(server, tmp_path, env=env, extra=("--processes", "2", "--threads", "2"))
    assert srv.wait_log("GC incminimark: nursery 3.0MB (PYPY_GC_NURSERY=3M); "
                        "environment: PYPY_GC_NURSERY=3M;")
    assert srv.wait_log("PyPy debug log: PYPYLOG=gc-set-nursery-size:%s" % log_file)
    assert binary_nursery(env={"PYPY_GC_NURSERY": "3M", "PATH": "/usr/bin:/bin"}) == "3.0MB"
    pids = set()
    for _ in range(8):
        answer = ask(srv)
        assert answer["nursery"] == "3.0MB"
        pids.add(answer["pid"])
    assert srv.pid not in pids  # answered by forked workers, which inherit the master's GC
    # PYPYLOG goes to PyPy's own debug log, as under the pypy3 binary.
    assert "nursery size: %d" % (3 * 1024 * 1024) in log_file.read_text()
