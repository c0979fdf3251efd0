"""Real-world-shaped uWSGI config files, written for the CPython plugin, run unchanged on Debian's
uWSGI (uwsgi-core with its python3 plugin) and on ours (PyPy): both must start and serve the same
answer. Then the config language details and bad input, on ours.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import free_port, read_until_closed, run_uwsgi, uwsgi_packet, uwsgi_request

UPSTREAM = "/usr/bin/uwsgi-core"
DIST = "/usr/lib/python3/dist-packages"


def upstream_available():
    return os.access(UPSTREAM, os.X_OK) and os.path.exists("/usr/lib/uwsgi/plugins/python3_plugin.so")


def wait_answer(server, fetch, timeout=60.0):
    """Polls `fetch` (a real request) until it answers or the server exits."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError("%s exited with %s:\n%s"
                                 % (server.args[0], server.proc.returncode, server.output()))
        try:
            return fetch()
        except (OSError, ValueError) as e:
            last = e
            time.sleep(0.1)
    raise AssertionError("%s never answered (%s):\n%s" % (server.args[0], last, server.output()))


@pytest.fixture
def start(server, tmp_path):
    """start(kind, ini, port): ours or Debian's uWSGI on a config file, stopped by pid."""
    def run(kind, ini, port=None, env=None):
        return server(str(ini), port=port, env=env, wait=False, cwd=str(tmp_path),
                      binary=UPSTREAM if kind == "debian" else None)
    return run


def http_get(port, path="/"):
    def fetch():
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status, r.read()
    return fetch


def uwsgi_get(address, path="/", script_name=None):
    def fetch():
        vars = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path,
                "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost"}
        if script_name is not None:
            vars["SCRIPT_NAME"] = script_name
        if isinstance(address, int):
            status, _, body = uwsgi_request(address, vars)
        else:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(address)
                s.sendall(uwsgi_packet(vars))
                data = read_until_closed(s)
            head, _, body = data.partition(b"\r\n\r\n")
            status = int(head.split()[1]) if head.startswith(b"HTTP/") else 0
        if status == 0:
            raise ValueError("no answer yet")
        return status, body
    return fetch


KINDS = ["ours", pytest.param("debian", marks=pytest.mark.skipif(
    not upstream_available(), reason="Debian's uwsgi-core with its python3 plugin is not installed"))]


# --------------------------------------------------------------------------------------------
# real-world-shaped files

FLASK_APP = '''
import os
from flask import Flask
app = Flask(__name__)

@app.route("/")
def index():
    return "flask %s %s %s" % (os.path.basename(os.getcwd()), os.environ.get("APP_MODE"),
                               os.environ.get("APP_SECRET"))
'''

FLASK_INI = '''# deploy/uwsgi.ini, the kind a Flask tutorial ends with
[uwsgi]
plugins = python3
project = flaskapp
base = {tmp}

chdir = %(base)/%(project)
pythonpath = {dist}
module = wsgi:app

master = true
processes = 2
threads = 2
enable-threads = true

http-socket = 127.0.0.1:{port}
vacuum = true
die-on-term = true
harakiri = 30 ; seconds
max-requests = 5000
buffer-size = 8192

env = APP_MODE=production
env = APP_SECRET=$(CONFIG_TEST_SECRET)
'''

# the same minimal project settings as the corpus's Django app (test_real_config_corpus.py)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_configs", "apps",
                       "mysite", "settings.py")) as _settings:
    DJANGO_SETTINGS = _settings.read()

DJANGO_URLS = '''
from django.http import HttpResponse
from django.urls import path
import os

def index(request):
    return HttpResponse("django %s %s" % (os.environ["DJANGO_SETTINGS_MODULE"],
                                          request.META.get("SCRIPT_NAME", "")))

urlpatterns = [path("", index)]
'''

DJANGO_WSGI = '''
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
'''

# behind nginx: uwsgi protocol on a TCP socket
DJANGO_INI = '''[uwsgi]
plugins = python3
chdir = {tmp}/djangoproj
module = mysite.wsgi:application
pythonpath = {dist}
env = DJANGO_SETTINGS_MODULE=mysite.settings
master = True
processes = 2
socket = 127.0.0.1:{port}
chmod-socket = 664
vacuum = True
max-requests = 5000
harakiri = 20
die-on-term = true
'''

# the old Django form: the handler class is called to make the app
DJANGO_OLD_INI = '''[uwsgi]
plugins = python3
chdir = {tmp}/djangoproj
pythonpath = {dist}
env = DJANGO_SETTINGS_MODULE=mysite.settings
module = django.core.handlers.wsgi:WSGIHandler()
http-socket = 127.0.0.1:{port}
processes = 1
die-on-term = true
'''

PLAIN_APP = '''
import os, sys
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    extra = [p for p in sys.path if p.rstrip("/").endswith("/lib-extra")]
    return [("plain %s %s %d" % (os.environ.get("GREETING"), os.environ.get("WHERE"),
                                 len(extra))).encode()]
'''

# a unix socket next to the file, wsgi-file + callable, placeholders and logic
PLAIN_INI = '''[uwsgi]
plugins = python3
app_dir = %d/plainapp
wsgi-file = %(app_dir)/main.py
callable = app
pp = %(app_dir)/lib-extra
socket = %d/%n.sock
chmod-socket = 660
processes = 2
master = 1
vacuum = true
if-env = CONFIG_TEST_SECRET
env = GREETING=%(_)
endif
if-not-env = CONFIG_TEST_NO_SUCH_VAR
env = WHERE=[%x]
endif
unknown-but-harmless = 1
'''


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def flask_setup(tmp_path, port):
    write(tmp_path / "flaskapp" / "wsgi.py", FLASK_APP)
    return write(tmp_path / "flask.ini", FLASK_INI.format(tmp=tmp_path, dist=DIST, port=port))


def django_setup(tmp_path, port, text=DJANGO_INI):
    proj = tmp_path / "djangoproj" / "mysite"
    write(proj / "__init__.py", "")
    write(proj / "settings.py", DJANGO_SETTINGS)
    write(proj / "urls.py", DJANGO_URLS)
    write(proj / "wsgi.py", DJANGO_WSGI)
    return write(tmp_path / "django.ini", text.format(tmp=tmp_path, dist=DIST, port=port))


def plain_http_ini(tmp_path, port, name, extra="", plugins="python3"):
    """PLAIN_APP over HTTP from a small file (die-on-term, so either server stops on TERM)."""
    write(tmp_path / "plainapp" / "main.py", PLAIN_APP)
    return write(tmp_path / name, "[uwsgi]\nplugins = %s\nchdir = %s/plainapp\n"
                                  "wsgi-file = main.py\ncallable = app\n"
                                  "http-socket = 127.0.0.1:%d\ndie-on-term = true\n%s"
                 % (plugins, tmp_path, port, extra))


ENV = {"CONFIG_TEST_SECRET": "s3cret"}


def serve_both(start, tmp_path, setup, fetch_for):
    """Runs the file on each available server in turn; returns {kind: answer}."""
    answers = {}
    for kind in ("ours", "debian"):
        if kind == "debian" and not upstream_available():
            continue
        port = free_port()
        ini = setup(tmp_path, port)
        p = start(kind, ini, port=port, env=ENV)
        answers[kind] = wait_answer(p, fetch_for(port))
        p.stop()
    return answers


def test_flask_style_ini_serves_the_same_on_both(start, tmp_path):
    answers = serve_both(start, tmp_path, flask_setup, http_get)
    assert answers["ours"] == (200, b"flask flaskapp production s3cret")
    assert all(a == answers["ours"] for a in answers.values()), answers


FLASK_XML = '''<?xml version="1.0"?>
<!-- an XML deployment of the same Flask app -->
<uwsgi>
    <plugins>python3</plugins>
    <chdir>{tmp}/flaskapp</chdir>
    <pythonpath>{dist}</pythonpath>
    <module>wsgi:app</module>
    <master/>
    <processes>2</processes>
    <http-socket>127.0.0.1:{port}</http-socket>
    <vacuum/>
    <die-on-term/>
    <env>APP_MODE=xml</env>
    <env>APP_SECRET=$(CONFIG_TEST_SECRET)</env>
</uwsgi>
'''

FLASK_YAML = '''# a YAML deployment of the same Flask app
uwsgi:
    plugins: python3
    base: {tmp}
    chdir: "%(base)/flaskapp"
    pythonpath: {dist}
    module: wsgi:app
    master: true
    processes: 2
    http-socket: 127.0.0.1:{port}
    die-on-term: true
    env:
        - APP_MODE=yaml
        - APP_SECRET=$(CONFIG_TEST_SECRET)
'''


@pytest.mark.parametrize("ext, text", [("xml", FLASK_XML), ("yml", FLASK_YAML)])
def test_flask_xml_and_yaml_files_serve_the_same_on_both(start, tmp_path, ext, text):
    def setup(tmp, port):
        write(tmp / "flaskapp" / "wsgi.py", FLASK_APP)
        return write(tmp / ("flask." + ext), text.format(tmp=tmp, dist=DIST, port=port))
    answers = serve_both(start, tmp_path, setup, http_get)
    mode = b"xml" if ext == "xml" else b"yaml"
    assert answers["ours"] == (200, b"flask flaskapp " + mode + b" s3cret")
    assert all(a == answers["ours"] for a in answers.values()), answers


def test_django_style_ini_behind_nginx_serves_the_same_on_both(start, tmp_path):
    answers = serve_both(start, tmp_path, django_setup, uwsgi_get)
    assert answers["ours"] == (200, b"django mysite.settings ")
    assert all(a == answers["ours"] for a in answers.values()), answers


def test_old_django_handler_form_serves_the_same_on_both(start, tmp_path):
    answers = serve_both(start, tmp_path, lambda t, p: django_setup(t, p, DJANGO_OLD_INI), http_get)
    assert answers["ours"] == (200, b"django mysite.settings ")
    assert all(a == answers["ours"] for a in answers.values()), answers


@pytest.mark.parametrize("kind", KINDS)
def test_plain_ini_unix_socket_placeholders_logic_and_vacuum(start, tmp_path, kind):
    write(tmp_path / "plainapp" / "main.py", PLAIN_APP)
    (tmp_path / "plainapp" / "lib-extra").mkdir()
    ini = write(tmp_path / "plain.ini", PLAIN_INI)
    sock = str(tmp_path / "plain.sock")
    p = start(kind, ini, env=ENV)
    assert wait_answer(p, uwsgi_get(sock)) == (200, b"plain s3cret [] 1")
    assert oct(os.stat(sock).st_mode & 0o777) == "0o660"
    # SIGINT: uWSGI 2.0 stops on it (SIGTERM would be a reload there without die-on-term)
    p.stop(signal.SIGINT)
    assert not os.path.exists(sock), "vacuum leaves no socket behind"


@pytest.mark.parametrize("kind", KINDS)
def test_die_on_term_stops_the_server(start, tmp_path, kind):
    port = free_port()
    # short mercies: Debian's uWSGI may wait for them before its workers go
    ini = plain_http_ini(tmp_path, port, "term.ini", "master = true\nprocesses = 2\n"
                         "worker-reload-mercy = 5\nreload-mercy = 5\n")
    p = start(kind, ini, port=port)
    wait_answer(p, http_get(port))
    p.proc.send_signal(signal.SIGTERM)
    p.proc.wait(timeout=60)  # a reload (uWSGI 2.0 without die-on-term) would keep it running


DOCKER_APP = """
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    keys = ("SVC_ALPHA", "SVC_BETA", "SVC_3", "ON_HOST", "FIRST_START", "NOT_HERE")
    return [" ".join("%s=%s" % (k, os.environ.get(k)) for k in keys).encode()]
"""

# a Docker image's uwsgi.ini: direct HTTP through uWSGI's http router (the http plugin named
# as Debian needs it), static files, logic (for, if-hostname, if-not-reload), pidfile + vacuum
DOCKER_INI = """[uwsgi]
plugins = http,python3
base = {tmp}/dockerapp
chdir = %(base)
wsgi-file = app.py
http = 127.0.0.1:{port}
master = true
processes = 2
threads = 2
static-map = /static=%(base)/static
for = ALPHA BETA
env = SVC_%(_)=on
endfor
for-times = 3
env = SVC_%(_)=turn%(_)
endfor
if-hostname = {host}
env = ON_HOST=%(_)
endif
if-not-hostname = {host}
env = NOT_HERE=wrong
endif
if-not-reload =
env = FIRST_START=yes
endif
pidfile = %(base)/app.pid
vacuum = true
die-on-term = true
"""


def test_docker_style_ini_http_static_logic_and_vacuum_on_both(start, tmp_path):
    host = socket.gethostname()
    answers, pidfiles = {}, {}
    for kind in ("ours", "debian"):
        if kind == "debian" and not upstream_available():
            continue
        port = free_port()
        base = tmp_path / kind / "dockerapp"
        write(base / "app.py", DOCKER_APP)
        write(base / "static" / "hello.txt", "static hello\n")
        ini = write(tmp_path / kind / "uwsgi.ini",
                    DOCKER_INI.format(tmp=tmp_path / kind, port=port, host=host))
        p = start(kind, ini, port=port)
        answers[kind] = (wait_answer(p, http_get(port)), wait_answer(p, http_get(port, "/static/hello.txt")))
        pidfile = base / "app.pid"
        assert pidfile.exists(), kind
        assert p.stop() is not None
        pidfiles[kind] = pidfile.exists()
    app = ("SVC_ALPHA=on SVC_BETA=on SVC_3=turn3 ON_HOST=%s FIRST_START=yes NOT_HERE=None"
           % host).encode()
    assert answers["ours"] == ((200, app), (200, b"static hello\n"))
    assert all(a == answers["ours"] for a in answers.values()), answers
    assert not any(pidfiles.values()), "vacuum removes the pidfile at exit: %s" % pidfiles


PYRAMID_APP = """
def main(global_config, **settings):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("pyramid %s %s" % (settings.get("greeting"), environ["PATH_INFO"])).encode()]
    return app
"""

# a Pyramid project's production.ini: the app from paste.deploy, uWSGI's section beside it
PYRAMID_INI = """###
# app configuration
###
[app:main]
use = call:pyrapp:main
greeting = hello-pyramid

[server:main]
use = egg:waitress#main
listen = localhost:6543

[uwsgi]
plugins = python3
paste = config:%p
chdir = %d
pythonpath = {dist}
http-socket = 127.0.0.1:{port}
master = true
processes = 2
harakiri = 60
vacuum = true
die-on-term = true
"""


def test_pyramid_style_production_ini_serves_the_same_on_both(start, tmp_path):
    def setup(tmp, port):
        write(tmp / "pyrapp.py", PYRAMID_APP)
        return write(tmp / "production.ini", PYRAMID_INI.format(dist=DIST, port=port))
    answers = serve_both(start, tmp_path, setup, lambda port: http_get(port, "/a/b"))
    assert answers["ours"] == (200, b"pyramid hello-pyramid /a/b")
    assert all(a == answers["ours"] for a in answers.values()), answers


# --------------------------------------------------------------------------------------------
# the pieces, on ours

@pytest.mark.parametrize("name", ["python3", "python", "python311"])
def test_plugins_python_selects_pypy_and_says_so(start, tmp_path, name):
    port = free_port()
    ini = flask_setup(tmp_path, port)
    ini.write_text(ini.read_text().replace("plugins = python3", "plugins = " + name))
    p = start("ours", ini, port=port, env=ENV)
    assert wait_answer(p, http_get(port)) == (200, b"flask flaskapp production s3cret")
    out = p.output()
    assert "plugin %s (uWSGI's CPython plugin) is not installed: the pypy plugin" % name in out
    assert "plugin pypy" in out


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_plugin_in_a_file_warns_and_serves(start, tmp_path, kind):
    port = free_port()
    ini = plain_http_ini(tmp_path, port, "plug.ini", plugins="python3,nosuchplugin")
    p = start(kind, ini, port=port)
    assert wait_answer(p, http_get(port))[0] == 200
    out = p.output()
    if kind == "ours":
        assert "plug.ini:2: plugin 'nosuchplugin' is not installed" in out, out
    else:
        assert "UNABLE to load uWSGI plugin" in out and "nosuchplugin" in out, out


def test_unknown_plugin_on_the_command_line_is_an_error(tmp_path):
    # uWSGI warns and starts without it; an explicit --plugin it cannot honour stops ours
    r = run_uwsgi("--plugin", "nosuchplugin", "--http-socket", "127.0.0.1:1",
                  cwd=str(tmp_path), timeout=30)
    assert r.returncode == 1
    assert "plugin 'nosuchplugin' is not installed (searched: " in r.stderr, r.stderr


def test_unknown_file_key_warns_strict_is_fatal_command_line_is_fatal(start, tmp_path):
    write(tmp_path / "plainapp" / "main.py", PLAIN_APP)
    (tmp_path / "plainapp" / "lib-extra").mkdir()
    ini = write(tmp_path / "plain.ini", PLAIN_INI)
    p = start("ours", ini, env=ENV)
    wait_answer(p, uwsgi_get(str(tmp_path / "plain.sock")))
    assert "plain.ini:18: 'unknown-but-harmless' is not an option" in p.output()
    r = run_uwsgi(str(ini), "--strict", cwd=str(tmp_path))
    assert r.returncode != 0
    # strict as in uWSGI: the first key that is no option, placeholder or not, is fatal
    assert "plain.ini:3: 'app_dir'" in r.stderr and "--strict" in r.stderr
    r = run_uwsgi("--unknown-but-harmless", "1", cwd=str(tmp_path))
    assert r.returncode != 0 and "unknown option --unknown-but-harmless" in r.stderr


def test_show_config_prints_the_effective_configuration(tmp_path):
    ini = write(tmp_path / "show.ini", "[uwsgi]\nbase = /no/such\nchdir = %(base)/app\n"
                                       "processes = %(%k * 2)\n")
    # printed at start-up, before the server fails on the chdir to a missing directory
    r = run_uwsgi(str(ini), "--show-config", cwd=str(tmp_path), timeout=30)
    assert r.returncode != 0
    cpus = os.cpu_count()
    assert ";uWSGI instance configuration\n[uwsgi]\n" in r.stderr
    assert "base = /no/such\nchdir = /no/such/app\nprocesses = %d\n" % (cpus * 2) in r.stderr
    assert ";end of configuration" in r.stderr


@pytest.mark.parametrize("text, where, words", [
    ("[uwsgi]\nchdir = %(base\n", ":2", ["malformed placeholder", "chdir"]),
    ("[uwsgi]\nthreads = 1\nini = %p\n", ":3", ["include loop"]),
    ("[uwsgi]\nif-env = HOME\nthreads = 2\n", ":2", ["endif"]),
    ("[uwsgi]\n\nprocesses = many\nhttp-socket = 127.0.0.1:1\n", ":3", ["--processes",
                                                                        "whole number"]),
    ("[uwsgi]\nchdir = /no/such/dir\nhttp-socket = 127.0.0.1:1\n", ":2", ["--chdir"]),
])
def test_bad_config_input_names_file_line_and_key(tmp_path, text, where, words):
    ini = write(tmp_path / "bad.ini", text)
    r = run_uwsgi(str(ini), cwd=str(tmp_path), timeout=30)
    assert r.returncode != 0
    assert "bad.ini" + where in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


VENV_APP = '''
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    import sys
    return [("venv %s" % sys.prefix).encode()]
'''


@pytest.mark.parametrize("key", ["virtualenv", "home", "venv", "pyhome"])
def test_pypy_virtualenv_site_packages_on_sys_path(start, tmp_path, key):
    venv = tmp_path / "venv"
    subprocess.run(["pypy3", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = venv / "lib" / "pypy3.9" / "site-packages"
    write(site / "venvapp.py", VENV_APP)
    port = free_port()
    ini = write(tmp_path / "venv.ini", "[uwsgi]\n%s = %s\nmodule = venvapp\n"
                                       "http-socket = 127.0.0.1:%d\n" % (key, venv, port))
    p = start("ours", ini, port=port)
    assert wait_answer(p, http_get(port)) == (200, ("venv %s" % venv).encode())


def test_cpython_virtualenv_is_refused_saying_why(tmp_path):
    venv = tmp_path / "cvenv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    r = run_uwsgi("--virtualenv", str(venv), "--module", "x", "--http-socket", "127.0.0.1:1",
                  cwd=str(tmp_path), timeout=60)
    assert r.returncode != 0
    assert "was made by CPython" in r.stderr and "pypy3 -m venv" in r.stderr, r.stderr
