"""nginx in front: uwsgi_pass to a --socket served by the native example plugin."""
import hashlib
import os
import urllib.request

import pytest

from nginx_helper import Nginx


@pytest.fixture
def nginx(tmp_path):
    started = []

    def start(location):
        n = Nginx(tmp_path, location)
        started.append(n)
        return n

    yield start
    for n in started:
        n.stop()


def test_get_through_uwsgi_pass(server, nginx):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master", "--processes", "2")
    n = nginx("include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d;" % s.port)
    with urllib.request.urlopen(n.url("/hello?x=1"), timeout=10) as r:
        assert r.status == 200
        assert r.read() == b"Hello World"
    with urllib.request.urlopen(n.url("/vars?a=b"), timeout=10) as r:
        text = r.read().decode()
    assert "REQUEST_URI=/vars?a=b\n" in text
    assert "QUERY_STRING=a=b\n" in text


def test_one_mebibyte_post_through_uwsgi_pass(server, nginx):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}")
    n = nginx("include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d;" % s.port)
    payload = os.urandom(1 << 20)
    req = urllib.request.Request(n.url("/echo"), data=payload, method="POST",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=20) as r:
        body = r.read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert s.wait_log("POST /echo => 200 1048576 bytes"), s.output()


def test_unix_socket_upstream(server, nginx, tmp_path):
    path = str(tmp_path / "app.sock")
    s = server("--plugin", "example", "--socket", path, "--socket", "127.0.0.1:{port}")
    n = nginx("include /etc/nginx/uwsgi_params; uwsgi_pass unix:%s;" % path)
    with urllib.request.urlopen(n.url("/"), timeout=10) as r:
        assert r.read() == b"Hello World"
