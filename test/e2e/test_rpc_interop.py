"""RPC interop with Debian's upstream uWSGI (python3 + rpc plugins), both directions.

(a) the upstream app calls our server with uwsgi.rpc (triggered by an HTTP request to it);
(b) our client (call_remote, driven by rpcdemo's `call`) calls functions the upstream app
    registered with uwsgi.register_rpc.
"""
import os
import urllib.request

import pytest

from conftest import ROOT, UpstreamProcess, free_port, wait_for_port
from test_rpc_plugin import UWSGI_ERROR, demo, exchange, pattern, rpc_call, rpc_packet

UPSTREAM = "/usr/bin/uwsgi-core"
APP = os.path.join(ROOT, "examples", "rpc", "upstream_app.py")


def upstream_available():
    plugins = "/usr/lib/uwsgi/plugins"
    return (os.access(UPSTREAM, os.X_OK) and os.path.exists(plugins + "/python3_plugin.so")
            and os.path.exists(plugins + "/rpc_plugin.so"))


pytestmark = pytest.mark.skipif(not upstream_available(),
                                reason="Debian's uwsgi-core with the python3 and rpc plugins "
                                       "is not installed")


class Upstream(UpstreamProcess):
    def __init__(self, tmp_path):
        self.http_port = free_port()
        self.rpc_port = free_port()
        super().__init__(
            [UPSTREAM, "--plugins", "python3,rpc",
             "--http-socket", "127.0.0.1:%d" % self.http_port,
             "--socket", "127.0.0.1:%d" % self.rpc_port,
             "--wsgi-file", APP, "--need-app", "--socket-timeout", "5"],
            str(tmp_path / ("upstream-%d.log" % self.http_port)))
        wait_for_port(self.http_port, self.proc, self.log_path)
        wait_for_port(self.rpc_port, self.proc, self.log_path)

    def get(self, func, node, *args):
        url = "http://127.0.0.1:%d/%s?%s" % (self.http_port, func, "&".join((node,) + args))
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.read()


@pytest.fixture
def upstream(tmp_path):
    u = Upstream(tmp_path)
    yield u
    u.stop()


def test_upstream_python_calls_our_server(server, upstream):
    ours = demo(server)
    node = "127.0.0.1:%d" % ours.port
    assert upstream.get("hello", node, "x") == b"Hello from C++ x"
    assert upstream.get("reverse", node, "abc") == b"cba"
    assert upstream.get("args", node, "a", "b", "c") == b"3:a|b|c"


def test_upstream_reads_our_modifier2_5_answer(server, upstream):
    ours = demo(server)
    node = "127.0.0.1:%d" % ours.port
    assert upstream.get("big", node, "1048576") == pattern(1 << 20)


def test_upstream_sees_our_failures_as_failed_calls(server, upstream):
    ours = demo(server)
    node = "127.0.0.1:%d" % ours.port
    for func in ("nope", "fail", "empty"):
        assert upstream.get(func, node) == b"NONE"
    assert upstream.get("hello", node, "after") == b"Hello from C++ after"


def test_our_client_calls_upstream_python_functions(server, upstream):
    ours = demo(server)
    node = "127.0.0.1:%d" % upstream.rpc_port
    assert rpc_call(ours.port, "call", node, "uhello", "a", "b") == b"Hello from upstream a b"
    # upstream answers over 64 KiB with modifier2 5; our client reads it whole
    assert rpc_call(ours.port, "call", node, "ubig", "1048576") == b"z" * (1 << 20)
    assert rpc_call(ours.port, "call", node, "nope") == b"ERROR %d" % UWSGI_ERROR
    assert ours.wait_log("RPC call of 'nope' on %s failed" % node), ours.output()
    assert rpc_call(ours.port, "call", node, "uhello", "again") == b"Hello from upstream again"


def test_answers_are_framed_exactly_like_upstream(server, upstream):
    ours = demo(server)
    for size in (5, 65535, 65536, 1 << 20):
        theirs = exchange(upstream.rpc_port, rpc_packet("ubig", str(size)))
        mine = exchange(ours.port, rpc_packet("big", str(size)))
        assert len(theirs) == len(mine)
        head = len(theirs) - size
        assert theirs[:head] == mine[:head], size
    # modifier2 1: the raw result alone, in both
    assert exchange(upstream.rpc_port, rpc_packet("uhello", "r", modifier2=1)) == \
        b"Hello from upstream r"
    assert exchange(ours.port, rpc_packet("hello", "r", modifier2=1)) == b"Hello from C++ r"
