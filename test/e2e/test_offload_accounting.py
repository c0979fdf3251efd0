"""How a body went, as uWSGI reports it: the stats' per-core `offloaded_requests` and
`static_requests` (core/offload.c and core/static.c count them), and the marks of uWSGI's default
request log line (logging.c: " via sendfile() ", " via offload() ", a bare space otherwise), for
a --static-map file, a wsgi.file_wrapper body, a HEAD (no body: no mark) and an app's own body,
with and without --offload-threads. On ours (PyPy) and Debian's uWSGI (CPython), the same
assertions. Measured on Debian's uWSGI 2.0.21 first:
  GET /s/big.bin => generated 200000 bytes in 0 msecs via offload() (HTTP/1.1 200) ...
  HEAD /s/big.bin => generated 0 bytes in 0 msecs (HTTP/1.1 200) ...
"""
import json
import os
import re
import socket
import urllib.request

import pytest

from conftest import wait_for
from test_request_log import read_text

APP = '''
import os
HERE = os.path.dirname(os.path.abspath(__file__))

def application(environ, start_response):
    if environ["PATH_INFO"] == "/wrapped":
        name = os.path.join(HERE, "public", "big.bin")
        start_response("200 OK", [("Content-Length", str(os.path.getsize(name)))])
        return environ["wsgi.file_wrapper"](open(name, "rb"))
    start_response("200 OK", [("Content-Length", "2")])
    return [b"hi"]
'''

SIZE = 256 * 1024
# method, path, the mark without and with --offload-threads
CASES = [
    ("GET", "/s/big.bin", " via sendfile() ", " via offload() "),
    ("HEAD", "/s/big.bin", " ", " "),
    ("GET", "/wrapped", " via sendfile() ", " via offload() "),
    ("GET", "/app", " ", " "),
]
LINE = re.compile(r"\] (GET|HEAD) (\S+) => generated \d+ bytes in \d+ msecs"
                  r"( via \w+\(\) | )\(HTTP/1\.1 200\) ")


@pytest.fixture
def site(tmp_path):
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "big.bin").write_bytes(os.urandom(SIZE))
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def start(server, flavour, site, offload_threads):
    """One worker, one request thread (so one core holds every count), a stats socket, and
    uWSGI's default request line in req.log (a --req-logger without --log-format)."""
    return server("--http-socket", "127.0.0.1:{port}", "--master", "--processes", "1",
                  "--threads", "1", "--offload-threads", str(offload_threads),
                  "--static-map", "/s=%s" % (site / "public"),
                  "--stats", str(site / "stats.sock"), "--plugin", "logfile",
                  "--logger", "file:%s" % (site / "server.log"),
                  "--req-logger", "file:%s" % (site / "req.log"),
                  *flavour.app_args(str(site / "app.py")), binary=flavour.binary)


def fetch(s, method, path, headers=None):
    req = urllib.request.Request(s.url(path), method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def read_stats(path):
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(path)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return json.loads(data)


def core_counts(site, key):
    """KEY summed over the cores of every worker (one here); None until the stats answer
    (uWSGI opens its stats socket when its master loop starts)."""
    try:
        stats = read_stats(str(site / "stats.sock"))
    except OSError:
        return None
    return sum(c[key] for w in stats["workers"] for c in w["cores"])


@pytest.mark.parametrize("offload_threads", [0, 1], ids=["inline", "offload"])
def test_the_default_log_line_marks_how_each_body_went(server, flavour, site, offload_threads):
    s = start(server, flavour, site, offload_threads)
    for method, path, _, _ in CASES:
        status, body = fetch(s, method, path)
        assert status == 200
        assert len(body) == (0 if method == "HEAD" else SIZE if path != "/app" else 2)
    found = []

    def lines():
        found[:] = [m.groups() for m in map(LINE.search, read_text(site / "req.log").splitlines())
                    if m]
        return len(found) >= len(CASES)
    assert wait_for(lines), read_text(site / "req.log")[-3000:]
    assert found == [(method, path, offloaded if offload_threads else inline)
                     for method, path, inline, offloaded in CASES]


def test_stats_count_offloaded_and_static_requests(server, flavour, site):
    """uWSGI counts per core: an offloaded body (static file or file_wrapper) in
    offloaded_requests, a static file's answer (GET and HEAD, not a 304) in static_requests."""
    s = start(server, flavour, site, 1)
    assert wait_for(lambda: core_counts(site, "offloaded_requests") == 0)
    for method, path, _, _ in CASES:
        assert fetch(s, method, path)[0] == 200
    # a 304 is no static answer in uWSGI's count, and sends no body
    assert fetch(s, "GET", "/s/big.bin",
                 {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})[0] == 304
    # the counts are the request thread's, written before its next request is read
    assert wait_for(lambda: core_counts(site, "requests") == len(CASES) + 1)
    assert core_counts(site, "offloaded_requests") == 2  # the static file and the file_wrapper
    assert core_counts(site, "static_requests") == 2     # GET and HEAD of the static file


def test_no_offload_threads_counts_no_offloaded_request(server, flavour, site):
    s = start(server, flavour, site, 0)
    for method, path, _, _ in CASES:
        assert fetch(s, method, path)[0] == 200
    assert wait_for(lambda: core_counts(site, "requests") == len(CASES))
    assert core_counts(site, "offloaded_requests") == 0
    assert core_counts(site, "static_requests") == 2
