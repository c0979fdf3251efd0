"""Shared fixtures for end-to-end tests: they run the real binary on loopback ports.

Every server a test starts binds a port chosen here (or a path in the test's tmp dir) and is
stopped by its pid at the end of the test, whatever happened.
"""
import http.client
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from process_tree import end_group

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("UWSGI_BUILD_DIR", os.path.join(ROOT, "build"))
UWSGI = os.environ.get("UWSGI_BIN", os.path.join(BUILD, "core", "uwsgi"))
PYPY_HOME = "/usr/lib/pypy3.9"
# Debian's uWSGI and its CPython plugin: the reference a uWSGI-compatibility test runs against.
UPSTREAM = "/usr/bin/uwsgi-core"
UPSTREAM_PLUGINS = "/usr/lib/uwsgi/plugins"
DIST_PACKAGES = "/usr/lib/python3/dist-packages"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, log_path, timeout=30.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s:\n%s" % (proc.returncode, read(log_path)))
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d:\n%s" % (port, read(log_path)))


def in_background(fn):
    """Starts fn() in a thread (a request that holds a worker, say); returns (thread, list that
    gets its result)."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def http_get(port, path="/", timeout=5, host="127.0.0.1"):
    """One GET on a new connection with Python's http.client: (status, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_for(predicate, timeout=15.0):
    """Polls `predicate` until it holds, for at most `timeout` seconds; whether it did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def wait_for_text(read_output, text, count=1, timeout=20.0):
    """Waits (bounded) until `text` appears `count` times in what read_output() returns: a log
    line written after the event a test saw (a request's line comes after its response, the
    start-up lines after the port opens) is not there yet on a loaded machine."""
    return wait_for(lambda: read_output().count(text) >= count, timeout)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Server:
    """A running uwsgi process; `port` is the first socket's port."""

    def __init__(self, args, tmp_path, port=None, env=None, wait=True, cwd=None, stdin=None,
                 preexec_fn=None, binary=None):
        self.port = port or free_port()
        self.log_path = str(tmp_path / ("server-%d.log" % self.port))
        # binary: another server to run the same way (Debian's uwsgi-core, for comparisons)
        self.args = [binary or UWSGI] + [a.replace("{port}", str(self.port)) for a in args]
        # uWSGI 2.0 takes SIGTERM as a brutal reload; SIGINT stops it (and us)
        self.stop_signal = signal.SIGINT if binary == UPSTREAM else signal.SIGTERM
        full_env = dict(os.environ)
        full_env.update(env or {})
        for k in [k for k, v in full_env.items() if v is None]:  # None: remove it
            del full_env[k]
        self.upstream = binary == UPSTREAM
        self.leftovers = []  # [(pid, command line)] still running after the server stopped
        self.log = open(self.log_path, "w")
        # its own session, so its process group (id: its pid) holds every process it starts,
        # whatever happens to the parent links: stop() ends the group, not only the master
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=full_env, cwd=cwd or ROOT,
                                     stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     preexec_fn=preexec_fn, start_new_session=True)
        if wait:
            wait_for_port(self.port, self.proc, self.log_path)

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return read(self.log_path)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self, sig=None, timeout=20):
        """Stops the server by its pid, then ends what is left of its process group (a worker
        that outlived its master), remembering it in self.leftovers."""
        sig = sig or self.stop_signal
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:  # once: the group id may be another server's by a later call
            self.leftovers += end_group(self.proc.pid)
        self.log.close()
        return self.proc.returncode

    def wait_log(self, text, count=1, timeout=20.0):
        return wait_for_text(self.output, text, count, timeout)


class UpstreamProcess:
    """Debian's uWSGI (uwsgi-core), run as a reference: the command's output goes to LOG_PATH;
    stop() ends it by its pid, then its process group."""

    def __init__(self, cmd, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        self.log.flush()
        return read(self.log_path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # upstream: INT shuts down, TERM reloads
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        end_group(self.proc.pid)
        self.log.close()


# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print in a sanitized build
# (tools/sanitize-test); a server that printed one fails its test.
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ")


def sanitizer_report(text):
    for marker in SANITIZER_REPORTS:
        at = text.find(marker)
        if at >= 0:
            start = text.rfind("\n", 0, at) + 1
            return text[start:start + 3000]
    return None


@pytest.fixture
def server(tmp_path):
    """Factory: server(args...) starts a uwsgi process that is stopped after the test."""
    started = []

    def start(*args, **kw):
        s = Server(list(args), tmp_path, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
    for s in started:
        # every process a server started is gone now (stop() ended its group); one that
        # outlived its master is a fault of ours. Debian's uWSGI has one: a --py-autoreload
        # worker can hang in its exit on SIGINT (its master then waits, we kill it, the worker
        # stays) - killed above, only reported.
        if s.leftovers and not s.upstream:
            pytest.fail("left behind by %s: %s" % (" ".join(s.args), s.leftovers))
        if s.leftovers:
            print("Debian's uWSGI left behind (killed): %s" % s.leftovers)
        report = sanitizer_report(s.output())
        if report:
            pytest.fail("sanitizer report from %s:\n%s" % (" ".join(s.args), report))


_plugins = {}


@pytest.fixture
def cert(tmp_path):
    """(certificate, key) paths of a self-signed pair openssl makes for this test."""
    from tls_helpers import make_certificate
    return make_certificate(tmp_path)


def plugin_available(name):
    """True when this build has plugin NAME, as a build-tree .so or linked into the binary."""
    if name not in _plugins:
        found = os.path.exists(os.path.join(BUILD, "plugins", name, name + "_plugin.so"))
        if not found and os.path.exists(UWSGI):
            try:
                out = subprocess.run([UWSGI, "--list-plugins"], capture_output=True, text=True,
                                     timeout=30).stdout
                found = any(line.split()[:1] == [name] for line in out.splitlines())
            except (OSError, subprocess.SubprocessError):
                found = False
        _plugins[name] = found
    return _plugins[name]


# Test modules that need a plugin a build may leave out (-Dplugin_pypy=disabled, as the
# sanitizer build does): their tests are skipped there, saying why.
MODULE_PLUGINS = {
    "test_pypy_plugin.py": ["pypy"],
    "test_pypy_http.py": ["pypy"],
    "test_rpc_pypy.py": ["pypy"],
    "test_library_mode_pypy.py": ["pypy"],
    "test_paste_plugin.py": ["paste", "pypy"],
    "test_config_files.py": ["pypy", "http"],
    "test_config_options.py": ["pypy", "http"],
    "test_cache.py": ["cache"],
    "test_static_files.py": ["pypy", "http"],
}


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_plugin(name): skip unless plugin NAME is built")


def runs_debian_uwsgi(item):
    """A test case parametrized to run Debian's uWSGI (flavour cpython, kind debian)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get("flavour") == "cpython" or params.get("kind") == "debian"


def pytest_collection_modifyitems(config, items):
    for item in items:
        # Debian's uWSGI is the reference these tests encode, and under load it has timing
        # faults of its own (a worker hanging in its exit, a reload that signals one worker of
        # two, a spooler sleeping through its wake-up): its cases get one more try, reported as
        # a rerun ("R"). Ours never do.
        if runs_debian_uwsgi(item):
            item.add_marker(pytest.mark.flaky(reruns=1))
        names = [m.args[0] for m in item.iter_markers("needs_plugin")]
        names += MODULE_PLUGINS.get(os.path.basename(str(item.fspath)), [])
        for name in names:
            if not plugin_available(name):
                item.add_marker(pytest.mark.skip(reason="plugin %s is not built here" % name))
                break


def run_uwsgi(*args, timeout=60, env=None, cwd=None):
    """Runs uwsgi to completion (for commands that print and exit)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([UWSGI] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=cwd or ROOT)


def uwsgi_packet(vars, body=b"", modifier1=0, modifier2=0):
    """Encodes a uwsgi protocol request: 4-byte header, then length-prefixed vars, then body."""
    block = b""
    for k, v in vars.items():
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        block += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return struct.pack("<BHB", modifier1, len(block), modifier2) + block + body


def read_until_closed(sock):
    """Everything the peer sends until it closes (a reset counts as a close: refused requests
    are closed with unread bytes)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def uwsgi_request(port, vars, body=b"", timeout=10, host="127.0.0.1"):
    """Sends one uwsgi request and returns (status, headers dict, body) of the HTTP-like answer."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(uwsgi_packet(vars, body))
        data = read_until_closed(s)
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, payload


def upstream_python_available():
    return os.access(UPSTREAM, os.X_OK) and os.path.exists(
        os.path.join(UPSTREAM_PLUGINS, "python3_plugin.so"))


class Flavour:
    """How to run a WSGI app file on one server: ours on PyPy, or Debian's uWSGI on CPython."""

    def __init__(self, name):
        self.name = name
        self.upstream = name == "cpython"
        self.binary = UPSTREAM if self.upstream else UWSGI

    def app_args(self, app_file):
        """Loads app_file, with its directory on the Python path (for its helpers)."""
        here = os.path.dirname(app_file)
        if self.upstream:
            return ["--plugin", "python3", "--wsgi-file", app_file, "--pythonpath", here]
        return ["--pypy-home", PYPY_HOME, "--pypy-wsgi-file", app_file, "--pypy-pp",
                DIST_PACKAGES, "--pypy-pp", here]

    def __repr__(self):
        return self.name


@pytest.fixture(params=["pypy", "cpython"])
def flavour(request):
    """Parametrizes a test over our server (PyPy) and Debian's uWSGI (CPython plugin), so the
    test encodes uWSGI's behaviour, not ours."""
    if request.param == "cpython" and not upstream_python_available():
        pytest.skip("Debian's uwsgi-core with uwsgi-plugin-python3 is not installed")
    if request.param == "pypy" and not plugin_available("pypy"):
        pytest.skip("plugin pypy is not built here")
    return Flavour(request.param)
