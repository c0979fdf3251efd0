"""--https ADDR,CERT,KEY[,CIPHERS,CA]: TLS ends in the --http router process, which passes the
requests to the workers over the uwsgi protocol with HTTPS=on. On ours (PyPy) and on Debian's
uWSGI (CPython, its http plugin), with curl and Python's ssl/http.client against a certificate
made here with openssl."""
import http.client
import json
import os
import socket
import ssl
import subprocess

import pytest

from conftest import ROOT, free_port, run_uwsgi
from tls_helpers import client_context, make_certificate, send_bad_tls_clients

APP = os.path.join(ROOT, "test", "e2e", "apps", "tls_app.py")


@pytest.fixture
def https_router(server, flavour, cert):
    """Factory: tls_app.py behind the router's --https on a free port, with a master."""

    def start(*extra, processes=1):
        crt, key = cert
        plugin = ["--plugin", "http"] if flavour.upstream else []
        return server(*plugin, "--master", "--https", "127.0.0.1:{port},%s,%s" % (crt, key),
                      "--processes", str(processes), *flavour.app_args(APP), *extra,
                      binary=flavour.binary)

    return start


def tls_connection(port, cert):
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                       context=client_context(cert[0]))


def get_json(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    assert r.status == 200
    return json.loads(r.read())


def test_router_terminates_tls_and_tells_the_app(https_router, cert, tmp_path):
    srv = https_router()
    facts = get_json(tls_connection(srv.port, cert), "/env?a=1")
    assert facts["HTTPS"] == "on" and facts["url_scheme"] == "https"
    assert facts["QUERY_STRING"] == "a=1"
    assert facts["REMOTE_ADDR"] == "127.0.0.1"  # the client, not the router
    assert facts["pid"] != srv.pid  # a worker answered
    body = os.urandom(300 * 1024)  # many TLS records each way through the router
    conn = tls_connection(srv.port, cert)
    conn.request("POST", "/echo", body=body)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == body
    conn = tls_connection(srv.port, cert)
    conn.request("GET", "/big?3000000")  # more than the router buffers for a client
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"x" * 3000000
    data = os.urandom(200 * 1024 + 5)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    conn = tls_connection(srv.port, cert)
    conn.request("GET", "/file?" + str(path))
    r = conn.getresponse()
    assert r.status == 200 and r.read() == data


def test_keepalive_over_tls_through_the_router(https_router, cert):
    srv = https_router("--http-keepalive", processes=2)
    conn = tls_connection(srv.port, cert)
    first = get_json(conn, "/env")
    sock = conn.sock
    for _ in range(6):
        assert get_json(conn, "/env")["REMOTE_PORT"] == first["REMOTE_PORT"]
    assert conn.sock is sock  # one TCP connection, one TLS session for every request
    conn.close()


def test_curl_over_the_https_router(https_router, cert):
    srv = https_router("--http-keepalive")
    url = "https://127.0.0.1:%d" % srv.port
    out = subprocess.run(["curl", "-sS", "-v", "--cacert", cert[0], url + "/env?n=1",
                          url + "/env?n=2"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().count('"url_scheme": "https"') == 2
    assert "Re-using existing connection" in out.stderr.decode()
    bad = subprocess.run(["curl", "-sS", url + "/env"], capture_output=True, timeout=60)
    assert bad.returncode == 60, bad.stderr  # curl: peer certificate cannot be authenticated


def test_http_and_https_on_one_router(https_router, cert):
    plain_port = free_port()
    srv = https_router("--http", "127.0.0.1:%d" % plain_port)
    assert get_json(tls_connection(srv.port, cert), "/env")["url_scheme"] == "https"
    conn = http.client.HTTPConnection("127.0.0.1", plain_port, timeout=30)
    facts = get_json(conn, "/env")
    assert facts["url_scheme"] == "http" and facts["HTTPS"] is None


def test_plain_http_and_garbage_on_the_https_router(https_router, cert, flavour):
    srv = https_router()
    clean = send_bad_tls_clients(srv.port, cert[0])
    # ours drops what the client sent before closing, so it sees a FIN; uWSGI's router may reset
    assert clean or flavour.upstream
    if not flavour.upstream:
        assert srv.wait_log("TLS handshake with 127.0.0.1:", count=2)
    assert get_json(tls_connection(srv.port, cert), "/env")["url_scheme"] == "https"
    # a client that does not trust the certificate fails; the router serves on
    other, _ = make_certificate(os.path.dirname(cert[0]), name="other")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        with pytest.raises(ssl.SSLCertVerificationError):
            client_context(other).wrap_socket(s, server_hostname="127.0.0.1")
    assert get_json(tls_connection(srv.port, cert), "/env")["HTTPS"] == "on"
    assert srv.proc.poll() is None


def test_client_certificate_required_by_a_bang_ca(server, flavour, cert, tmp_path):
    """The fifth field '!CA': a client without a certificate the CA signed is refused."""
    crt, key = cert
    client_crt, client_key = make_certificate(tmp_path, name="client", cn="client")
    plugin = ["--plugin", "http"] if flavour.upstream else []
    srv = server(*plugin, "--master",
                 "--https", "127.0.0.1:{port},%s,%s,HIGH,!%s" % (crt, key, client_crt),
                 *flavour.app_args(APP), binary=flavour.binary)
    with_cert = client_context(crt)
    with_cert.load_cert_chain(client_crt, client_key)
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=30, context=with_cert)
    assert get_json(conn, "/env")["HTTPS"] == "on"
    without = tls_connection(srv.port, cert)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        get_json(without, "/env")


# Start-up errors: ours only (uWSGI's router logs some and runs on without the address).
def test_router_certificate_errors_stop_the_startup(tmp_path, cert):
    port = free_port()
    missing = run_uwsgi("--master", "--https", "127.0.0.1:%d,%s,%s" % (
        port, tmp_path / "nope.crt", cert[1]), "--plugin", "example")
    assert missing.returncode != 0
    assert "--https 127.0.0.1:%d: cannot load certificate" % port in missing.stdout + missing.stderr
    assert "nope.crt" in missing.stdout + missing.stderr
    _, other_key = make_certificate(tmp_path, name="other")
    mismatch = run_uwsgi("--master", "--https", "127.0.0.1:%d,%s,%s" % (port, cert[0], other_key),
                         "--plugin", "example")
    assert mismatch.returncode != 0
    assert "does not match certificate" in mismatch.stdout + mismatch.stderr
    no_key = run_uwsgi("--master", "--https", "127.0.0.1:%d,%s" % (port, cert[0]),
                       "--plugin", "example")
    assert no_key.returncode != 0
    assert "--https 127.0.0.1:%d,%s: expected ADDR,CERT,KEY" % (port, cert[0]) in (
        no_key.stdout + no_key.stderr)
