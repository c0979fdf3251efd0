"""Profiles: a binary with plugins linked in (the pypy profile: pypy, http, rpc, cache) serves without
--plugin and without any NAME_plugin.so. The build makes one in BUILD/test/profile/ from the same
plugin libraries as -Dprofile=pypy (and `UWSGI_PROFILE=pypy make`); it sits outside BUILD/core/, so
it finds no build-tree plugins."""
import http.client
import os
import subprocess

import pytest

import conftest
from conftest import BUILD, ROOT, Server

PROFILE_BIN = os.environ.get("UWSGI_PROFILE_BIN", os.path.join(BUILD, "test", "profile", "uwsgi"))
HELLO_DIR = os.path.join(ROOT, "examples", "hello")


@pytest.fixture
def profile_server(tmp_path, monkeypatch):
    """conftest's server factory, starting the profile binary with no plugin path."""
    monkeypatch.setattr(conftest, "UWSGI", PROFILE_BIN)
    monkeypatch.delenv("UWSGI_PLUGIN_PATH", raising=False)
    started = []

    def start(*args):
        s = Server(list(args), tmp_path, cwd=str(tmp_path))
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def run_profile(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "UWSGI_PLUGIN_PATH"}
    return subprocess.run([PROFILE_BIN] + list(args), capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd)


def test_profile_binary_lists_its_built_in_plugins(tmp_path):
    r = run_profile("--list-plugins", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines() if not line.startswith(" ")]
    assert names == ["pypy", "http", "rpc", "cache"]
    assert "pypy 0.1.0 (ABI 1.1) built-in pypy" in r.stdout
    assert ".so" not in r.stdout  # nothing came from a plugin file


def test_profile_binary_serves_hello_without_plugin_option(profile_server):
    s = profile_server("--http-socket", "127.0.0.1:{port}", "--pypy-pp", HELLO_DIR,
                       "--pypy-wsgi", "app")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"Hello World")
    conn.close()
    assert s.wait_log("plugin http 0.1.0 active (built-in http)"), s.output()
    assert s.wait_log("plugin pypy 0.1.0 active (built-in pypy)"), s.output()


def test_profile_binary_prints_the_embedded_setup_script(tmp_path):
    r = run_profile("--print-sym", "uwsgi_pypy_setup", cwd=str(tmp_path))
    assert r.returncode == 0
    # the script as it runs: the source completed with the cdef generated from the headers
    with open(os.path.join(BUILD, "plugins", "pypy", "pypy_setup.py")) as f:
        assert r.stdout == f.read()


def test_makefile_maps_the_documented_variables_to_meson_options():
    def dry_run(**env):
        return subprocess.run(["make", "-n", "-C", ROOT], capture_output=True, text=True,
                              env=dict(os.environ, **env), timeout=30).stdout

    out = dry_run(UWSGI_PROFILE="pypy")
    assert "-Dprofile=pypy -Das_lib=false" in out
    assert "meson compile -C build-pypy core/uwsgi:executable" in out
    assert "ln -sfn build-pypy/core/uwsgi uwsgi" in out
    out = dry_run(UWSGI_PROFILE="pypy", UWSGI_AS_LIB="libuwsgi.so")
    assert "-Dprofile=pypy -Das_lib=true" in out
    assert "meson compile -C build-pypy core/libuwsgi:shared_library" in out
    assert "ln -sfn build-pypy/core/libuwsgi.so libuwsgi.so" in out
