"""--enable-proxy-protocol on --http-socket: a PROXY protocol v1 or v2 header (HAProxy, AWS ELB/NLB)
starts the connection and names the client, on ours (PyPy) and on Debian's uWSGI (CPython, v1
only)."""
import json
import os
import socket
import struct

import pytest

from conftest import ROOT

APP = os.path.join(ROOT, "test", "e2e", "apps", "tls_app.py")


@pytest.fixture
def keepalive_flavour(flavour):
    if flavour.upstream:
        pytest.skip("uWSGI's --http-socket answers one request per connection")
    return flavour


@pytest.fixture
def strict_flavour(flavour):
    if flavour.upstream:
        # uWSGI serves a request without a header as if from the socket's peer, and a malformed
        # one is parsed as far as it goes; ours closes such a connection (the PROXY
        # specification: a receiver must not guess) and logs it.
        pytest.skip("uWSGI accepts connections without a PROXY header")
    return flavour


@pytest.fixture
def proxied(server, flavour):
    return server("--http-socket", "127.0.0.1:{port}", "--enable-proxy-protocol",
                  *flavour.app_args(APP), binary=flavour.binary)


def exchange(port, data):
    """Sends DATA, reads until the server closes; the raw answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def env_of(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], answer
    return json.loads(body)


GET = b"GET /env HTTP/1.0\r\nHost: example.org\r\n\r\n"


def test_tcp4_header_names_the_client(proxied):
    env = env_of(exchange(proxied.port, b"PROXY TCP4 203.0.113.7 198.51.100.2 40000 8080\r\n" + GET))
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["REMOTE_PORT"] == "40000"
    assert env["SERVER_PORT"] == "8080"


def test_tcp6_header_names_the_client(proxied):
    env = env_of(exchange(proxied.port, b"PROXY TCP6 2001:db8::7 2001:db8::1 40001 443\r\n" + GET))
    assert env["REMOTE_ADDR"] == "2001:db8::7"
    assert env["REMOTE_PORT"] == "40001"


def test_unknown_keeps_the_socket_address(proxied):
    env = env_of(exchange(proxied.port, b"PROXY UNKNOWN\r\n" + GET))
    assert env["REMOTE_ADDR"] == "127.0.0.1"


def test_header_holds_for_every_request_of_a_kept_alive_connection(keepalive_flavour, proxied):
    one = b"GET /env HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = exchange(proxied.port, b"PROXY TCP4 192.0.2.9 192.0.2.1 1234 80\r\n" + one + last)
    assert answer.count(b'"REMOTE_ADDR": "192.0.2.9"') == 2


def test_connection_without_a_valid_header_is_closed_unanswered(strict_flavour, proxied):
    for bad in (GET, b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n" + GET,
                b"PROXY TCP4 " + b"9" * 200 + b"\r\n" + GET):
        assert exchange(proxied.port, bad) == b""
    assert proxied.wait_log("no valid PROXY protocol header", count=3)
    env = env_of(exchange(proxied.port, b"PROXY TCP4 203.0.113.8 198.51.100.2 1 2\r\n" + GET))
    assert env["REMOTE_ADDR"] == "203.0.113.8"


def test_v2_header_names_the_client(proxied, flavour):
    if flavour.upstream:
        pytest.skip("uWSGI 2.0 knows no PROXY protocol v2 (proxy1_parse reads v1 only)")
    addresses = (socket.inet_pton(socket.AF_INET, "203.0.113.70") +
                 socket.inet_pton(socket.AF_INET, "198.51.100.2") + struct.pack("!HH", 4321, 8080))
    header = b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + struct.pack("!H", len(addresses)) + addresses
    env = env_of(exchange(proxied.port, header + GET))
    assert env["REMOTE_ADDR"] == "203.0.113.70"
    assert env["REMOTE_PORT"] == "4321"
    assert env["SERVER_PORT"] == "8080"
