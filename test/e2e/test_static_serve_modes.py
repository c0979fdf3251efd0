"""--file-serve-mode (x-sendfile, x-accel-redirect / nginx: the worker answers a static file with
a header naming it and the front server sends it) and --static-cache-paths SECS
(--static-cache-paths-name: the resolution of static paths kept in a uWSGI cache). On ours
(PyPy) and Debian's uWSGI (CPython), over --http-socket, and behind a real nginx for
X-Accel-Redirect, so nginx sends the file.
"""
import gzip
import os
import subprocess

import pytest

from conftest import UPSTREAM, free_port, run_uwsgi, wait_for
from nginx_helper import Nginx
from test_static_files import get

APP = '''
import uwsgi

def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/clear/"):  # empties one cache, by name
        uwsgi.cache_clear(path[len("/clear/"):])
    body = ("app:" + path).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

CSS = b"body { color: red }\n"


@pytest.fixture
def site(tmp_path):
    pub = tmp_path / "public"
    (pub / "css").mkdir(parents=True)
    (pub / "css" / "site.css").write_bytes(CSS)
    (pub / "big.txt").write_bytes(b"x" * 100000)
    (pub / "big.txt.gz").write_bytes(gzip.compress(b"x" * 100000))
    (pub / "v1.txt").write_bytes(b"version 1\n")
    (pub / "v2.txt").write_bytes(b"version 2\n")
    os.symlink("v1.txt", str(pub / "current.txt"))  # re-pointed by the cache tests
    os.symlink(str(pub / "css" / "site.css"), str(pub / "link.css"))
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


@pytest.fixture
def start(server, flavour, site):
    def run(*args, socket="--http-socket"):
        return server(socket, "127.0.0.1:{port}", "--master",
                      *flavour.app_args(str(site / "app.py")),
                      "--static-map", "/s=%s/public" % site, *args, binary=flavour.binary)
    return run


def repoint(site, target):
    link = site / "public" / "current.txt"
    tmp = site / "public" / "current.tmp"
    os.symlink(target, str(tmp))
    os.rename(str(tmp), str(link))  # atomic: a request never sees no link


@pytest.mark.parametrize("mode,header", [("x-sendfile", "x-sendfile"),
                                         ("xsendfile", "x-sendfile"),
                                         ("x-accel-redirect", "x-accel-redirect"),
                                         ("nginx", "x-accel-redirect")])
def test_file_serve_mode_answers_with_the_header_and_no_body(start, site, mode, header):
    s = start("--file-serve-mode", mode, "--static-gzip-all")
    css = os.path.realpath(str(site / "public" / "css" / "site.css"))
    for method in ("GET", "HEAD"):
        status, h, body = get(s.port, "/s/css/site.css", method=method)
        assert (status, body) == (200, b""), (method, h)
        assert h[header] == css  # the real path, for the front server to open
        assert h["content-type"].startswith("text/css")
        assert "last-modified" in h
        other = "x-accel-redirect" if header == "x-sendfile" else "x-sendfile"
        assert other not in h
    # through a symlink: its target's real path
    assert get(s.port, "/s/link.css")[1][header] == css
    # the gzip twin when the client takes gzip
    status, h, body = get(s.port, "/s/big.txt", {"Accept-Encoding": "gzip"})
    assert (status, body) == (200, b"")
    assert h[header] == os.path.realpath(str(site / "public" / "big.txt.gz"))
    assert h["content-encoding"] == "gzip"
    # conditional requests are still answered by the worker
    lm = get(s.port, "/s/css/site.css")[1]["last-modified"]
    assert get(s.port, "/s/css/site.css", {"If-Modified-Since": lm})[0] == 304
    # the app is untouched
    assert get(s.port, "/s/nope.css")[::2] == (200, b"app:/s/nope.css")


def test_x_accel_redirect_behind_nginx_lets_nginx_send_the_file(start, site, tmp_path):
    """nginx passes the request with uwsgi_pass, gets X-Accel-Redirect: /the/real/path and an
    empty body, and serves that path from an internal location: the body, Range and ETag are
    nginx's (neither server sends an ETag)."""
    s = start("--file-serve-mode", "x-accel-redirect", socket="--socket")
    root = os.path.realpath(str(site / "public"))
    nginx = Nginx(tmp_path, """
        include /etc/nginx/uwsgi_params;
        uwsgi_pass 127.0.0.1:%d;
        location ^~ %s/ { internal; root /; }
    """ % (s.port, root))
    try:
        status, h, body = get(nginx.port, "/s/css/site.css")
        assert (status, body) == (200, CSS), nginx.errors()[-2000:]
        assert "etag" in h and "x-accel-redirect" not in h
        assert h["content-type"].startswith("text/css")
        status, h, body = get(nginx.port, "/s/big.txt", {"Range": "bytes=10-19"})
        assert (status, body) == (206, b"x" * 10)
        # the file's real path is not reachable from outside: the location is internal
        assert get(nginx.port, root + "/css/site.css")[0] == 404
        assert get(nginx.port, "/app")[::2] == (200, b"app:/app")
    finally:
        nginx.stop()


@pytest.mark.parametrize("named", [True, False])
def test_static_cache_paths_keep_a_resolution_until_cleared(start, site, named):
    """A symlink re-pointed while its resolution is cached (30 s) still serves the old target;
    clearing that cache (uwsgi.cache_clear from the app) makes the new one seen. With
    --static-cache-paths-name the named cache holds the paths, else the first cache."""
    caches = ["--cache2", "name=other,items=10", "--cache2", "name=paths,items=10"]
    if named:
        args = caches + ["--static-cache-paths", "30", "--static-cache-paths-name", "paths"]
    else:
        args = caches[2:] + caches[:2] + ["--static-cache-paths", "30"]
    s = start(*args)
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 1\n")
    repoint(site, "v2.txt")
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 1\n")  # cached
    get(s.port, "/clear/other")
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 1\n")  # not in that one
    get(s.port, "/clear/paths")
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 2\n")
    # a path that does not resolve is not cached: the file appears, it is served
    assert get(s.port, "/s/late.txt")[::2] == (200, b"app:/s/late.txt")
    (site / "public" / "late.txt").write_bytes(b"late\n")
    assert get(s.port, "/s/late.txt")[::2] == (200, b"late\n")


def test_static_cache_paths_items_expire(start, site):
    s = start("--cache2", "name=paths,items=10", "--static-cache-paths", "1")
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 1\n")
    repoint(site, "v2.txt")
    assert wait_for(lambda: get(s.port, "/s/current.txt")[::2] == (200, b"version 2\n"), 20)


def test_without_static_cache_paths_a_repointed_symlink_is_seen_at_once(start, site):
    s = start()
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 1\n")
    repoint(site, "v2.txt")
    assert get(s.port, "/s/current.txt")[::2] == (200, b"version 2\n")


def run(flavour, site, *args):
    base = ["--http-socket", "127.0.0.1:%d" % free_port(), "--master",
            *flavour.app_args(str(site / "app.py")), "--static-map", "/s=%s/public" % site]
    if flavour.upstream:
        return subprocess.run([UPSTREAM] + base + list(args), capture_output=True, text=True,
                              timeout=60)
    return run_uwsgi(*base, *args)


@pytest.mark.parametrize("args,says", [
    (["--static-cache-paths", "30"], "--cache2"),
    (["--cache2", "name=a,items=10", "--static-cache-paths", "30",
      "--static-cache-paths-name", "nope"], "nope"),
])
def test_static_cache_paths_without_its_cache_is_a_startup_error(flavour, site, args, says):
    """uWSGI: "caching of static paths requires uWSGI caching !!!" / "unable to find cache",
    exit 1; ours names the option and the fix."""
    r = run(flavour, site, *args)
    assert r.returncode != 0
    if not flavour.upstream:
        # an exit, not an abort: the cache plugin's sweeper thread is stopped on the way out
        assert r.returncode == 1 and "terminate called" not in r.stderr, r.stderr[-2000:]
        assert says in r.stderr + r.stdout


@pytest.mark.parametrize("args,says", [
    (["--file-serve-mode", "x-sendfiles"], "--file-serve-mode x-sendfiles: give x-sendfile"),
    (["--static-cache-paths", "soon"], "static-cache-paths"),
    (["--static-cache-paths", "-5", "--cache2", "name=a,items=10"], "number of seconds"),
])
def test_bad_serve_mode_or_cache_seconds_is_a_startup_error(site, args, says):
    """Ours only: uWSGI ignores an unknown --file-serve-mode (and then sends the files itself
    while the front server waits for a header) and reads --static-cache-paths with atoi."""
    from conftest import Flavour
    r = run(Flavour("pypy"), site, *args)
    assert r.returncode != 0
    assert says in r.stderr + r.stdout, r.stderr[-2000:]
