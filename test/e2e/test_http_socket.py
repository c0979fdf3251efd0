"""--http-socket end to end: the http plugin in the real binary, driven by curl, http.client and
raw sockets, with the example plugin as the app ("Hello World", /vars, /echo)."""
import http.client
import socket
import subprocess

import pytest

from conftest import read_until_closed


@pytest.fixture
def http_server(server):
    """Factory: an example app behind --http-socket on a free port; extra args appended."""

    def start(*extra):
        return server("--http-socket", "127.0.0.1:{port}", "--plugin", "example", *extra)

    return start


def connect(srv, timeout=5):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


class Response:
    def __init__(self, status_line, headers, body):
        self.status_line = status_line
        self.status = int(status_line.split()[1])
        self.headers = headers  # lower-case name -> value
        self.body = body

    def vars(self):
        out = {}
        for line in self.body.decode("latin-1").splitlines():
            k, _, v = line.partition("=")
            out[k] = v
        return out


def read_response(f, head_request=False):
    """Reads one response from a socket file; None at EOF before any byte."""
    status_line = f.readline()
    if not status_line:
        return None
    status_line = status_line.decode("latin-1").rstrip("\r\n")
    headers = {}
    while True:
        line = f.readline().decode("latin-1")
        assert line.endswith("\r\n"), "truncated head: %r" % line
        if line == "\r\n":
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(status_line.split()[1])
    if head_request or status in (100, 204, 304):
        body = b""
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            assert f.read(2) == b"\r\n"
    else:
        body = f.read()
    return Response(status_line, headers, body)


def exchange(srv, data, count=1, head_request=False):
    """Sends raw bytes and reads `count` responses, then checks for EOF when asked."""
    with connect(srv) as s:
        s.sendall(data)
        f = s.makefile("rb")
        return [read_response(f, head_request) for _ in range(count)]


def is_closed(sock):
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def get_vars(srv, target):
    [r] = exchange(srv, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert r.status == 200, r.body
    return r.vars()


# ---------------------------------------------------------------------------------------------


def test_curl_hello_and_vars(http_server):
    srv = http_server()
    out = subprocess.run(["curl", "-s", "-i", srv.url("/")], capture_output=True, timeout=30)
    assert out.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.stdout.endswith(b"\r\n\r\nHello World")

    out = subprocess.run(["curl", "-s", srv.url("/vars?a=1&b=2"), "-H", "X-Thing: one",
                          "-H", "X-Thing: two"], capture_output=True, timeout=30)
    v = Response("HTTP/1.1 200", {}, out.stdout).vars()
    assert v["REQUEST_METHOD"] == "GET"
    assert v["REQUEST_URI"] == "/vars?a=1&b=2"
    assert v["PATH_INFO"] == "/vars"
    assert v["QUERY_STRING"] == "a=1&b=2"
    assert v["SCRIPT_NAME"] == ""
    assert v["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert v["SERVER_NAME"] == "127.0.0.1"
    assert v["SERVER_PORT"] == str(srv.port)
    assert v["REMOTE_ADDR"] == "127.0.0.1"
    assert int(v["REMOTE_PORT"]) > 0
    assert v["HTTP_HOST"] == "127.0.0.1:%d" % srv.port
    assert v["HTTP_X_THING"] == "one, two"
    assert "CONTENT_LENGTH" not in v


def test_query_string_always_present_and_content_vars(http_server):
    srv = http_server()
    v = get_vars(srv, b"/vars")
    assert v["QUERY_STRING"] == ""
    [r] = exchange(srv, b"POST /vars HTTP/1.1\r\nContent-Type: text/x\r\nContent-Length: 3\r\n"
                        b"Connection: close\r\n\r\nabc")
    v = r.vars()
    assert v["CONTENT_LENGTH"] == "3"
    assert v["CONTENT_TYPE"] == "text/x"
    assert "HTTP_CONTENT_LENGTH" not in v and "HTTP_CONTENT_TYPE" not in v


def test_keep_alive_reuses_the_connection(http_server):
    srv = http_server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    ports = set()
    for i in range(5):
        conn.request("GET", "/vars?%d" % i)
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200
        v = Response("HTTP/1.1 200", {}, body).vars()
        assert v["QUERY_STRING"] == str(i)
        ports.add(v["REMOTE_PORT"])
    assert len(ports) == 1  # one TCP connection served all five
    conn.close()


def test_client_connection_close_is_honoured(http_server):
    srv = http_server()
    with connect(srv) as s:
        s.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        r = read_response(s.makefile("rb"))
        assert r.headers["connection"] == "close"
        assert is_closed(s)


def test_http10_keep_alive_only_when_asked(http_server):
    srv = http_server()
    with connect(srv) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        r = read_response(s.makefile("rb"))
        assert r.status_line.startswith("HTTP/1.0 200")
        assert r.headers["connection"] == "close"
        assert is_closed(s)
    with connect(srv) as s:
        f = s.makefile("rb")
        for _ in range(2):
            s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = read_response(f)
            assert r.headers["connection"] == "keep-alive"
            assert r.body == b"Hello World"


def test_pipelined_requests_answered_in_order(http_server):
    srv = http_server()
    data = (b"GET /vars?first HTTP/1.1\r\nHost: t\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
            b"GET /vars?third HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    with connect(srv) as s:
        s.sendall(data)
        f = s.makefile("rb")
        r1, r2, r3 = read_response(f), read_response(f), read_response(f)
        assert r1.vars()["QUERY_STRING"] == "first"
        assert r2.body == b"second"
        assert r3.vars()["QUERY_STRING"] == "third"
        assert is_closed(s)


def test_unread_body_is_drained_before_the_next_request(http_server):
    srv = http_server()
    # "/" never reads the body; the next request on the connection must still parse
    data = (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nxxxxx"
            b"GET /vars?after HTTP/1.1\r\nConnection: close\r\n\r\n")
    r1, r2 = exchange(srv, data, count=2)
    assert r1.body == b"Hello World"
    assert r2.vars()["QUERY_STRING"] == "after"


def test_chunked_upload_http_client(http_server):
    srv = http_server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    parts = [b"alpha-", b"beta-" * 1000, b"gamma"]
    conn.request("POST", "/echo", body=iter(parts), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"  # no length known: chunked answer
    assert r.read() == b"".join(parts)
    # and the connection is still good
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World"
    conn.close()


def test_chunked_upload_curl(http_server):
    srv = http_server()
    out = subprocess.run(["curl", "-s", "-H", "Transfer-Encoding: chunked", "--data-binary",
                          "@-", srv.url("/echo")], input=b"x" * 100000, capture_output=True,
                         timeout=30)
    assert out.stdout == b"x" * 100000


def test_large_body_content_length(http_server):
    srv = http_server()
    body = bytes(range(256)) * 4096  # 1 MiB
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("POST", "/echo", body=body)
    r = conn.getresponse()
    assert r.getheader("Content-Length") == str(len(body))
    assert r.read() == body


def test_expect_100_continue(http_server):
    srv = http_server()
    with connect(srv) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        f = s.makefile("rb")
        assert f.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert f.readline() == b"\r\n"
        s.sendall(b"ping")
        r = read_response(f)
        assert r.status == 200 and r.body == b"ping"


def test_expect_100_continue_curl(http_server):
    srv = http_server()
    out = subprocess.run(["curl", "-s", "-v", "-H", "Expect: 100-continue", "--data-binary",
                          "payload", srv.url("/echo")], capture_output=True, timeout=30)
    assert b"HTTP/1.1 100 Continue" in out.stderr
    assert out.stdout == b"payload"


def test_head_has_framing_headers_but_no_body(http_server):
    srv = http_server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("HEAD", "/")
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Length") == "11"
    assert r.read() == b""
    conn.request("GET", "/")  # nothing stray left on the connection
    assert conn.getresponse().read() == b"Hello World"
    conn.close()
    # raw: exactly the head, then the next response right behind it
    with connect(srv) as s:
        s.sendall(b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        f = s.makefile("rb")
        r1 = read_response(f, head_request=True)
        assert r1.headers["content-length"] == "11"
        r2 = read_response(f)
        assert r2.body == b"Hello World"


def test_add_header_on_every_response(http_server):
    srv = http_server("--add-header", "X-Served-By: uwsgi-test", "--add-header", "X-Two: 2")
    [r] = exchange(srv, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert r.headers["x-served-by"] == "uwsgi-test"
    assert r.headers["x-two"] == "2"
    [r] = exchange(srv, b"BROKEN\r\n\r\n")  # refusals too
    assert r.status == 400
    assert r.headers["x-served-by"] == "uwsgi-test"


def test_modifier1_routes_requests(http_server):
    # no plugin handles modifier1 99: the core answers 501, proving the modifier was applied
    srv = http_server("--http-socket-modifier1", "99")
    [r] = exchange(srv, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert r.status == 501


@pytest.mark.parametrize("request_bytes,status", [
    (b"THIS IS NOT HTTP\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET /%00 HTTP/1.1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 100, 413),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    # issue 12: each was acted on (or answered 505) before
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\nhello", 400),
    (b"GET /vars HTTP/1.1\r\nHost:\r\n evil.example\r\n\r\n", 400),
    (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
     b"0\r\n\r\nGET /vars HTTP/1.0\r\n\r\n", 400),
    (b"GET http://u:p@host/vars HTTP/1.1\r\nHost: host\r\n\r\n", 400),
    (b"GET /vars HTTP/1.1\nHost: a\n\nGET /vars HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n"
     b"Content-Length: 0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    (b"GET /vars HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
], ids=["garbage", "bad-header", "nul-path", "limit-post", "buffer-size", "gzip-te", "http2",
        "fold-te", "fold-cl", "fold-host", "http10-chunked", "userinfo", "bare-lf-pipelined",
        "two-content-types", "two-content-lengths", "two-hosts"])
def test_bad_input_gets_an_http_answer(http_server, request_bytes, status):
    srv = http_server("--limit-post", "50")
    with connect(srv) as s:
        s.sendall(request_bytes)
        r = read_response(s.makefile("rb"))
        assert r.status == status
        assert r.headers["connection"] == "close"
        assert is_closed(s)
    assert srv.wait_log("refused a request from 127.0.0.1:")
    assert srv.output().count("refused a request") == 1
    # the worker serves on
    assert get_vars(srv, b"/vars")["PATH_INFO"] == "/vars"


def test_chunked_body_over_limit_post(http_server):
    srv = http_server("--limit-post", "10")
    body = b"6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"
    with connect(srv) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        data = read_until_closed(s)
    # the echo app streamed its answer before the limit hit: the answer is cut short, and must
    # not end with a last-chunk that would make it look complete
    assert data.startswith(b"HTTP/1.1 200")
    assert b"ghijkl" not in data
    assert not data.endswith(b"0\r\n\r\n")
    assert srv.wait_log("413 Content Too Large (body larger than limit-post)")
    assert get_vars(srv, b"/vars")["PATH_INFO"] == "/vars"


# The example app dumps the vars only when PATH_INFO is exactly "/vars" (else "Hello World"), so
# each target below is built to normalise to "/vars" -- or, for the last rows, to something else.
# The exact PATH_INFO table lives in plugins/http/tests/test_path.cpp.
@pytest.mark.parametrize("target,is_vars", [
    (b"/./vars", True),                # /a/./b
    (b"/x/../vars", True),             # /a/../b
    (b"/../../vars", True),            # /../../x never climbs above /
    (b"/%2e%2e/%2E%2E/vars", True),    # %2e%2e is a dot segment after decoding
    (b"/x/%2e%2e/vars", True),
    (b"/x%2f..%2fvars", True),         # an encoded slash cannot hide a ..
    (b"/v%61rs", True),                # percent-decoded
    (b"/a%20b/../vars", True),         # /a%20b decodes to "/a b"
    (b"//vars", False),                # //x is kept as uWSGI does, not collapsed
    (b"/vars/.", False),               # -> "/vars/"
    (b"/vars%20", False),              # -> "/vars "
])
def test_path_info_normalisation(http_server, target, is_vars):
    srv = http_server()
    [r] = exchange(srv, b"GET " + target + b"?q HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert r.status == 200
    if is_vars:
        v = r.vars()
        assert v["PATH_INFO"] == "/vars"
        assert v["REQUEST_URI"] == target.decode() + "?q"  # raw, as received
        assert v["QUERY_STRING"] == "q"
    else:
        assert r.body == b"Hello World"


def test_fragment_reaches_neither_path_info_nor_query_string(http_server):
    """As nginx strips it from $uri and $args (issue 12: it ended up in QUERY_STRING)."""
    srv = http_server()
    v = get_vars(srv, b"/vars?x=1#frag")
    assert v["PATH_INFO"] == "/vars" and v["QUERY_STRING"] == "x=1"
    v = get_vars(srv, b"/vars#frag?y=2")
    assert v["PATH_INFO"] == "/vars" and v["QUERY_STRING"] == ""
