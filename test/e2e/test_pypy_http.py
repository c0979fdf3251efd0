"""The pypy plugin over --http-socket with real HTTP clients: frameworks, big bodies, a request
mix under wsgiref.validate, concurrency, and the interactive shell on a pseudo-terminal."""
import hashlib
import http.client
import json
import os
import pty
import select
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import (BUILD, ROOT, UWSGI, free_port, read_until_closed, wait_for,
                      wait_for_port)

pytestmark = pytest.mark.needs_plugin("pypy")

DIST = "/usr/lib/python3/dist-packages"
FRAMEWORKS = os.path.join(ROOT, "examples", "frameworks")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def fetch(s, path, data=None, headers=None, method=None):
    req = urllib.request.Request(s.url(path), data=data, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, dict(r.headers), r.read()


def test_setup_without_request_handler_gets_complete_500s_on_keep_alive(server, tmp_path):
    """A --pypy-setup script that installs no request handler: the plugin cannot run a request
    at all, so it reports failure before any response byte and the core answers a complete 500
    (Content-Length, keep-alive intact), not a chunked response cut short."""
    with open(os.path.join(BUILD, "plugins", "pypy", "pypy_setup.py")) as f:
        source = f.read()
    setup = write(tmp_path, "no_handler_setup.py",
                  source + "\ndel state.hook_request  # this setup installs no handler\n")
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-setup", setup,
               "--pypy-wsgi-file", os.path.join(ROOT, "examples", "hello", "app.wsgi"))
    assert s.wait_log("set no request handler: requests get 500")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    try:
        for _ in range(3):  # one keep-alive connection throughout
            conn.request("GET", "/")
            r = conn.getresponse()
            body = r.read()  # raises IncompleteRead on a cut response
            assert r.status == 500
            assert body == b"Internal Server Error\n"
            assert r.getheader("Content-Length") == str(len(body))
            assert r.getheader("Transfer-Encoding") is None
            assert not r.will_close
    finally:
        conn.close()
    assert s.wait_log("no WSGI request handler (see the setup script)")


def test_flask_app(server):
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-pp", DIST, "--pypy-pp", FRAMEWORKS,
               "--pypy-wsgi", "flask_app:app")
    assert fetch(s, "/")[2] == b"Hello from Flask on PyPy"
    status, headers, body = fetch(s, "/json", data=b'{"a": [1, 2]}',
                                  headers={"Content-Type": "application/json"})
    assert json.loads(body) == {"received": {"a": [1, 2]}, "length": 13}
    assert json.loads(fetch(s, "/items/7?q=x")[2]) == {"id": 7, "q": "x"}
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(s, "/missing")
    assert e.value.code == 404


def test_django_app(server):
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-pp", DIST, "--pypy-pp", FRAMEWORKS,
               "--pypy-wsgi", "django_app")
    assert fetch(s, "/")[2] == b"Hello from Django on PyPy"
    body = fetch(s, "/echo?q=1", data=b"payload", method="POST",
                 headers={"Content-Type": "text/plain"})[2]
    assert json.loads(body) == {"method": "POST", "body": "payload", "query": "1"}


ECHO_APP = """
def application(environ, start_response):
    data = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(data)))])
    return [data]
"""


def test_binary_safe_echo_of_8_mib(server, tmp_path):
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-wsgi-file",
               write(tmp_path, "echo.wsgi", ECHO_APP))
    payload = os.urandom(8 << 20)
    status, _, body = fetch(s, "/", data=payload)
    assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(payload).digest()
    # and chunked: http.client sends an iterable body chunked
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    conn.request("POST", "/", body=iter([payload[:3 << 20], payload[3 << 20:]]),
                 encode_chunked=True)
    r = conn.getresponse()
    assert hashlib.sha256(r.read()).digest() == hashlib.sha256(payload).digest()


VALIDATED_APP = """
import os
from wsgiref.validate import validator

DATA = os.path.join(os.path.dirname(__file__), "data.bin")

def inner(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/post":
        body = b""
        while True:  # the validator insists on read(size); wsgi.input_terminated ends it
            piece = environ["wsgi.input"].read(4096)
            if not piece:
                break
            body += piece
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"got " + str(len(body)).encode() + b" " + body[:10]]
    if path == "/file":
        f = open(DATA, "rb")
        f.seek(10)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.path.getsize(DATA) - 10))])
        return environ["wsgi.file_wrapper"](f, 4096)
    if path == "/stream":
        def gen():
            for i in range(5):
                yield b"part%d;" % i
        start_response("200 OK", [("Content-Type", "text/plain")])
        return gen()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]

application = validator(inner)
"""


def test_wsgiref_validated_request_mix_over_http(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 64)
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-wsgi-file",
               write(tmp_path, "validated.wsgi", VALIDATED_APP))
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)

    def ask(method, path, body=None, chunked=False):
        conn.request(method, path, body=body, encode_chunked=chunked)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()

    for _ in range(2):  # on one keep-alive connection
        assert ask("GET", "/")[2] == b"hello"
        assert ask("POST", "/post", body=b"0123456789abcdef")[2] == b"got 16 0123456789"
        assert ask("POST", "/post", body=iter([b"chunk1", b"chunk2"]),
                   chunked=True)[2] == b"got 12 chunk1chun"
        assert ask("GET", "/file")[2] == (bytes(range(256)) * 64)[10:]
        assert ask("GET", "/stream")[2] == b"part0;part1;part2;part3;part4;"
        status, headers, body = ask("HEAD", "/")
        assert status == 200 and body == b"" and ("Content-Length", "5") in headers
    log = s.output()
    assert "AssertionError" not in log and "Traceback" not in log


def test_master_2_processes_8_threads_under_concurrent_load(server, tmp_path):
    app = write(tmp_path, "pid.wsgi", """
import os, threading, time
def application(environ, start_response):
    data = environ["wsgi.input"].read()
    time.sleep(0.002)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d|" % os.getpid() + data]
""")
    s = server("--http-socket", "127.0.0.1:{port}", "--master", "--processes", "2",
               "--threads", "8", "--pypy-wsgi-file", app)
    errors, pids = [], set()

    def client(n):
        for i in range(50):
            payload = b"%d-%d" % (n, i)
            # a connection per request, so both workers get to accept some
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            try:
                conn.request("POST", "/", body=payload, headers={"Connection": "close"})
                body = conn.getresponse().read()
                pid, _, echoed = body.partition(b"|")
                pids.add(pid)
                if echoed != payload:
                    errors.append(body)
            except Exception as e:
                errors.append(repr(e))
            finally:
                conn.close()

    def load_round():
        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return len(pids) == 2

    # both workers serve: a worker still starting on a loaded machine may miss a whole round,
    # so rounds go on (bounded) until each has answered, every answer checked
    assert load_round() or wait_for(load_round, timeout=60)
    assert errors == []


def test_interactive_shell_on_a_pseudo_terminal(tmp_path):
    """uwsgi --socket :PORT --pypy-eval "import code; code.interact()" --honour-stdin"""
    port = free_port()
    master, slave = pty.openpty()
    proc = subprocess.Popen([UWSGI, "--socket", "127.0.0.1:%d" % port, "--pypy-eval",
                             "import code; code.interact()", "--honour-stdin",
                             "--need-app=false"],
                            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT)
    os.close(slave)
    seen = b""

    def read_until(marker, timeout=30, start=0):
        nonlocal seen
        deadline = time.time() + timeout
        while marker not in seen[start:] and time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        return marker in seen[start:]

    try:
        assert read_until(b">>> "), seen
        os.write(master, b"import uwsgi; print('answer', 6 * 7, uwsgi.numproc)\n")
        assert read_until(b"answer 42 1"), seen
        assert read_until(b">>> ", start=seen.index(b"answer 42 1")), seen  # the next prompt
        os.write(master, b"\x04")  # Ctrl-D leaves the shell; the server then serves
        assert read_until(b"serving: 1 process(es)"), seen
        wait_for_port(port, proc, "/dev/null")
    finally:
        # keep draining the terminal: a full pty buffer would block the server's log writes
        stop = threading.Event()
        drain = threading.Thread(target=lambda: [read_until(b"\0never", 0.2)
                                                 for _ in iter(stop.is_set, True)])
        drain.start()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        finally:
            stop.set()
            drain.join()
            os.close(master)


READER_APP = '''
def application(environ, start_response):
    if environ["PATH_INFO"] == "/early-hints":
        start_response("103 Early Hints", [("Link", "</a.css>; rel=preload")])
        return [b"not a final answer"]
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d bytes" % len(body)]
'''


def raw_exchange(port, data, shut_write=False):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(data)
        if shut_write:
            c.shutdown(socket.SHUT_WR)
        return read_until_closed(c)


@pytest.mark.parametrize("body,status,refusal", [
    (b"5\r\nhello\r\nZZ\r\nxx\r\n0\r\n\r\n", 400, "malformed chunk"),
    (b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 413, "body larger than limit-post"),
], ids=["malformed-chunk", "over-limit-post"])
def test_a_refused_chunked_body_gets_its_status_not_a_500_with_a_traceback(server, tmp_path, body,
                                                                           status, refusal):
    """Issue 12: the app reading wsgi.input saw the refusal as an error; the client got 500 and
    the log a traceback. Now the client gets the protocol's 400/413 and the log no traceback."""
    app = write(tmp_path, "reader.py", READER_APP)
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-wsgi-file", app, "--limit-post", "10")
    data = raw_exchange(s.port, b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + body)
    assert data.startswith(b"HTTP/1.1 %d " % status), data[:200]
    assert s.wait_log(refusal)
    assert s.wait_log("request body of '/up' refused by the protocol")
    assert "Traceback" not in s.output()
    assert fetch(s, "/up", data=b"abc")[2] == b"read 3 bytes"  # the worker serves on


def test_a_client_gone_mid_upload_is_logged_as_a_disconnect(server, tmp_path):
    app = write(tmp_path, "reader.py", READER_APP)
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-wsgi-file", app)
    raw_exchange(s.port, b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
                 + b"x" * 1000, shut_write=True)
    assert s.wait_log("client disconnected while sending the request body of '/up'"), s.output()
    assert "Traceback" not in s.output()
    assert fetch(s, "/up", data=b"abc")[2] == b"read 3 bytes"


def test_a_final_1xx_status_from_the_app_is_refused_with_500(server, tmp_path):
    app = write(tmp_path, "reader.py", READER_APP)
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-wsgi-file", app)
    data = raw_exchange(s.port, b"GET /early-hints HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 500 "), data[:200]
    assert b"103" not in data and b"not a final answer" not in data
    assert s.wait_log("refused the app's final status '103 Early Hints'")


def test_a_trickled_body_is_cut_off_with_408_at_http_body_timeout(server, tmp_path):
    """Issue 12: a 1 byte/s upload held its request thread until it ended; now the body gets
    --http-body-timeout, like the head gets --socket-timeout."""
    app = write(tmp_path, "reader.py", READER_APP)
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-wsgi-file", app,
               "--http-body-timeout", "2", "--socket-timeout", "3")
    start = time.time()
    with socket.create_connection(("127.0.0.1", s.port), timeout=30) as c:
        c.sendall(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        data = b""
        for _ in range(30):  # one byte a second, as long as the server reads
            try:
                c.sendall(b"x")
                c.settimeout(1)
                data += c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if data:
                break
        c.settimeout(10)
        data += read_until_closed(c)
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]
    assert time.time() - start < 10
    assert s.wait_log("request body not complete within http-body-timeout")
    assert "Traceback" not in s.output()
    assert fetch(s, "/up", data=b"abc")[2] == b"read 3 bytes"
