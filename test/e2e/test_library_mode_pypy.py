"""Library mode: Debian's pypy3 runs examples/fakeuwsgi.py, which loads libuwsgi.so with ctypes
and calls uwsgi_init(); the pypy plugin adopts the running PyPy (no --pypy-home/--pypy-lib)."""
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import BUILD, ROOT, free_port, http_get, read, wait_for, wait_for_port, wait_for_text

PYPY = "/usr/bin/pypy3"
FAKEUWSGI = os.path.join(ROOT, "examples", "fakeuwsgi.py")
HELLO_DIR = os.path.join(ROOT, "examples", "hello")
LIBUWSGI = os.environ.get("UWSGI_LIB", os.path.join(BUILD, "core", "libuwsgi.so"))
PROFILE_LIB = os.environ.get("UWSGI_PROFILE_LIB",
                             os.path.join(BUILD, "test", "profile", "libuwsgi.so"))

pytestmark = pytest.mark.skipif(not os.path.exists(PYPY), reason="needs Debian's pypy3")


class Launcher:
    """pypy3 fakeuwsgi.py ARGS, logging to a file; stopped by pid at the end of the test."""

    def __init__(self, tmp_path, args, lib=LIBUWSGI, launcher=FAKEUWSGI, cwd=ROOT):
        if not os.path.exists(lib):
            pytest.skip("%s not built (meson -Das_lib=true)" % lib)
        self.port = free_port()
        self.log_path = str(tmp_path / ("fakeuwsgi-%d.log" % self.port))
        self.log = open(self.log_path, "w")
        env = dict(os.environ, LIBUWSGI=lib)
        env.pop("UWSGI_PLUGIN_PATH", None)
        argv = [PYPY, launcher] + [a.replace("{port}", str(self.port)) for a in args]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=cwd, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, self.log_path, timeout=60)

    def output(self):
        self.log.flush()
        return read(self.log_path)

    def wait_log(self, text, count=1, timeout=30.0):
        return wait_for_text(self.output, text, count, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def launcher(tmp_path):
    started = []

    def start(*args, **kw):
        s = Launcher(tmp_path, list(args), **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


SERVE_HELLO = ["--http-socket", "127.0.0.1:{port}", "--master", "--processes", "2",
               "--threads", "8", "--pypy-pp", HELLO_DIR, "--pypy-wsgi", "app"]


def test_fakeuwsgi_serves_hello_with_2_processes_and_8_threads(launcher):
    s = launcher(*SERVE_HELLO)
    # the port opens before the apps load and the start-up lines are written: wait for them
    assert s.wait_log("2 process(es) x 8 thread(s), with master"), s.output()
    assert s.wait_log("process titles are left alone"), s.output()
    out = s.output()
    assert "PyPy already running in this process" in out
    assert "libpypy3.9-c.so" in out  # the one pypy3 itself runs on, not one the plugin loaded
    assert "[pypy] loaded" not in out
    assert wait_for(lambda: len(children(s.proc.pid)) == 2)

    results = []

    def one():
        results.append(http_get(s.port, timeout=20))

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(200, b"Hello World")] * 16
    assert s.stop() == 0


def test_sighup_reload_reexecutes_the_launcher_and_keeps_serving(launcher, tmp_path):
    s = launcher(*SERVE_HELLO, "--binary-path", FAKEUWSGI)
    assert http_get(s.port, timeout=20) == (200, b"Hello World")
    ok, failed = [], []
    running = True

    def loop():
        while running:
            try:
                (ok if http_get(s.port, timeout=20) == (200, b"Hello World") else failed).append(1)
            except OSError as e:
                failed.append(repr(e))

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    time.sleep(0.5)
    os.kill(s.proc.pid, signal.SIGHUP)
    assert s.wait_log("reloading: executing " + FAKEUWSGI)
    assert s.wait_log("2 process(es) x 8 thread(s)", count=2), s.output()
    assert wait_for(lambda: len(children(s.proc.pid)) == 2)
    before = len(ok)
    assert wait_for(lambda: len(ok) > before + 5)
    running = False
    t.join(timeout=30)
    out = s.output()
    assert s.proc.poll() is None, out  # the same pid serves on
    assert out.count("PyPy already running in this process") == 2
    assert not failed, (failed[:5], out)


def test_reload_without_binary_path_reexecutes_the_host_command_line(launcher, tmp_path):
    # A launcher without the exec bit: only `pypy3 launcher.py` can run it again.
    script = tmp_path / "launcher.py"
    shutil.copy(FAKEUWSGI, script)
    os.chmod(script, 0o644)
    s = launcher("--http-socket", "127.0.0.1:{port}", "--master", "--pypy-pp", HELLO_DIR,
                 "--pypy-wsgi", "app", launcher=str(script))
    os.kill(s.proc.pid, signal.SIGHUP)
    assert s.wait_log("reloading: executing %s (%s %s" % (os.path.realpath(PYPY), PYPY, script))
    assert s.wait_log("uwsgi 0.1.0 serving", count=2), s.output()
    assert http_get(s.port, timeout=20) == (200, b"Hello World")


def test_profile_library_has_the_plugins_linked_in(launcher, tmp_path):
    # Outside the build tree's plugin folders: everything comes from the library itself.
    s = launcher("--http-socket", "127.0.0.1:{port}", "--pypy-pp", HELLO_DIR, "--pypy-wsgi",
                 "app", lib=PROFILE_LIB, cwd=str(tmp_path))
    assert http_get(s.port, timeout=20) == (200, b"Hello World")
    for line in ("plugin pypy 0.1.0 active (built-in pypy)",
                 "plugin http 0.1.0 active (built-in http)", "PyPy already running in this process"):
        assert s.wait_log(line), s.output()
