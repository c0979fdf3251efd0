"""--https-socket ADDR,CERT,KEY[,CIPHERS,CA]: the http plugin over OpenSSL, on ours (PyPy) and on
Debian's uWSGI (CPython), with curl and Python's ssl/http.client against a certificate made here
with openssl. Bad certificates stop the start-up; bad clients are closed and the server serves on."""
import http.client
import json
import os
import socket
import ssl
import subprocess

import pytest

from conftest import ROOT, run_uwsgi
from tls_helpers import client_context, make_certificate, send_bad_tls_clients

APP = os.path.join(ROOT, "test", "e2e", "apps", "tls_app.py")


@pytest.fixture
def https_server(server, flavour, cert):
    """Factory: tls_app.py behind --https-socket on a free port, 1 process 1 thread unless
    extra args say otherwise."""

    def start(*extra):
        crt, key = cert
        return server("--https-socket", "127.0.0.1:{port},%s,%s" % (crt, key),
                      *flavour.app_args(APP), *extra, binary=flavour.binary)

    return start


def get_json(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    assert r.status == 200
    return json.loads(r.read())


def tls_connection(srv, cert):
    return http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=20,
                                       context=client_context(cert[0]))


def no_keepalive_upstream(flavour):
    if flavour.upstream:
        # uWSGI's --https-socket answers one request per connection (its only keep-alive HTTP
        # socket is the plain --http11-socket); ours keeps TLS connections alive like HTTP ones.
        pytest.skip("uWSGI's --https-socket closes every connection after one response")


def test_requests_over_tls_see_https(https_server, cert, tmp_path):
    srv = https_server()
    facts = get_json(tls_connection(srv, cert), "/env?a=1")
    assert facts["HTTPS"] == "on"
    assert facts["url_scheme"] == "https"
    assert facts["QUERY_STRING"] == "a=1"
    body = os.urandom(200 * 1024)  # several TLS records each way
    conn = tls_connection(srv, cert)
    conn.request("POST", "/echo", body=body)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == body
    conn = tls_connection(srv, cert)
    conn.request("GET", "/big?1000000")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"x" * 1000000
    # wsgi.file_wrapper: the file is encrypted in pieces (no sendfile(2) through TLS)
    data = os.urandom(300 * 1024 + 7)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    conn = tls_connection(srv, cert)
    conn.request("GET", "/file?" + str(path))
    r = conn.getresponse()
    assert r.status == 200 and r.read() == data


def test_keepalive_over_tls_with_http_client(https_server, cert, flavour, tmp_path):
    no_keepalive_upstream(flavour)
    srv = https_server()
    conn = tls_connection(srv, cert)
    first = get_json(conn, "/env")
    sock = conn.sock
    body = os.urandom(200 * 1024)
    conn.request("POST", "/echo", body=body)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == body
    data = os.urandom(100 * 1024 + 3)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    conn.request("GET", "/file?" + str(path))
    r = conn.getresponse()
    assert r.status == 200 and r.read() == data
    second = get_json(conn, "/env")
    # one TCP connection, one TLS session for all four requests
    assert conn.sock is sock
    assert second["REMOTE_PORT"] == first["REMOTE_PORT"]
    conn.close()


def test_curl_over_tls(https_server, cert, flavour):
    srv = https_server()
    url = "https://127.0.0.1:%d" % srv.port
    out = subprocess.run(["curl", "-sS", "-v", "--cacert", cert[0], url + "/env?n=1",
                          url + "/env?n=2"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().count('"url_scheme": "https"') == 2
    if not flavour.upstream:  # see no_keepalive_upstream
        assert "Re-using existing connection" in out.stderr.decode()
    # a client that does not trust the certificate refuses it
    bad = subprocess.run(["curl", "-sS", url + "/env"], capture_output=True, timeout=60)
    assert bad.returncode == 60, bad.stderr  # curl: peer certificate cannot be authenticated


def test_plain_http_and_garbage_on_the_tls_port_are_closed(https_server, cert, flavour):
    srv = https_server()
    clean = send_bad_tls_clients(srv.port, cert[0])
    # uWSGI closes with the client's bytes unread, so the client gets a reset; ours drops them
    # first and ends with a FIN
    assert clean or flavour.upstream
    if not flavour.upstream:
        assert srv.wait_log("TLS handshake with 127.0.0.1:", count=2)
    # the one worker thread serves on
    assert get_json(tls_connection(srv, cert), "/env")["url_scheme"] == "https"
    assert srv.proc.poll() is None


def test_client_without_the_servers_trust_fails_and_server_serves_on(https_server, cert, tmp_path):
    srv = https_server()
    other, _ = make_certificate(tmp_path, name="other")
    ctx = client_context(other)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(s, server_hostname="127.0.0.1")
    assert get_json(tls_connection(srv, cert), "/env")["HTTPS"] == "on"


# Start-up errors: ours only (Debian's uWSGI logs them and keeps running without the socket, or
# dies after binding, depending on the case; we stop before binding with the file named).
def test_missing_certificate_is_a_startup_error(tmp_path, cert):
    r = run_uwsgi("--https-socket", "127.0.0.1:0,%s,%s" % (tmp_path / "nope.crt", cert[1]),
                  "--plugin", "example")
    assert r.returncode != 0
    assert "cannot load certificate" in r.stdout + r.stderr
    assert "nope.crt" in r.stdout + r.stderr


def test_key_not_matching_the_certificate_is_a_startup_error(tmp_path, cert):
    _, other_key = make_certificate(tmp_path, name="other")
    r = run_uwsgi("--https-socket", "127.0.0.1:0,%s,%s" % (cert[0], other_key),
                  "--plugin", "example")
    assert r.returncode != 0
    assert "does not match certificate" in r.stdout + r.stderr


def test_https_socket_without_a_key_is_a_startup_error(cert):
    r = run_uwsgi("--https-socket", "127.0.0.1:0,%s" % cert[0], "--plugin", "example")
    assert r.returncode != 0
    assert "expected ADDR,CERT,KEY" in r.stdout + r.stderr


def test_native_app_over_tls_keeps_alive(server, cert):
    """The example plugin (no PyPy: this one also runs in the sanitizer build) over TLS."""
    crt, key = cert
    srv = server("--https-socket", "127.0.0.1:{port},%s,%s" % (crt, key), "--plugin", "example",
                 "--threads", "2")
    conn = tls_connection(srv, cert)
    conn.request("GET", "/")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"Hello World"
    sock = conn.sock
    body = os.urandom(100 * 1024)
    conn.request("POST", "/echo", body=body)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == body
    conn.request("GET", "/vars")
    r = conn.getresponse()
    assert r.status == 200 and b"HTTPS=on" in r.read()
    assert conn.sock is sock
