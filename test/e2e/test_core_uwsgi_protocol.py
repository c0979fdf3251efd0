"""The uwsgi binary protocol on --socket, served by the native example plugin."""
import os
import signal
import socket
import stat
import struct
import subprocess

import pytest

from conftest import UWSGI, read, uwsgi_packet, uwsgi_request, wait_for


def get(port, path, **extra):
    vars = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path, "QUERY_STRING": ""}
    vars.update(extra)
    return uwsgi_request(port, vars)


def test_get_hello(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}")
    status, headers, body = get(s.port, "/")
    assert (status, body) == (200, b"Hello World")
    assert headers["content-length"] == "11"
    assert s.wait_log("GET / => 200 11 bytes"), s.output()


def test_vars_reach_the_handler_binary_safe(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}")
    status, _, body = get(s.port, "/vars", HTTP_X_ODD="caf\xe9 \x01")
    assert status == 200
    assert b"HTTP_X_ODD=caf\xe9 \x01\n" in body


def test_post_one_mebibyte_echo(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}")
    payload = os.urandom(1 << 20)
    status, headers, body = uwsgi_request(
        s.port, {"REQUEST_METHOD": "POST", "PATH_INFO": "/echo", "CONTENT_LENGTH": str(len(payload))},
        payload)
    assert status == 200
    assert body == payload


def test_packet_over_buffer_size_is_refused_and_serving_goes_on(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--buffer-size", "512")
    status, _, _ = get(s.port, "/", HTTP_BIG="x" * 1000)
    assert status == 0  # closed without an answer
    assert s.wait_log("exceed --buffer-size 512"), s.output()
    assert get(s.port, "/")[0] == 200


def test_too_many_vars_are_refused(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--max-vars", "8")
    many = {"HTTP_X_%d" % i: "v" for i in range(10)}
    assert get(s.port, "/", **many)[0] == 0
    assert s.wait_log("--max-vars 8"), s.output()
    assert get(s.port, "/")[0] == 200


def test_limit_post_answers_413(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--limit-post", "100")
    status, _, _ = uwsgi_request(s.port, {"REQUEST_METHOD": "POST", "PATH_INFO": "/echo",
                                          "CONTENT_LENGTH": "1000"}, b"x" * 1000)
    assert status == 413
    assert get(s.port, "/")[0] == 200


def test_unknown_modifier1_gets_501(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(uwsgi_packet({"PATH_INFO": "/"}, modifier1=42))
        data = c.recv(4096)
    assert data.startswith(b"HTTP/1.1 501 ")
    assert s.wait_log("no plugin handles modifier1 42"), s.output()


def test_malformed_and_truncated_packets_do_not_stop_the_worker(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--socket-timeout", "1")
    bad = [
        struct.pack("<BHB", 0, 10, 0) + b"\x05\x00ab",  # truncated, then the peer closes
        struct.pack("<BHB", 0, 4, 0) + b"\x09\x00ab",  # item longer than the block
        b"\x00\x01",  # not even a header
        struct.pack("<BHB", 0, 6, 0) + b"\x02\x00ab\x09\x00",  # a key without a value
    ]
    for pkt in bad:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
            c.sendall(pkt)
            c.shutdown(socket.SHUT_WR)
            c.recv(100)
    assert get(s.port, "/")[0] == 200


def test_unix_socket_with_chmod(server, tmp_path):
    path = str(tmp_path / "app.sock")
    s = server("--plugin", "example", "--socket", path, "--chmod-socket", "660",
               "--socket", "127.0.0.1:{port}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(path)
        c.sendall(uwsgi_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}))
        assert c.recv(4096).endswith(b"Hello World")
    s.stop()
    assert not os.path.exists(path)  # removed on shutdown


def test_ipv6_loopback(server):
    s = server("--plugin", "example", "--socket", "[::1]:{port}", "--socket", "127.0.0.1:{port}")
    status, _, body = uwsgi_request(s.port, {"PATH_INFO": "/"}, host="::1")
    assert (status, body) == (200, b"Hello World")


UPSTREAM_UWSGI = "/usr/bin/uwsgi-core"


@pytest.mark.parametrize("impl", ["ours", "upstream"])
@pytest.mark.parametrize("args, mode", [([], 0o666), (["660"], 0o660)], ids=["alone", "660"])
def test_chmod_socket_alone_means_666(impl, args, mode, tmp_path):
    """--chmod-socket [MODE], as uWSGI: alone it gives 666, with a mode that mode."""
    if impl == "upstream" and not os.access(UPSTREAM_UWSGI, os.X_OK):
        pytest.skip("Debian's uwsgi-core is not installed")
    path = str(tmp_path / "app.sock")
    # uWSGI's optional argument is taken in the --opt=VALUE form only
    chmod = ["--chmod-socket=" + args[0]] if args else ["--chmod-socket"]
    cmd = ([UPSTREAM_UWSGI] if impl == "upstream" else [UWSGI, "--plugin", "example"])
    log = open(str(tmp_path / "server.log"), "w")
    proc = subprocess.Popen(cmd + ["--socket", path] + chmod, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        # the socket file exists from bind(), its mode from the chmod just after: wait for both
        assert wait_for(lambda: os.path.exists(path) and
                        stat.S_IMODE(os.stat(path).st_mode) == mode), read(log.name)
    finally:
        # uWSGI 2.0 takes SIGTERM as a brutal reload (without --die-on-term); SIGINT stops it
        proc.send_signal(signal.SIGINT if impl == "upstream" else signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
