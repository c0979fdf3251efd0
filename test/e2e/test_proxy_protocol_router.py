"""The PROXY protocol header (v1 text or v2 binary) on TLS addresses: the router's --https with
--http-enable-proxy-protocol and --https-socket with --enable-proxy-protocol. It arrives in
clear before anything else, before the TLS ClientHello (as HAProxy's `send-proxy` and AWS NLB
send it); ours reads it, then starts TLS, and the worker sees REMOTE_ADDR/REMOTE_PORT from it.
uWSGI 2.0 looks for it only in the decrypted stream (its http parser reads it with the request
head), so a balancer's header fails its handshake: a fault, measured here; a header sent inside
TLS (uWSGI's placement) still works on ours' --https-socket. Also the router's plain --http
address. A real TLS handshake with Python's ssl over a socket the header was written on, on ours
(PyPy) and on Debian's uWSGI (CPython, its http plugin) where it has the feature."""
import json
import os
import socket
import ssl
import struct

import pytest

from conftest import ROOT, read_until_closed
from tls_helpers import client_context, closed_cleanly

APP = os.path.join(ROOT, "test", "e2e", "apps", "tls_app.py")

GET = b"GET /env HTTP/1.0\r\nHost: x\r\n\r\n"
V1 = b"PROXY TCP4 203.0.113.7 198.51.100.2 40000 443\r\n"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(src, dst, sport, dport, tlvs=b"", command=0x21):
    """A PROXY v2 header for TCP over IPv4 or IPv6 (by the address's form), with TLVS after."""
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    body = (socket.inet_pton(family, src) + socket.inet_pton(family, dst) +
            struct.pack("!HH", sport, dport) + tlvs)
    return V2_SIGNATURE + bytes([command, 0x21 if family == socket.AF_INET6 else 0x11]) + \
        struct.pack("!H", len(body)) + body


@pytest.fixture(params=["https", "https-socket"])
def proxied_tls(request, server, flavour, cert):
    """Factory: tls_app.py with a master and one worker behind the router's --https with
    --http-enable-proxy-protocol (kept alive with --http-keepalive), or on --https-socket with
    --enable-proxy-protocol (kept alive by itself)."""

    def start(keepalive=False):
        crt, key = cert
        address = "127.0.0.1:{port},%s,%s" % (crt, key)
        if request.param == "https-socket":
            front = ["--https-socket", address, "--enable-proxy-protocol"]
        else:
            plugin = ["--plugin", "http"] if flavour.upstream else []
            front = plugin + ["--https", address, "--http-enable-proxy-protocol"]
            front += ["--http-keepalive"] if keepalive else []
        srv = server("--master", *front, *flavour.app_args(APP), binary=flavour.binary)
        srv.front = request.param
        return srv

    return start


def tls_exchange(port, cert, header, request=GET, pieces=1):
    """Writes HEADER in clear (in PIECES writes), then does a real TLS handshake on the same
    socket and sends REQUEST; the raw answer, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        step = max(1, -(-len(header) // pieces))
        for i in range(0, len(header), step):
            raw.sendall(header[i:i + step])
        with client_context(cert).wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(request)
            out = b""
            while True:
                try:
                    chunk = tls.recv(65536)
                except ssl.SSLZeroReturnError:
                    return out
                if not chunk:
                    return out
                out += chunk


def env_of(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], answer
    return json.loads(body)


def test_v1_header_before_the_tls_handshake_names_the_client(proxied_tls, cert, flavour):
    srv = proxied_tls()
    if flavour.upstream:  # uWSGI's fault (see above)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_exchange(srv.port, cert[0], V1)
        return
    env = env_of(tls_exchange(srv.port, cert[0], V1))
    assert env["REMOTE_ADDR"] == "203.0.113.7" and env["REMOTE_PORT"] == "40000"
    assert env["SERVER_PORT"] == "443"
    assert env["HTTPS"] == "on" and env["url_scheme"] == "https"
    # a header in several writes (a slow balancer) is read whole before TLS starts
    env = env_of(tls_exchange(srv.port, cert[0],
                              b"PROXY TCP6 2001:db8::7 2001:db8::1 40001 443\r\n", pieces=4))
    assert env["REMOTE_ADDR"] == "2001:db8::7" and env["REMOTE_PORT"] == "40001"


def test_v2_header_before_the_tls_handshake_names_the_client(proxied_tls, cert, flavour):
    if flavour.upstream:
        pytest.skip("uWSGI 2.0 knows no PROXY protocol v2 (proxy1_parse reads v1 only)")
    srv = proxied_tls()
    # with a TLV after the addresses (AWS NLB sends its VPC endpoint id as type 0xEA)
    header = v2("198.51.100.20", "10.0.0.1", 51515, 443,
                tlvs=b"\xea\x00\x0e\x01vpce-0123abcd")
    env = env_of(tls_exchange(srv.port, cert[0], header))
    assert env["REMOTE_ADDR"] == "198.51.100.20" and env["REMOTE_PORT"] == "51515"
    assert env["HTTPS"] == "on"
    env = env_of(tls_exchange(srv.port, cert[0], v2("2001:db8::20", "2001:db8::1", 1, 443),
                              pieces=3))
    assert env["REMOTE_ADDR"] == "2001:db8::20" and env["REMOTE_PORT"] == "1"
    # LOCAL (a balancer's health check) keeps the socket's address
    env = env_of(tls_exchange(srv.port, cert[0], v2("192.0.2.1", "192.0.2.2", 1, 2, command=0x20)))
    assert env["REMOTE_ADDR"] == "127.0.0.1"


def test_header_holds_for_every_request_of_a_kept_alive_tls_connection(proxied_tls, cert,
                                                                       flavour):
    if flavour.upstream:
        pytest.skip("uWSGI 2.0 fails the handshake after a PROXY header in clear")
    srv = proxied_tls(keepalive=True)
    one = b"GET /env HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = tls_exchange(srv.port, cert[0], V1, request=one + one + last)
    assert answer.count(b'"REMOTE_ADDR": "203.0.113.7"') == 3


def test_no_header_at_all(proxied_tls, cert, flavour):
    """A connection that starts with its ClientHello and has no header inside TLS either. The
    router, as uWSGI's: the header is optional, served with the socket's peer as REMOTE_ADDR.
    --https-socket: ours closes it, as on --http-socket (the PROXY specification: a receiver
    must not guess); uWSGI serves it as from the socket's peer."""
    srv = proxied_tls()
    if srv.front == "https-socket" and not flavour.upstream:
        assert tls_exchange(srv.port, cert[0], b"") == b""
        assert srv.wait_log("no valid PROXY protocol header")
        return
    env = env_of(tls_exchange(srv.port, cert[0], b""))
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["HTTPS"] == "on"


def test_header_inside_tls_names_the_client(proxied_tls, cert, flavour):
    """uWSGI's placement: the header is the first thing in the decrypted stream. Ours reads it
    there too on --https-socket when none came in clear; our router reads it in clear only."""
    srv = proxied_tls()
    if srv.front == "https" and not flavour.upstream:
        pytest.skip("our router reads the header in clear only (where balancers send it)")
    env = env_of(tls_exchange(srv.port, cert[0], b"", request=V1 + GET))
    assert env["REMOTE_ADDR"] == "203.0.113.7" and env["HTTPS"] == "on"


MALFORMED = [
    b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 443\r\n",       # port out of range
    b"PROXY TCP4 " + b"9" * 200 + b"\r\n",             # longer than v1's 107 bytes
    b"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",              # no space after PROXY
    V2_SIGNATURE + b"\x31\x11\x00\x0c" + b"\x00" * 12,  # v2 signature, version 3
    V2_SIGNATURE + b"\x21\x11\x00\x04" + b"\x00" * 4,   # v2 addresses cut short
    b"PROX\x16\x03\x01",                              # a header that turns into TLS
]


def test_malformed_header_before_tls_is_closed_and_the_server_serves_on(proxied_tls, cert,
                                                                        flavour):
    if flavour.upstream:
        pytest.skip("uWSGI 2.0 fails the handshake after any PROXY header in clear")
    srv = proxied_tls()
    for header in MALFORMED:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as raw:
            raw.sendall(header + b"\x16\x03\x01\x00\x05hello")
            assert closed_cleanly(raw), header  # closed unanswered, with a FIN
    assert srv.wait_log("no valid PROXY protocol header", count=len(MALFORMED))
    env = env_of(tls_exchange(srv.port, cert[0], V1))
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert srv.proc.poll() is None


def test_plain_http_address_takes_v2_and_requests_without_a_header(server, flavour):
    """--http with --http-enable-proxy-protocol: a v1 or v2 header, or none (served as from the
    socket's peer, as uWSGI's router); a malformed one closes the connection."""
    plugin = ["--plugin", "http"] if flavour.upstream else []
    srv = server(*plugin, "--master", "--http", "127.0.0.1:{port}", "--http-enable-proxy-protocol",
                 *flavour.app_args(APP), binary=flavour.binary)

    def exchange(data):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
            s.sendall(data)
            return read_until_closed(s)

    assert env_of(exchange(GET))["REMOTE_ADDR"] == "127.0.0.1"
    # a request whose method starts like "PROXY" is still a request
    answer = exchange(b"POST /env HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert env_of(answer)["REQUEST_METHOD"] == "POST"
    assert env_of(exchange(V1 + GET))["REMOTE_ADDR"] == "203.0.113.7"
    if flavour.upstream:
        return  # uWSGI 2.0 parses v1 only, and a malformed v1 header as far as it goes
    assert env_of(exchange(v2("192.0.2.44", "192.0.2.1", 4444, 80) + GET))["REMOTE_ADDR"] == \
        "192.0.2.44"
    assert exchange(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n" + GET) == b""
    assert srv.wait_log("no valid PROXY protocol header")
    assert env_of(exchange(GET))["REMOTE_ADDR"] == "127.0.0.1"
