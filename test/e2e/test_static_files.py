"""Static files served by the core before the app (--static-map, --static-map2, --check-static,
--static-index, --static-safe, --static-expires*, --static-gzip-all, MIME types, conditional and
Range requests, HEAD, path traversal, --offload-threads), over --http-socket with http.client and
curl and over --socket behind nginx's uwsgi_pass. Each test runs against our server (PyPy) and
Debian's uWSGI (CPython plugin) unless it says why not, so it encodes uWSGI's behaviour.
"""
import email.utils
import gzip
import http.client
import os
import socket
import subprocess
import time

import pytest

from conftest import free_port, read_until_closed, uwsgi_request, wait_for
from nginx_helper import Nginx

APP = '''
def application(environ, start_response):
    body = ("app:" + environ["PATH_INFO"]).encode()
    start_response("404 Not Found", [("Content-Type", "text/plain"),
                                     ("Content-Length", str(len(body)))])
    return [body]
'''

CSS = b"body { color: red }\n"
SECRET = b"top secret\n"


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "wb") as f:
        f.write(data)


@pytest.fixture
def site(tmp_path):
    """public/ (css, js, an index, a gzip twin, a 64 KiB blob), other/, and a secret outside."""
    pub = tmp_path / "public"
    write(pub / "css" / "site.css", CSS)
    write(pub / "js" / "app.js", b"console.log(1)\n")
    write(pub / "docs" / "index.html", b"<h1>docs</h1>\n")
    write(pub / "blob.bin", bytes(range(256)) * 256)
    write(pub / "big.txt", b"x" * 100000)
    write(pub / "big.txt.gz", gzip.compress(b"x" * 100000))
    write(pub / "both.txt", b"first\n")
    write(tmp_path / "other" / "both.txt", b"second\n")
    write(tmp_path / "other" / "only.txt", b"only in other\n")
    write(tmp_path / "secret.txt", SECRET)
    os.symlink(str(tmp_path / "secret.txt"), str(pub / "link-out.txt"))
    os.symlink(str(pub / "css" / "site.css"), str(pub / "link-in.css"))
    write(tmp_path / "app.py", APP.encode())
    return tmp_path


@pytest.fixture
def start(site, flavour, server):
    """start(*static_args, socket="http"|"uwsgi") -> port: a server with the app and the args."""
    def run(*args, socket="http"):
        option = "--http-socket" if socket == "http" else "--socket"
        extra = ["--honour-range"] if flavour.upstream else []  # uWSGI ignores Range without it
        s = server(option, "127.0.0.1:{port}", *flavour.app_args(str(site / "app.py")),
                   *extra, *args, binary=flavour.binary)
        return s
    return run


def get(port, path, headers=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_static_map_serves_file_with_type_length_and_last_modified(start, site):
    s = start("--static-map", "/static=%s/public" % site)
    status, h, body = get(s.port, "/static/css/site.css")
    assert (status, body) == (200, CSS)
    assert h["content-type"].startswith("text/css")  # from /etc/mime.types
    assert h["content-length"] == str(len(CSS))
    mtime = int(os.stat(str(site / "public/css/site.css")).st_mtime)
    assert email.utils.parsedate_to_datetime(h["last-modified"]).timestamp() == mtime
    assert get(s.port, "/static/js/app.js")[1]["content-type"] in (
        "application/javascript", "text/javascript")
    # the same with curl, binary-safe
    out = subprocess.run(["curl", "-s", "-o", str(site / "got.bin"), "-w", "%{http_code}",
                          s.url("/static/blob.bin")], capture_output=True, text=True, timeout=30)
    assert out.stdout == "200"
    assert (site / "got.bin").read_bytes() == bytes(range(256)) * 256


def test_missing_file_and_other_methods_go_to_the_app(start, site):
    s = start("--static-map", "/static=%s/public" % site)
    assert get(s.port, "/static/nope.css")[::2] == (404, b"app:/static/nope.css")
    assert get(s.port, "/elsewhere")[::2] == (404, b"app:/elsewhere")
    assert get(s.port, "/static/css/site.css", method="POST")[::2] == (
        404, b"app:/static/css/site.css")
    # a directory without an index file is the app's too
    assert get(s.port, "/static/css/")[0] == 404


def test_first_existing_file_wins_across_repeated_maps(start, site):
    s = start("--static-map", "/static=%s/public" % site,
              "--static-map", "/static=%s/other" % site)
    assert get(s.port, "/static/both.txt")[::2] == (200, b"first\n")
    assert get(s.port, "/static/only.txt")[::2] == (200, b"only in other\n")


def test_static_map2_appends_the_whole_path(start, site):
    s = start("--static-map2", "/css=%s/public" % site)
    assert get(s.port, "/css/site.css")[::2] == (200, CSS)  # public/css/site.css


def test_check_static_serves_any_path_that_names_a_file(start, site):
    s = start("--check-static", "%s/public" % site)
    assert get(s.port, "/css/site.css")[::2] == (200, CSS)
    assert get(s.port, "/not/here")[::2] == (404, b"app:/not/here")


def test_static_index_serves_a_directory(start, site):
    s = start("--static-map", "/static=%s/public" % site, "--static-index", "missing.html",
              "--static-index", "index.html")
    assert get(s.port, "/static/docs/")[::2] == (200, b"<h1>docs</h1>\n")
    assert get(s.port, "/static/docs")[::2] == (200, b"<h1>docs</h1>\n")


def test_if_modified_since_answers_304(start, site):
    s = start("--static-map", "/static=%s/public" % site)
    last_modified = get(s.port, "/static/css/site.css")[1]["last-modified"]
    status, _, body = get(s.port, "/static/css/site.css", {"If-Modified-Since": last_modified})
    assert (status, body) == (304, b"")
    older = email.utils.formatdate(os.stat(str(site / "public/css/site.css")).st_mtime - 3600,
                                   usegmt=True)
    assert get(s.port, "/static/css/site.css", {"If-Modified-Since": older})[::2] == (200, CSS)
    # a date we cannot read: served whole
    assert get(s.port, "/static/css/site.css", {"If-Modified-Since": "yesterday"})[0] == 200


def test_range_requests_get_206_and_416(start, site):
    s = start("--static-map", "/static=%s/public" % site)
    blob = bytes(range(256)) * 256
    status, h, body = get(s.port, "/static/blob.bin", {"Range": "bytes=10-19"})
    assert (status, body) == (206, blob[10:20])
    assert h["content-range"] == "bytes 10-19/%d" % len(blob)
    assert h["content-length"] == "10"
    assert get(s.port, "/static/blob.bin", {"Range": "bytes=65530-"})[::2] == (206, blob[65530:])
    assert get(s.port, "/static/blob.bin", {"Range": "bytes=-6"})[::2] == (206, blob[-6:])
    # past the end: 416 naming the size
    status, h, body = get(s.port, "/static/blob.bin", {"Range": "bytes=70000-70010"})
    assert status == 416
    assert h["content-range"] == "bytes */%d" % len(blob)
    # the server answers on
    assert get(s.port, "/static/css/site.css")[::2] == (200, CSS)


def test_head_sends_the_headers_only(start, site):
    s = start("--static-map", "/static=%s/public" % site)
    status, h, body = get(s.port, "/static/blob.bin", method="HEAD")
    assert (status, body) == (200, b"")
    assert h["content-length"] == str(256 * 256)
    # curl -I agrees, and the connection stays usable
    out = subprocess.run(["curl", "-sI", s.url("/static/css/site.css"),
                          s.url("/static/css/site.css")], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.count("200") == 2, out.stdout


def test_expires_by_type_and_by_filename(start, site):
    s = start("--static-map", "/static=%s/public" % site,
              "--static-expires-type", "text/css=3600", "--static-expires", r"\.js$ 60",
              "--static-expires-mtime", r"blob\.bin$ 86400")
    for path, delta in (("/static/css/site.css", 3600), ("/static/js/app.js", 60)):
        before = time.time()
        h = get(s.port, path)[1]
        expires = email.utils.parsedate_to_datetime(h["expires"]).timestamp()
        assert before + delta - 2 <= expires <= time.time() + delta + 1, (path, h["expires"])
    h = get(s.port, "/static/blob.bin")[1]
    mtime = int(os.stat(str(site / "public/blob.bin")).st_mtime)
    assert email.utils.parsedate_to_datetime(h["expires"]).timestamp() == mtime + 86400
    assert "expires" not in get(s.port, "/static/docs/index.html")[1]


def test_gzip_all_serves_the_gz_twin_to_clients_that_accept_it(start, site):
    s = start("--static-map", "/static=%s/public" % site, "--static-gzip-all")
    status, h, body = get(s.port, "/static/big.txt", {"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and h["content-encoding"] == "gzip"
    assert gzip.decompress(body) == b"x" * 100000
    assert h["content-type"].startswith("text/plain")  # the type of big.txt, not of .gz
    status, h, body = get(s.port, "/static/big.txt")  # no Accept-Encoding: the plain file
    assert (status, body) == (200, b"x" * 100000) and "content-encoding" not in h
    # no twin: the plain file even when gzip is accepted
    assert get(s.port, "/static/css/site.css", {"Accept-Encoding": "gzip"})[::2] == (200, CSS)
    # curl --compressed decodes it
    out = subprocess.run(["curl", "-s", "--compressed", s.url("/static/big.txt")],
                         capture_output=True, timeout=30)
    assert out.stdout == b"x" * 100000


def raw_get(port, target):
    """A request line sent as written (no client-side normalisation of the path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
        c.sendall(b"GET " + target + b" HTTP/1.0\r\nHost: x\r\n\r\n")
        data = read_until_closed(c)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


TRAVERSALS = [b"/static/../secret.txt", b"/static/%2e%2e/secret.txt",
              b"/static/%2E%2E%2Fsecret.txt", b"/static/css/../../secret.txt",
              b"/static/..%2f..%2fsecret.txt", b"/static//../secret.txt"]


def test_path_traversal_is_refused(start, site):
    s = start("--static-map", "/static=%s/public" % site)
    for target in TRAVERSALS:
        status, body = raw_get(s.port, target)
        assert status in (403, 404) and SECRET not in body, (target, status, body)
    out = subprocess.run(["curl", "-s", "--path-as-is", "-w", " %{http_code}",
                          s.url("/static/../secret.txt")], capture_output=True, timeout=30)
    assert SECRET not in out.stdout and out.stdout.endswith((b" 403", b" 404"))
    # a symlink out of the directory: refused (ours 403; uWSGI leaves it to the app, 404)
    status, _, body = get(s.port, "/static/link-out.txt")
    assert status in (403, 404) and SECRET not in body
    # a symlink that stays inside is fine
    assert get(s.port, "/static/link-in.css")[::2] == (200, CSS)
    assert get(s.port, "/static/css/site.css")[::2] == (200, CSS)  # still serving


def test_static_safe_allows_symlinks_into_it(start, site):
    s = start("--static-map", "/static=%s/public" % site, "--static-safe", str(site))
    assert get(s.port, "/static/link-out.txt")[::2] == (200, SECRET)


def test_traversal_in_raw_uwsgi_vars_is_refused(start, site):
    """Over --socket a client writes PATH_INFO itself: nginx would have normalised it."""
    s = start("--static-map", "/static=%s/public" % site, socket="uwsgi")
    for path in ("/static/../secret.txt", "/static/css/../../secret.txt"):
        status, _, body = uwsgi_request(s.port, {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path,
            "QUERY_STRING": "", "SERVER_NAME": "x", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1"})
        assert status in (403, 404) and SECRET not in body, (path, status, body)


def test_static_files_behind_nginx_uwsgi_pass(start, site, tmp_path):
    s = start("--static-map", "/static=%s/public" % site, socket="uwsgi")
    nginx = Nginx(tmp_path, "include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d;" % s.port)
    try:
        status, h, body = get(nginx.port, "/static/blob.bin")
        assert (status, body) == (200, bytes(range(256)) * 256)
        status, h, body = get(nginx.port, "/static/blob.bin", {"Range": "bytes=0-3"})
        assert (status, body) == (206, bytes(range(4)))
        lm = get(nginx.port, "/static/css/site.css")[1]["last-modified"]
        assert get(nginx.port, "/static/css/site.css", {"If-Modified-Since": lm})[0] == 304
        assert get(nginx.port, "/static/css/site.css", method="HEAD")[::2] == (200, b"")
        assert get(nginx.port, "/static/nope")[::2] == (404, b"app:/static/nope")
        status, body = raw_get(nginx.port, b"/static/%2e%2e/secret.txt")
        assert SECRET not in body
    finally:
        nginx.stop()


def test_offload_threads_free_the_worker_while_a_slow_client_reads(start, site):
    """One worker, one thread: a client that stops reading a 64 MiB file holds the body in the
    offload thread, and the next request is answered meanwhile. Without offloading the thread
    waits in sendfile for --socket-timeout (30 s here)."""
    write(site / "public" / "huge.bin", b"\0" * (64 << 20))
    s = start("--static-map", "/static=%s/public" % site, "--offload-threads", "1",
              "--socket-timeout", "30")
    slow = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"GET /static/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert slow.recv(1)  # the transfer has started
        started = time.time()
        assert get(s.port, "/static/css/site.css")[::2] == (200, CSS)
        assert time.time() - started < 10
    finally:
        slow.close()
    # a whole offloaded file arrives intact
    out = subprocess.run(["curl", "-s", "-o", str(site / "huge.got"), "-w", "%{http_code}",
                          s.url("/static/blob.bin")], capture_output=True, text=True, timeout=60)
    assert out.stdout == "200"
    assert (site / "huge.got").read_bytes() == bytes(range(256)) * 256


def test_body_goes_out_with_sendfile(site, server, tmp_path):
    """strace of the worker: the body leaves with sendfile(2), no read(2) of the file."""
    if not os.access("/usr/bin/strace", os.X_OK):
        pytest.skip("strace is not installed")
    app = ["--pypy-home", "/usr/lib/pypy3.9", "--pypy-wsgi-file", str(site / "app.py")]
    s = server("--http-socket", "127.0.0.1:{port}", *app, "--static-map",
               "/static=%s/public" % site)
    trace = tmp_path / "trace.txt"
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=sendfile,read,pread64",
                               "-o", str(trace), "-p", str(s.pid)],
                              stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: tracer.poll() is None and os.path.exists(str(trace)), 10)
        # strace attaches asynchronously: request until a sendfile shows up, bounded
        def traced():
            assert get(s.port, "/static/blob.bin")[::2] == (200, bytes(range(256)) * 256)
            return "65536) = 65536" in trace.read_text()  # a whole sendfile call seen
        assert wait_for(traced, 20), trace.read_text()
    finally:
        tracer.terminate()
        tracer.wait(10)
    text = trace.read_text()
    assert "65536) = 65536" in text, text
    assert "pread64(" not in text


def test_missing_static_dir_is_a_startup_error(site, tmp_path):
    """Ours stops with the option and the path named. uWSGI starts and skips the mapping at
    every request, so a typo shows as the app's 404s (not tested there: no error to see)."""
    from conftest import run_uwsgi
    r = run_uwsgi("--http-socket", "127.0.0.1:%d" % free_port(), "--pypy-home",
                  "/usr/lib/pypy3.9", "--pypy-wsgi-file", str(site / "app.py"),
                  "--static-map", "/static=%s/nope" % tmp_path)
    assert r.returncode != 0
    assert "--static-map /static=%s/nope" % tmp_path in r.stderr + r.stdout
    assert "No such file or directory" in r.stderr + r.stdout
    r = run_uwsgi("--http-socket", "127.0.0.1:%d" % free_port(), "--pypy-home",
                  "/usr/lib/pypy3.9", "--pypy-wsgi-file", str(site / "app.py"),
                  "--static-map", "nonsense")
    assert r.returncode != 0 and "MOUNTPOINT=DIR" in r.stderr + r.stdout
    if os.getuid() != 0:  # root reads anything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        r = run_uwsgi("--http-socket", "127.0.0.1:%d" % free_port(), "--pypy-home",
                      "/usr/lib/pypy3.9", "--pypy-wsgi-file", str(site / "app.py"),
                      "--static-map", "/s=%s" % locked)
        assert r.returncode != 0 and "cannot be read" in r.stderr + r.stdout


def test_skip_ext_gzip_ext_and_path_info_expires(start, site):
    s = start("--static-map", "/static=%s/public" % site, "--static-skip-ext", ".js",
              "--static-gzip-ext", ".txt", "--static-expires-path-info", r"^/static/css/ 120")
    assert get(s.port, "/static/js/app.js")[::2] == (404, b"app:/static/js/app.js")
    status, h, body = get(s.port, "/static/big.txt", {"Accept-Encoding": "gzip"})
    assert status == 200 and h["content-encoding"] == "gzip"
    assert gzip.decompress(body) == b"x" * 100000
    before = time.time()
    h = get(s.port, "/static/css/site.css")[1]
    expires = email.utils.parsedate_to_datetime(h["expires"]).timestamp()
    assert before + 118 <= expires <= time.time() + 121
    assert "expires" not in get(s.port, "/static/blob.bin")[1]
