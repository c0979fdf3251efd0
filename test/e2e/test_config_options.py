"""uWSGI core options that real config files use, each run on Debian's uWSGI (CPython plugin)
and on ours (PyPy) where uWSGI has it, asserting the same observable behaviour.
"""
import os
import pwd
import signal
import time
import urllib.error
import urllib.request

import pytest

from conftest import free_port, read, run_uwsgi
from process_tree import alive
from test_config_files import KINDS, http_get, start, uwsgi_get, wait_answer, write  # noqa: F401 (start: fixture)

APP = '''
def application(environ, start_response):
    path = environ["PATH_INFO"]
    status = "404 Not Found" if path.startswith("/missing") else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    print("app saw %s" % path, flush=True)
    # uWSGI's CPython plugin leaves SCRIPT_NAME out when the web server sends none
    return [("%s|%s|%s" % (NAME, environ.get("SCRIPT_NAME", ""), path)).encode()]
'''


def app_files(tmp_path):
    for name in ("main", "blog", "shop"):
        write(tmp_path / (name + ".py"), "NAME = %r\n" % name + APP)


def ini(tmp_path, kind, body):
    # die-on-term: Debian's uWSGI 2.0 reloads on the SIGTERM that stops a test's server
    plugin = "plugins = python3\ndie-on-term = true\n" if kind == "debian" else ""
    return write(tmp_path / "site.ini", "[uwsgi]\n" + plugin + "chdir = %s\n" % tmp_path + body)


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_file_text(path, text, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in read(path):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def site(start, tmp_path):
    """site(kind, body, port): the three apps, an ini with `body`, started on that server."""
    def run(kind, body, port=None):
        app_files(tmp_path)
        return start(kind, ini(tmp_path, kind, body), port=port)
    return run


@pytest.mark.parametrize("kind", KINDS)
def test_mount_manage_script_name(site, tmp_path, kind):
    port = free_port()
    p = site(kind, "http-socket = 127.0.0.1:%d\nmodule = main\n"
                   "mount = /blog=blog.py\nmount = /shop=shop:application\n"
                   "manage-script-name = true\n" % port, port)
    assert wait_answer(p, http_get(port, "/blog/post/1")) == (200, b"blog|/blog|/post/1")
    assert get(port, "/shop/cart") == (200, b"shop|/shop|/cart")
    assert get(port, "/other") == (200, b"main||/other")  # the default app


@pytest.mark.parametrize("kind", KINDS)
def test_mount_no_default_app(site, tmp_path, kind):
    port = free_port()
    p = site(kind, "http-socket = 127.0.0.1:%d\nmount = /blog=blog.py\n"
                   "manage-script-name = true\nno-default-app = true\n"
                   % port, port)
    assert wait_answer(p, http_get(port, "/blog/x")) == (200, b"blog|/blog|/x")
    assert get(port, "/blog") == (200, b"blog|/blog|")
    assert get(port, "/other")[0] == 500
    assert get(port, "/blogging")[0] == 500  # a mountpoint is a whole path segment


@pytest.mark.parametrize("kind", KINDS)
def test_mount_by_script_name_from_nginx(site, tmp_path, kind):
    """Without manage-script-name the app is chosen by the SCRIPT_NAME the web server sends."""
    port = free_port()
    p = site(kind, "socket = 127.0.0.1:%d\nmodule = main\n"
                   "mount = /shop=shop.py\n" % port, port)
    assert wait_answer(p, uwsgi_get(port, "/cart", script_name="/shop")) == (200, b"shop|/shop|/cart")
    assert uwsgi_get(port, "/cart")() == (200, b"main||/cart")


@pytest.mark.parametrize("kind", KINDS)
def test_logto_and_log_4xx_with_disable_logging(site, tmp_path, kind):
    port = free_port()
    log = tmp_path / "app.log"
    p = site(kind, "http-socket = 127.0.0.1:%d\nmodule = main\n"
                   "logto = %s\nlogfile-chmod = 600\ndisable-logging = true\n"
                   "log-4xx = true\n" % (port, log), port)
    wait_answer(p, http_get(port, "/fine"))
    assert get(port, "/missing-page")[0] == 404
    # the request line is written after the response, so wait for it
    assert wait_file_text(str(log), "GET /missing-page"), read(str(log))
    assert wait_file_text(str(log), "app saw /fine")  # the app's stdout goes there too
    text = read(str(log))
    assert "GET /fine" not in text and "/fine =>" not in text
    assert os.stat(str(log)).st_mode & 0o777 == 0o600  # logfile-chmod


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("option", ["daemonize", "daemonize2"])
def test_daemonize_detaches_and_logs_to_the_file(site, tmp_path, kind, option):
    port = free_port()
    log, pidfile = tmp_path / "daemon.log", tmp_path / "daemon.pid"
    p = site(kind, "http-socket = 127.0.0.1:%d\nmodule = main\n"
                   "%s = %s\npidfile = %s\nmaster = true\n"
                   % (port, option, log, pidfile), port)
    assert p.proc.wait(timeout=60) == 0  # the launching process returns at once

    def daemon_pid():
        # both servers write the pidfile before detaching too (uWSGI with daemonize2 does):
        # the daemon's pid is the one that replaces the launcher's
        text = read(str(pidfile)).strip()
        pid = int(text) if text.isdigit() else 0
        return pid if pid and pid != p.pid and os.path.exists("/proc/%d" % pid) else 0

    deadline = time.time() + 60
    while not daemon_pid():
        assert time.time() < deadline, read(str(log))
        time.sleep(0.05)
    pid = daemon_pid()
    try:
        deadline = time.time() + 60
        while True:
            try:
                assert get(port, "/d") == (200, b"main||/d")
                break
            except OSError:
                assert time.time() < deadline, read(str(log))
                time.sleep(0.1)
        assert os.getsid(pid) != os.getsid(0)  # detached from the caller's session
        assert wait_file_text(str(log), "/d")
    finally:
        os.kill(pid, signal.SIGINT)
    deadline = time.time() + 30
    while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists("/proc/%d" % pid)


@pytest.mark.parametrize("kind", KINDS)
def test_protocol_http_on_socket(site, tmp_path, kind):
    port = free_port()
    p = site(kind, "socket = 127.0.0.1:%d\nprotocol = http\nmodule = main\n"
                   % port, port)
    assert wait_answer(p, http_get(port, "/p")) == (200, b"main||/p")


@pytest.mark.parametrize("kind", KINDS)
def test_umask_chown_socket_and_max_fd(site, tmp_path, kind):
    if os.getuid() != 0:
        pytest.skip("chown-socket needs root")
    sock, pidfile = str(tmp_path / "app.sock"), str(tmp_path / "app.pid")
    p = site(kind, "socket = %s\nchown-socket = nobody\numask = 077\n"
                   "max-fd = 1000\npidfile = %s\nmodule = main\n"
                   % (sock, pidfile))
    assert wait_answer(p, uwsgi_get(sock, "/u")) == (200, b"main||/u")
    assert os.stat(sock).st_uid == pwd.getpwnam("nobody").pw_uid
    assert os.stat(pidfile).st_mode & 0o777 == 0o600  # created under umask 077
    with open("/proc/%d/limits" % p.pid) as f:
        limits = [line for line in f if line.startswith("Max open files")][0].split()
    assert limits[3:5] == ["1000", "1000"]


@pytest.mark.parametrize("kind", KINDS)
def test_procname_prefix_spaced_and_auto_procname(site, tmp_path, kind):
    port = free_port()
    p = site(kind, "http-socket = 127.0.0.1:%d\nmodule = main\nmaster = 1\n"
                   "processes = 1\nauto-procname = true\n"
                   "procname-prefix-spaced = shop\n" % port, port)
    wait_answer(p, http_get(port, "/"))

    def title(pid):
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0].decode()

    assert title(p.pid) == "shop uWSGI master"
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        children = f.read().split()
    assert [title(c) for c in children] == ["shop uWSGI worker 1"]


@pytest.mark.parametrize("kind", KINDS)
def test_http_option_serves_http(site, tmp_path, kind):
    """uWSGI's --http starts a router process in front of the workers' --socket; so does ours."""
    port = free_port()
    plugin = "plugins = http\n" if kind == "debian" else ""  # Debian: the router plugin
    p = site(kind, plugin + "http = 127.0.0.1:%d\nmodule = main\n"
                   "master = true\nsocket = 127.0.0.1:%d\n"
                   % (port, free_port()), port)
    assert wait_answer(p, http_get(port, "/h")) == (200, b"main||/h")
    if kind == "ours":
        assert p.wait_log("router 1 (pid ")


def test_accepted_options_say_what_they_mean_here(site, tmp_path):
    port = free_port()
    p = site("ours", "http-socket = 127.0.0.1:%d\nmodule = main\n"
                     "thunder-lock = true\nharakiri-verbose = true\n"
                     "post-buffering = 8192\nsingle-interpreter = true\n"
                     "reaper = true\nlazy = true\n" % port, port)
    wait_answer(p, http_get(port, "/"))
    for text in ("--thunder-lock: not needed", "--harakiri-verbose: harakiri kills",
                 "--post-buffering: request bodies", "--single-interpreter: PyPy",
                 "--reaper: the master", "--lazy: as --lazy-apps"):
        assert p.wait_log(text), text
    assert "is not an option" not in p.output()



HOOKS = """master = true
processes = 1
hook-asap = mkdir:%(base)/run
hook-asap = write:%(base)/run/asap.txt written-asap
exec-pre-app = echo pre >> %(base)/run/order.txt
hook-post-app = exec:echo post >> %(base)/run/order.txt
hook-master-start = unix_signal:15 gracefully_kill_them_all
hook-master-start = exec:echo master >> %(base)/run/order.txt
hook-accepting = exec:echo accepting >> %(base)/run/order.txt
"""


@pytest.mark.parametrize("kind", KINDS)
def test_hooks_run_in_their_phases(site, tmp_path, kind):
    port = free_port()
    p = site(kind, "base = %s\nhttp-socket = 127.0.0.1:%d\nmodule = main\n%s"
                   % (tmp_path, port, HOOKS), port)
    wait_answer(p, http_get(port, "/"))
    assert read(str(tmp_path / "run" / "asap.txt")) == "written-asap"
    order = tmp_path / "run" / "order.txt"
    assert wait_file_text(str(order), "accepting")
    assert read(str(order)).split() == ["pre", "post", "master", "accepting"]


@pytest.mark.parametrize("hook, words", [
    ("hook-asap = exec:exit 3", ["--hook-asap exec:exit 3", "site.ini:", "code 3"]),
    ("hook-pre-app = frobnicate:x", ["--hook-pre-app frobnicate:x", "unknown action"]),
    ("hook-master-start = unix_signal:1 reload_them_all", ["signals are fixed"]),
])
def test_failing_hook_stops_start_up(tmp_path, hook, words):
    app_files(tmp_path)
    r = run_uwsgi(str(ini(tmp_path, "ours", "http-socket = 127.0.0.1:%d\nmodule = main\n"
                                            "master = true\n%s\n" % (free_port(), hook))),
                  cwd=str(tmp_path), timeout=60)
    assert r.returncode != 0
    for w in words:
        assert w in r.stderr, r.stderr


def daemon_pids(path):
    return [int(x) for x in read(path).split()]


@pytest.mark.parametrize("kind", KINDS)
def test_attach_daemon_supervised_by_the_master(site, tmp_path, kind):
    port = free_port()
    pids = str(tmp_path / "daemon.pids")
    p = site(kind, "http-socket = 127.0.0.1:%d\nmodule = main\ndie-on-term = true\n"
                   "attach-daemon = echo $$ >> %s; exec sleep 300\n" % (port, pids), port)
    wait_answer(p, http_get(port, "/"))
    assert wait_file_text(pids, "\n")
    first = daemon_pids(pids)[0]
    assert alive(first)
    os.kill(first, signal.SIGKILL)  # the master starts it again
    deadline = time.time() + 30
    while len(daemon_pids(pids)) < 2:
        assert time.time() < deadline, p.output()
        time.sleep(0.05)
    second = daemon_pids(pids)[1]
    assert alive(second)
    p.stop()
    deadline = time.time() + 30
    while alive(second):
        assert time.time() < deadline, "the daemon outlived the server"
        time.sleep(0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_static_map_serves_files_and_falls_back_to_the_app(site, tmp_path, kind):
    port = free_port()
    write(tmp_path / "public" / "css" / "site.css", "body { color: red }\n")
    write(tmp_path / "public" / "docs" / "index.html", "<h1>docs</h1>\n")
    write(tmp_path / "secret.txt", "secret\n")
    p = site(kind, "http-socket = 127.0.0.1:%d\nmodule = main\n"
                   "static-map = /static=%s/public\nstatic-map2 = /docs=%s/public\n"
                   "static-index = index.html\n" % (port, tmp_path, tmp_path), port)
    wait_answer(p, http_get(port, "/"))
    with urllib.request.urlopen("http://127.0.0.1:%d/static/css/site.css" % port) as r:
        assert r.read() == b"body { color: red }\n"
        assert r.headers["Content-Type"].startswith("text/css")
    assert get(port, "/docs/") == (200, b"<h1>docs</h1>\n")  # static-map2 + static-index
    assert get(port, "/static/missing.css") == (200, b"main||/static/missing.css")  # the app
    assert get(port, "/static/../secret.txt")[1] != b"secret\n"
