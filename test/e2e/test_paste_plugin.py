"""The paste plugin: paste.deploy apps, and .ini files whose [uwsgi] section is configuration."""
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import ROOT, free_port, run_uwsgi

EXAMPLE = os.path.join(ROOT, "examples", "paste")
DIST = "/usr/lib/python3/dist-packages"


def example_copy(tmp_path, port):
    """The example ini with a test-chosen port, beside a copy of its app module."""
    shutil.copy(os.path.join(EXAMPLE, "paste_example.py"), tmp_path)
    text = open(os.path.join(EXAMPLE, "app.ini")).read()
    ini = tmp_path / "app.ini"
    ini.write_text(text.replace("127.0.0.1:9091", "127.0.0.1:%d" % port))
    return str(ini)


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return out.stdout.split()


# --ini-paste / --paste: the names uWSGI's CPython plugin gives them
@pytest.mark.parametrize("option", ["--pypy-ini-paste", "--ini-paste"])
def test_ini_paste_serves_the_pipeline_with_uwsgi_section_in_force(server, tmp_path, option):
    port = free_port()
    s = server(option, example_copy(tmp_path, port), port=port)
    with urllib.request.urlopen(s.url("/hello"), timeout=10) as r:
        assert r.read() == b"Hello from paste.deploy"
        assert r.headers["X-Paste-Filter"] == "stamped in %s" % tmp_path
    # [uwsgi] master = true, processes = 2
    assert s.wait_log("2 process(es)") and s.wait_log("with master"), s.output()
    deadline = time.time() + 10
    while len(children(s.pid)) != 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(children(s.pid)) == 2
    # the ini's logging sections configured Python's logging
    assert s.wait_log("paste-app: serving /hello"), s.output()


@pytest.mark.parametrize("option", ["--pypy-paste", "--paste"])
def test_paste_with_options_on_the_command_line(server, tmp_path, option):
    port = free_port()
    ini = example_copy(tmp_path, port)
    s = server("--http-socket", "127.0.0.1:{port}", option, "config:" + ini,
               "--pypy-pp", str(tmp_path), "--pypy-pp", DIST, port=port)
    with urllib.request.urlopen(s.url("/"), timeout=10) as r:
        assert r.read() == b"Hello from paste.deploy"
    assert "with master" not in s.output()  # the [uwsgi] section is not read by --pypy-paste


def test_relative_path_and_named_app(server, tmp_path):
    port = free_port()
    example_copy(tmp_path, port)
    s = server("--http-socket", "127.0.0.1:{port}", "--pypy-paste", "app.ini#hello",
               "--pypy-pp", str(tmp_path), "--pypy-pp", DIST, port=port, cwd=str(tmp_path))
    with urllib.request.urlopen(s.url("/"), timeout=10) as r:
        assert r.read() == b"Hello from paste.deploy"
        assert "X-Paste-Filter" not in r.headers  # the app alone, without the pipeline


def test_missing_file_is_a_clear_error():
    r = run_uwsgi("--http-socket", "127.0.0.1:0", "--pypy-paste", "/no/such/app.ini")
    assert r.returncode != 0
    assert "cannot read /no/such/app.ini" in r.stderr


def test_ini_without_the_app_section_is_a_clear_error(tmp_path):
    ini = tmp_path / "broken.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\n\n[app:other]\nuse = call:x:y\n")
    r = run_uwsgi("--pypy-ini-paste", str(ini))
    assert r.returncode != 0
    assert "defines no app 'main'" in r.stderr


def test_ini_paste_without_uwsgi_section_is_a_clear_error(tmp_path):
    ini = tmp_path / "nouwsgi.ini"
    ini.write_text("[app:main]\nuse = call:x:y\n")
    r = run_uwsgi("--pypy-ini-paste", str(ini))
    assert r.returncode != 0
    assert "has no [uwsgi] section" in r.stderr


def test_unknown_entry_point_fails_with_need_app(tmp_path):
    port = free_port()
    ini = tmp_path / "bad.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:%d\npypy-pp = %s\n\n[app:main]\n"
                   "use = call:no_such_module:factory\n" % (port, DIST))
    r = run_uwsgi("--pypy-ini-paste", str(ini))
    assert r.returncode == 22
    assert "no_such_module" in r.stderr
    assert "no app loaded" in r.stderr


def test_missing_paste_deploy_says_which_package_to_install(tmp_path):
    port = free_port()
    ini = example_copy(tmp_path, port)
    # Debian's PyPy sees /usr/lib/python3/dist-packages; take it away as if the package were absent
    # (a .pth file there may have imported the `paste` namespace package already)
    hide = ("import sys; sys.path[:] = [p for p in sys.path if 'dist-packages' not in p]; "
            "[sys.modules.pop(m) for m in list(sys.modules) if m.split('.')[0] == 'paste']")
    r = run_uwsgi("--http-socket", "127.0.0.1:%d" % port, "--pypy-paste", ini, "--pypy-eval", hide)
    assert r.returncode == 22
    assert "python3-pastedeploy" in r.stderr
