"""RPC from Python on PyPy: uwsgi.register_rpc / rpc / call, across languages and servers.

The PyPy app (examples/rpc/pypy_app.py) registers pyhello/pyupper/pyfail; the native rpcdemo
plugin registers hello/reverse/... and can call anything (`local FUNC`, `call NODE FUNC`).
"""
import os
import urllib.request

import pytest

from conftest import ROOT
from test_rpc_interop import Upstream, upstream_available
from test_rpc_plugin import rpc_call

pytestmark = pytest.mark.needs_plugin("pypy")

APP = ["--pypy-pp", os.path.join(ROOT, "examples", "rpc"), "--pypy-wsgi", "pypy_app"]


def pypy_server(server, *extra):
    """HTTP on {port} for the app, and a uwsgi --socket for RPC on the next free port."""
    from conftest import free_port
    rpc_port = free_port()
    s = server("--plugin", "rpc,rpcdemo", "--http-socket", "127.0.0.1:{port}",
               "--socket", "127.0.0.1:%d" % rpc_port, "--threads", "4", *APP, *extra)
    s.rpc_port = rpc_port
    return s


def get(s, path):
    with urllib.request.urlopen(s.url(path), timeout=20) as r:
        return r.read()


def test_python_calls_python_and_native_locally(server):
    s = pypy_server(server)
    assert get(s, "/call/pyhello/a/b") == b"Hello from PyPy a b"
    assert get(s, "/call/pyupper/abc") == b"ABC"
    assert get(s, "/call/reverse/abc") == b"cba"  # native C++ function
    names = get(s, "/list").split(b",")
    assert {b"pyhello", b"pyupper", b"hello", b"reverse"} <= set(names)


def test_native_calls_python_locally_and_remote_clients_call_python(server):
    s = pypy_server(server)
    # rpcdemo's `local` calls through call_local: C++ calling a Python function
    assert rpc_call(s.rpc_port, "local", "pyhello", "x") == b"Hello from PyPy x"
    # a raw uWSGI RPC client calling the Python function over the wire
    assert rpc_call(s.rpc_port, "pyupper", "wire") == b"WIRE"


def test_remote_calls_between_two_servers(server):
    a = pypy_server(server)
    b = pypy_server(server)
    node = "127.0.0.1:%d" % b.rpc_port
    assert get(a, "/rpc/%s/pyhello/from-a" % node) == b"Hello from PyPy from-a"
    assert get(a, "/at/reverse@%s/xyz" % node) == b"zyx"
    # and native -> remote Python
    assert rpc_call(a.rpc_port, "call", node, "pyupper", "q") == b"Q"


def test_failures_return_none_and_are_logged(server):
    s = pypy_server(server)
    assert get(s, "/call/nosuch") == b"NONE"
    assert get(s, "/call/pyfail") == b"NONE"
    assert get(s, "/rpc/127.0.0.1:1/pyhello") == b"NONE"  # nothing listens on port 1
    assert s.wait_log("pyfail always fails"), s.output()  # the traceback
    assert s.wait_log("'nosuch' is not registered"), s.output()
    assert get(s, "/call/pyhello/still") == b"Hello from PyPy still"


def test_limits_raise_value_error_before_sending(server):
    s = pypy_server(server)
    lines = get(s, "/limits").decode().split("\n")
    assert lines[0] == "rpc calls take at most 254 arguments, got 255"
    assert lines[1] == "each rpc argument must be at most 65535 bytes"
    assert lines[2] == "an rpc request must fit in 65535 bytes"
    assert lines[3] == "rpc function name must be 1 to 255 bytes"


@pytest.mark.skipif(not upstream_available(), reason="Debian's uwsgi-core with python3 and rpc "
                                                     "plugins is not installed")
def test_interop_with_upstream_uwsgi_python(server, tmp_path):
    ours = pypy_server(server)
    up = Upstream(tmp_path)
    try:
        # a Debian uWSGI (CPython) app calls a function our PyPy app registered
        assert up.get("pyhello", "127.0.0.1:%d" % ours.rpc_port, "up") == b"Hello from PyPy up"
        # our PyPy app calls a function registered in the Debian uWSGI server
        node = "127.0.0.1:%d" % up.rpc_port
        assert get(ours, "/rpc/%s/uhello/py" % node) == b"Hello from upstream py"
        assert len(get(ours, "/rpc/%s/ubig/100000" % node)) == 100000  # modifier2 5 answer
    finally:
        up.stop()


def test_rpc_works_without_naming_the_rpc_plugin(server):
    """No --plugin rpc: the pypy plugin asks for the uwsgi.rpc/1 extension and the core
    activates the plugin whose descriptor provides it (ABI 1.1 `provides`)."""
    s = server("--http-socket", "127.0.0.1:{port}", "--master", "--processes", "2", *APP)
    assert s.wait_log("plugin rpc")
    assert "it provides uwsgi.rpc/1" in s.output()
    for _ in range(4):  # both workers have it: it was activated in the master before fork
        assert get(s, "/call/pyhello/a/b") == b"Hello from PyPy a b"
