"""End-to-end tests of the pypy plugin: the real uwsgi binary, real sockets, the uwsgi protocol.

Run with Debian's Python: /usr/bin/python3 -m pytest test/e2e/test_pypy_plugin.py
UWSGI_BIN overrides the binary (default build/core/uwsgi under the repository).
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import wait_for_text

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UWSGI = os.environ.get("UWSGI_BIN", os.path.join(ROOT, "build", "core", "uwsgi"))
BUILD = os.environ.get("UWSGI_BUILD_DIR", os.path.join(ROOT, "build"))
# The setup script as it runs: plugins/pypy/pypy_setup.py completed at build time with the cdef
# generated from the headers.
SETUP_PY = os.path.join(BUILD, "plugins", "pypy", "pypy_setup.py")
SETUP_SOURCE = os.path.join(ROOT, "plugins", "pypy", "pypy_setup.py")
PYPY_HOME = os.environ.get("PYPY_HOME_FOR_TESTS", "/usr/lib/pypy3.9")

pytestmark = pytest.mark.skipif(not os.path.exists(UWSGI), reason="no uwsgi binary at " + UWSGI)


# ---------------------------------------------------------------------------------------------
# helpers (candidates for the shared conftest)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(object):
    def __init__(self, args, log_path, port):
        self.port = port
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        self.proc = subprocess.Popen([UWSGI, "--socket", "127.0.0.1:%d" % port] + args,
                                     cwd=ROOT, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=20):
        return wait_for_text(self.log, text, timeout=timeout)

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("uwsgi exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("uwsgi did not listen within %ss:\n%s" % (timeout, self.log()))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()

    def request(self, path="/", body=b"", method=None, extra=None, timeout=15):
        return uwsgi_request(self.port, path, body, method, extra, timeout)


def uwsgi_packet(vars_):
    payload = b""
    for k, v in vars_:
        k = k if isinstance(k, bytes) else k.encode("latin-1")
        v = v if isinstance(v, bytes) else v.encode("latin-1")
        payload += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return struct.pack("<BHB", 0, len(payload), 0) + payload


def uwsgi_request(port, path="/", body=b"", method=None, extra=None, timeout=15):
    """One request over the uwsgi protocol; returns (status_code, headers dict, body bytes)."""
    path, _, query = path.partition("?")
    vars_ = [("REQUEST_METHOD", method or ("POST" if body else "GET")),
             ("SCRIPT_NAME", ""), ("PATH_INFO", path), ("QUERY_STRING", query),
             ("SERVER_NAME", "localhost"), ("SERVER_PORT", str(port)),
             ("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", "127.0.0.1"),
             ("HTTP_HOST", "localhost")]
    if body:
        vars_ += [("CONTENT_LENGTH", str(len(body))),
                  ("CONTENT_TYPE", "application/octet-stream")]
    vars_ += list(extra or [])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(uwsgi_packet(vars_) + body)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    raw = b"".join(chunks)
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, "no response head in %r" % raw[:200]
    lines = head.split(b"\r\n")
    code = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode("latin-1")
    return code, headers, rest


@pytest.fixture
def server(tmp_path):
    started = []

    def start(*args, ready=True):
        srv = Server(["--pypy-home", PYPY_HOME] + list(args), str(tmp_path / "uwsgi.log"),
                     free_port())
        started.append(srv)
        return srv.wait_ready() if ready else srv

    yield start
    for srv in started:
        srv.stop()


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def run_uwsgi(args, timeout=60, env=None):
    return subprocess.run([UWSGI] + args, cwd=ROOT, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


# ---------------------------------------------------------------------------------------------
# loading apps

def test_hello_by_module(server):
    srv = server("--pypy-pp", "examples/hello", "--pypy-wsgi", "app")
    assert srv.request("/") == (200, {"content-type": "text/plain", "content-length": "11"},
                                b"Hello World")
    assert srv.wait_log("app:application"), srv.log()


def test_hello_by_file(server):
    srv = server("--pypy-wsgi-file", "examples/hello/app.wsgi")
    code, _, body = srv.request("/")
    assert (code, body) == (200, b"Hello World")
    assert srv.wait_log("app.wsgi:application"), srv.log()


def test_wsgi_file_with_callable_option(server, tmp_path):
    path = write(tmp_path, "other.wsgi", """
        def other(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"other callable"]
    """)
    srv = server("--pypy-wsgi-file", path, "--callable", "other")
    assert srv.request("/")[2] == b"other callable"


def test_module_with_explicit_callable_and_pythonpath_aliases(server, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, "helper_a.py", "VALUE = b'from a'\n")
    write(b, "mymod.py", """
        import helper_a
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [helper_a.VALUE]
    """)
    srv = server("--pypy-python-path", str(a), "--pypy-pythonpath", str(b),
                 "--pypy-wsgi", "mymod:app")
    assert srv.request("/")[2] == b"from a"


def test_pypy_pp_first_in_sys_path(server, tmp_path):
    write(tmp_path, "ppapp.py", """
        import sys
        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [repr(sys.path[:2]).encode()]
    """)
    srv = server("--pypy-pp", str(tmp_path), "--pypy-pp", "/nonexistent-pp",
                 "--pypy-wsgi", "ppapp")
    assert srv.request("/")[2] == repr([str(tmp_path), "/nonexistent-pp"]).encode()


def test_app_that_fails_to_import_is_logged_and_need_app_exits(tmp_path):
    write(tmp_path, "broken.py", "raise ImportError('deliberately broken')\n")
    r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port(), "--pypy-home", PYPY_HOME,
                   "--pypy-pp", str(tmp_path), "--pypy-wsgi", "broken"])
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode != 0
    assert "deliberately broken" in out and "--pypy-wsgi broken" in out


# ---------------------------------------------------------------------------------------------
# the setup script

def test_print_sym_is_the_setup_source():
    r = run_uwsgi(["--print-sym", "uwsgi_pypy_setup"])
    assert r.returncode == 0, r.stderr
    with open(SETUP_PY, "rb") as f:
        assert r.stdout == f.read()


def test_pypy_setup_override(server, tmp_path):
    with open(SETUP_PY) as f:
        source = f.read()
    custom = write(tmp_path, "custom_setup.py",
                   source + "\nsys.modules['uwsgi'].setup_marker = b'custom setup ran'\n")
    app = write(tmp_path, "marker.wsgi", """
        import uwsgi
        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [uwsgi.setup_marker]
    """)
    srv = server("--pypy-setup", custom, "--pypy-wsgi-file", app)
    assert srv.request("/")[2] == b"custom setup ran"


def refused_output(tmp_path, after, added):
    """The start-up output of a setup script whose cdef has the field declaration `added` after
    the line `after`; the plugin must refuse to start."""
    with open(SETUP_PY) as f:
        source = f.read()
    needle = after + "\n"
    assert source.count(needle) == 1
    bad = write(tmp_path, "bad_setup.py", source.replace(needle, needle + added + "\n"))
    r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port(), "--pypy-home", PYPY_HOME,
                   "--pypy-setup", bad, "--pypy-wsgi-file", "examples/hello/app.wsgi"])
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode != 0
    assert "does not match this plugin" in out
    return out


def test_setup_whose_cdef_disagrees_is_refused(tmp_path):
    """The C struct and the script's cdef are checked field by field at startup."""
    out = refused_output(tmp_path, "    int32_t library_mode;", "    int32_t surprise;")
    assert "uwsgi_pypy_api.surprise" in out
    assert "uwsgi_pypy_api.load_apps is 56 in the setup script's cdef but 48" in out


def test_setup_whose_call_struct_disagrees_is_refused(tmp_path):
    """The per-thread uwsgi_pypy_call the hooks read their arguments from is checked too."""
    out = refused_output(tmp_path, "    size_t count;", "    int32_t surprise;")
    assert "uwsgi_pypy_call.surprise" in out
    assert "uwsgi_pypy_call.result is 64 in the setup script's cdef but 56" in out


def test_generated_cdef_follows_the_headers():
    """The cdef is made from plugin.h at build time: the newest host table field is in it, with
    the declaration plugin.h gives, and the source file carries no hand copy of any struct."""
    with open(os.path.join(ROOT, "plugin-api", "include", "uwsgi", "plugin.h")) as f:
        header = f.read()
    host = header[header.index("typedef struct uwsgi_host {"):header.index("} uwsgi_host;")]
    newest = [l.split("/*")[0].rstrip() for l in host.splitlines() if "(*" in l][-1]
    with open(SETUP_PY) as f:
        generated = f.read()
    assert newest in generated.splitlines()
    with open(SETUP_SOURCE) as f:
        assert "typedef struct" not in f.read()


def test_setup_source_without_generated_cdef_is_refused_clearly(tmp_path):
    r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port(), "--pypy-home", PYPY_HOME,
                   "--pypy-setup", SETUP_SOURCE, "--pypy-wsgi-file", "examples/hello/app.wsgi"])
    assert r.returncode != 0
    assert b"run the complete script: uwsgi --print-sym uwsgi_pypy_setup" in r.stdout + r.stderr


def test_not_a_setup_script_is_refused(tmp_path):
    bad = write(tmp_path, "nothing.py", "x = 1\n")
    r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port(), "--pypy-home", PYPY_HOME,
                   "--pypy-setup", bad, "--pypy-wsgi-file", "examples/hello/app.wsgi"])
    assert r.returncode != 0
    assert b"never called check_layout()" in r.stdout + r.stderr


def test_missing_library_lists_paths_tried(tmp_path):
    r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port(),
                   "--pypy-lib", str(tmp_path / "libpypy-nope.so"),
                   "--pypy-wsgi-file", "examples/hello/app.wsgi"])
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode != 0
    assert "cannot load libpypy-c" in out and "libpypy-nope.so (--pypy-lib)" in out


def test_a_home_that_is_not_pypy_fails_listing_the_paths_tried(tmp_path):
    """Issue 12: an empty or foreign --pypy-home used to load Debian's library through the
    dynamic linker and run with whatever standard library PyPy found; now it is refused."""
    for flag in (["--pypy-home", str(tmp_path)], []):
        env = {} if flag else {"PYPY_HOME": str(tmp_path)}
        r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port()] + flag +
                      ["--pypy-wsgi-file", str(tmp_path / "missing.wsgi"), "--need-app"], env=env)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        assert r.returncode != 0
        assert "%s (%s) is not a PyPy installation" % (
            tmp_path, "--pypy-home" if flag else "$PYPY_HOME") in out, out
        assert str(tmp_path / "lib_pypy" / "_pypy_interact.py") in out
        assert str(tmp_path / "lib" / "pypy3.10" / "_pypy_interact.py") in out
        assert "[pypy] loaded" not in out


# ---------------------------------------------------------------------------------------------
# eval / exec, fork

FORK_APP = """
    import os, json, uwsgi, __main__
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({
            "pid": os.getpid(),
            "master": uwsgi.masterpid(),
            "worker": uwsgi.worker_id(),
            "eval": os.environ.get("T_EVAL"),
            "exec": getattr(__main__, "T_EXEC", None),
            "eval_post": os.environ.get("T_EVAL_POST"),
            "exec_post": getattr(__main__, "T_EXEC_POST", None),
            "hook": os.environ.get("T_HOOK"),
        }).encode()]
"""


def test_eval_and_exec_before_and_after_fork(server, tmp_path):
    import json
    app = write(tmp_path, "fork.wsgi", FORK_APP)
    pre = write(tmp_path, "pre.py", "import os\nT_EXEC = os.getpid()\n")
    post = write(tmp_path, "post.py", "import os\nT_EXEC_POST = os.getpid()\n")
    srv = server("--master", "--processes", "2",
                 "--pypy-eval", "import os; os.environ['T_EVAL'] = str(os.getpid())",
                 "--pypy-eval", "import uwsgi, os\n"
                                "def hook(): os.environ['T_HOOK'] = str(os.getpid())\n"
                                "uwsgi.post_fork_hook = hook",
                 "--pypy-exec", pre,
                 "--pypy-eval-post-fork", "import os; os.environ['T_EVAL_POST'] = str(os.getpid())",
                 "--pypy-exec-post-fork", post,
                 "--pypy-wsgi-file", app)
    seen = set()
    for _ in range(20):
        code, _, body = srv.request("/")
        assert code == 200
        d = json.loads(body)
        pid = d["pid"]
        assert pid != d["master"]
        assert int(d["eval"]) == d["master"] == d["exec"]
        assert int(d["eval_post"]) == pid == d["exec_post"] == int(d["hook"])
        assert d["worker"] in (1, 2)
        seen.add(pid)
    assert len(seen) >= 1


def test_failing_eval_is_fatal(tmp_path):
    r = run_uwsgi(["--socket", "127.0.0.1:%d" % free_port(), "--pypy-home", PYPY_HOME,
                   "--pypy-eval", "raise RuntimeError('eval says no')",
                   "--pypy-wsgi-file", "examples/hello/app.wsgi"])
    assert r.returncode != 0
    assert b"eval says no" in r.stdout + r.stderr


# ---------------------------------------------------------------------------------------------
# WSGI behaviour

WSGI_APP = r'''
import os, sys, uwsgi

def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise ValueError("boom from the app")
    if path == "/str":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes"]
    if path == "/badheader":
        start_response("200 OK", [("X-Bad", "a\r\nInjected: yes")])
        return [b"x"]
    if path == "/header-as-list":
        start_response("200 OK", [["Content-Type", "text/plain"]])
        return [b"x"]
    if path == "/content-type":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr((environ.get("CONTENT_TYPE"), "HTTP_CONTENT_TYPE" in environ,
                      environ["SCRIPT_NAME"], environ["wsgi.url_scheme"])).encode()]
    if path == "/echo":
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [data]
    if path == "/echo-lines":
        lines = list(environ["wsgi.input"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(len(lines)).encode() + b":"] + lines
    if path == "/query":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [environ["QUERY_STRING"].encode("latin-1")]
    if path == "/env":
        start_response("200 OK", [("Content-Type", "text/plain")])
        keys = ("wsgi.version", "wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess",
                "wsgi.run_once", "wsgi.input_terminated")
        return [repr([environ[k] for k in keys]).encode()]
    if path == "/file":
        f = open(__file__, "rb")
        f.seek(7)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](f)
    if path == "/write-gen":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written,")
        def gen():
            yield b"one,"
            yield b""
            yield b"two"
        return gen()
    if path == "/exc-info":
        try:
            raise KeyError("handled")
        except KeyError:
            start_response("200 OK", [("Content-Type", "text/plain")])
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"replaced"]
    if path == "/pid":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
    if path == "/uwsgi":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr((uwsgi.version, uwsgi.numproc, uwsgi.worker_id(),
                      uwsgi.opt.get("pypy-wsgi-file"), uwsgi.request_id() >= 0)).encode()]
    if path == "/rpc":
        try:
            uwsgi.register_rpc("hello", lambda: b"hi")
            msg = "registered"
        except RuntimeError as e:
            msg = str(e)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [msg.encode()]
    if path == "/stream-until-gone":
        write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
        try:
            for _ in range(100000):
                write(b"x" * 65536)
        except OSError as e:
            with open(environ["QUERY_STRING"], "w") as f:
                f.write(type(e).__name__ + ": " + str(e))
            raise
        return []
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
'''


@pytest.fixture
def wsgi_server(server, tmp_path):
    return server("--pypy-wsgi-file", write(tmp_path, "app.wsgi", WSGI_APP))


def test_app_exception_is_500_and_worker_keeps_serving(wsgi_server):
    pid = wsgi_server.request("/pid")[2]
    code, _, body = wsgi_server.request("/boom")
    assert code == 500
    assert wsgi_server.wait_log("ValueError: boom from the app"), wsgi_server.log()
    assert "Traceback" in wsgi_server.log()
    assert wsgi_server.request("/pid") == (200, {"content-type": "text/plain",
                                                 "content-length": str(len(pid))}, pid)


def test_str_body_item_is_500(wsgi_server):
    assert wsgi_server.request("/str")[0] == 500
    assert wsgi_server.wait_log("must yield bytes, not str"), wsgi_server.log()
    assert wsgi_server.request("/pid")[0] == 200


def test_header_with_crlf_is_500(wsgi_server):
    code, headers, _ = wsgi_server.request("/badheader")
    assert code == 500
    assert "injected" not in headers


def test_repeated_header_lists_and_var_sets_are_still_checked(wsgi_server):
    """The plugin remembers header lists and var name sets it has seen (pypy_setup.py's
    _header_set and _KeySet): a repeat must answer the same, and anything new is checked."""
    for _ in range(3):
        pid = wsgi_server.request("/pid")
        assert pid == (200, {"content-type": "text/plain", "content-length": str(len(pid[2]))},
                       pid[2])
        assert wsgi_server.request("/badheader")[0] == 500
        assert wsgi_server.request("/header-as-list")[0] == 500
    assert wsgi_server.wait_log("each header must be a (name, value) tuple"), wsgi_server.log()
    for _ in range(2):
        # a CGI name the client sent as HTTP_ is renamed, unless it sent both
        assert wsgi_server.request("/content-type", extra=[("HTTP_CONTENT_TYPE", "a/b")])[2] \
            == repr(("a/b", False, "", "http")).encode()
        assert wsgi_server.request("/content-type", extra=[("HTTP_CONTENT_TYPE", "a/b"),
                                                           ("CONTENT_TYPE", "c/d")])[2] \
            == repr(("c/d", False, "", "http")).encode()
        assert wsgi_server.request("/content-type", extra=[("HTTPS", "on")])[2] \
            == repr((None, False, "", "https")).encode()
        assert wsgi_server.request("/content-type", extra=[("wsgi.url_scheme", "ftp")])[2] \
            == repr((None, False, "", "http")).encode()


def test_binary_safe_body_echo(wsgi_server):
    body = bytes(range(256)) * 1024 + b"\r\n\0tail"
    code, _, echoed = wsgi_server.request("/echo", body=body)
    assert code == 200
    assert echoed == body


def test_readline_iteration(wsgi_server):
    code, _, body = wsgi_server.request("/echo-lines", body=b"a\nbb\n\nlast")
    assert body == b"4:a\nbb\n\nlast"


def test_environ_values_are_latin1_str(wsgi_server):
    raw = bytes(range(0x80, 0x100))
    code, _, body = wsgi_server.request("/query?" + raw.decode("latin-1"))
    assert body == raw


def test_environ_wsgi_keys(wsgi_server):
    body = wsgi_server.request("/env")[2]
    assert body == repr([(1, 0), "http", False, False, False, True]).encode()
    body = wsgi_server.request("/env", extra=[("HTTPS", "on")])[2]
    assert b"'https'" in body


def test_file_wrapper_sends_from_current_position(wsgi_server, tmp_path):
    with open(tmp_path / "app.wsgi", "rb") as f:
        expected = f.read()[7:]
    code, headers, body = wsgi_server.request("/file")
    assert code == 200
    assert body == expected
    assert headers["content-length"] == str(len(expected))


def test_write_callable_and_generator(wsgi_server):
    assert wsgi_server.request("/write-gen")[2] == b"written,one,two"


def test_exc_info_replaces_status_before_headers_are_sent(wsgi_server):
    code, _, body = wsgi_server.request("/exc-info")
    assert (code, body) == (503, b"replaced")


def test_uwsgi_module(wsgi_server, tmp_path):
    body = wsgi_server.request("/uwsgi")[2]
    version, numproc, worker, opt, has_id = eval(body)
    assert isinstance(version, bytes) and version
    assert numproc >= 1 and worker >= 1
    assert opt == str(tmp_path / "app.wsgi").encode()
    assert has_id


def test_wsgiref_validator(server, tmp_path):
    app = write(tmp_path, "validated.wsgi", """
        from wsgiref.validate import validator

        def inner(environ, start_response):
            inp = environ["wsgi.input"]
            first = inp.readline()
            rest = inp.read(int(environ.get("CONTENT_LENGTH") or 0) - len(first))
            environ["wsgi.errors"].write("validated request\\n")
            environ["wsgi.errors"].flush()
            body = b"first=" + first + b";rest=" + rest
            start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", str(len(body)))])
            return [body]

        application = validator(inner)
    """)
    srv = server("--pypy-wsgi-file", app)
    for _ in range(3):
        code, _, body = srv.request("/v", body=b"line1\nline2\nline3")
        assert (code, body) == (200, b"first=line1\n;rest=line2\nline3")
        code, _, body = srv.request("/v")
        assert (code, body) == (200, b"first=;rest=")
    assert srv.wait_log("validated request"), srv.log()
    log = srv.log()
    assert "AssertionError" not in log and "WSGIWarning" not in log


def test_threads_serve_concurrently(server, tmp_path):
    import threading
    app = write(tmp_path, "threads.wsgi", """
        import threading
        def application(environ, start_response):
            data = environ["wsgi.input"].read()
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [threading.current_thread().name.encode() + b"|" + data]
    """)
    srv = server("--processes", "2", "--master", "--threads", "4", "--pypy-wsgi-file", app)
    errors = []

    def client(n):
        try:
            for i in range(25):
                payload = ("%d-%d" % (n, i)).encode()
                code, _, body = srv.request("/", body=payload)
                assert code == 200 and body.endswith(b"|" + payload), body
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_rpc_without_rpc_plugin_is_a_clear_error(wsgi_server):
    body = wsgi_server.request("/rpc")[2]
    assert body == b"registered" or b"no plugin offers the uwsgi.rpc/1 extension" in body


def test_write_raises_when_client_disconnects(wsgi_server, tmp_path):
    marker = tmp_path / "gone.txt"
    with socket.create_connection(("127.0.0.1", wsgi_server.port), timeout=10) as s:
        vars_ = [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/stream-until-gone"),
                 ("QUERY_STRING", str(marker)), ("SERVER_NAME", "localhost"),
                 ("SERVER_PORT", "80"), ("SERVER_PROTOCOL", "HTTP/1.1")]
        s.sendall(uwsgi_packet(vars_))
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    def written():  # the file exists before the app has written its line
        return marker.exists() and "client disconnected" in marker.read_text()
    deadline = time.time() + 15
    while not written() and time.time() < deadline:
        time.sleep(0.1)
    assert written(), wsgi_server.log()
    assert wsgi_server.request("/pid")[0] == 200


def test_lazy_apps_load_in_each_worker(server, tmp_path):
    import json
    app = write(tmp_path, "fork.wsgi", FORK_APP)
    srv = server("--master", "--processes", "2", "--lazy-apps",
                 "--pypy-eval", "import os; os.environ['T_EVAL'] = str(os.getpid())",
                 "--pypy-wsgi-file", app)
    for _ in range(6):
        d = json.loads(srv.request("/")[2])
        assert int(d["eval"]) == d["pid"] != d["master"]


def test_pypy_home_from_environment():
    env = dict(os.environ, PYPY_HOME=PYPY_HOME)
    r = subprocess.run([UWSGI, "--socket", "127.0.0.1:%d" % free_port(),
                        "--pypy-wsgi-file", "/nonexistent/app.wsgi"],
                       cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert ("home %s from $PYPY_HOME" % PYPY_HOME).encode() in r.stdout


LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"


@pytest.mark.skipif(not os.path.exists(LIBPYTHON), reason="no libpython to preload")
def test_cpython_in_the_process_is_refused():
    env = dict(os.environ, LD_PRELOAD=LIBPYTHON)
    r = subprocess.run([UWSGI, "--socket", "127.0.0.1:%d" % free_port(),
                        "--pypy-home", PYPY_HOME, "--pypy-wsgi-file", "examples/hello/app.wsgi"],
                       cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert r.returncode != 0
    assert b"a CPython library is already loaded in this process" in r.stdout
