"""Packaging: the install splits by meson install tags, one package each ('runtime' = bin/uwsgi,
'plugin-NAME', 'devel' = headers + uwsgi-plugin.pc + uwsgiconfig, 'library' = libuwsgi.so), and
plugins build out of tree against the installed headers alone.

Installs go to DESTDIRs under the test's tmp dir. An installed binary looks in its compiled-in
plugin dir (PREFIX/LIBDIR/uwsgi/plugins, without the DESTDIR), so these tests point it at the
DESTDIR copy with --plugin-dir or UWSGI_PLUGIN_PATH, as a packager's check would.
"""
import json
import os
import subprocess
import textwrap

import pytest

from conftest import BUILD, ROOT, free_port, uwsgi_request, wait_for_port

HELLO = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REQUEST_URI": "/"}


def installed_plan():
    """{build file: install path} of this build (absolute paths, no DESTDIR)."""
    out = subprocess.run(["meson", "introspect", "--installed", BUILD], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


PLAN = installed_plan()
BIN = next(p for p in PLAN.values() if p.endswith("/bin/uwsgi"))
PLUGINDIR = next(os.path.dirname(p) for p in PLAN.values() if p.endswith("_plugin.so"))
INCLUDEDIR = os.path.dirname(os.path.dirname(
    next(p for p in PLAN.values() if p.endswith("/uwsgi/plugin.h"))))
PCDIR = next(os.path.dirname(p) for p in PLAN.values() if p.endswith("/uwsgi-plugin.pc"))


class Install:
    """`meson install --tags TAGS --destdir ROOT` of this build."""

    def __init__(self, root, tags=None):
        self.root = str(root)
        cmd = ["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", self.root]
        if tags:
            cmd += ["--tags", tags]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def path(self, installed):
        return self.root + installed

    @property
    def uwsgi(self):
        return self.path(BIN)

    @property
    def plugindir(self):
        return self.path(PLUGINDIR)

    def files(self):
        out = []
        for d, _, names in os.walk(self.root):
            out += [os.path.relpath(os.path.join(d, n), self.root) for n in names]
        return sorted(out)

    def run(self, *args, env=None, cwd=None):
        full_env = {k: v for k, v in os.environ.items() if k != "UWSGI_PLUGIN_PATH"}
        full_env.update(env or {})
        return subprocess.run([self.uwsgi] + list(args), capture_output=True, text=True,
                              timeout=60, env=full_env, cwd=cwd or self.root)


@pytest.fixture(scope="module")
def core_only(tmp_path_factory):
    return Install(tmp_path_factory.mktemp("core-only"), "runtime")


@pytest.fixture(scope="module")
def core_http(tmp_path_factory):
    return Install(tmp_path_factory.mktemp("core-http"), "runtime,plugin-http")


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    return Install(tmp_path_factory.mktemp("everything"))


def compiled_in_dir_is_empty():
    return not os.path.isdir(PLUGINDIR) or not os.listdir(PLUGINDIR)


def test_runtime_tag_installs_the_core_binary_alone(core_only):
    assert core_only.files() == [BIN.lstrip("/")]
    r = core_only.run("--version")
    assert r.returncode == 0 and r.stdout.strip() == "0.1.0"


@pytest.mark.skipif(not compiled_in_dir_is_empty(), reason="plugins installed on this machine")
def test_core_alone_says_which_plugin_is_missing(core_only):
    r = core_only.run("--plugin-dir", core_only.plugindir, "--list-plugins")
    assert r.returncode == 0 and r.stdout == ""
    r = core_only.run("--plugin-dir", core_only.plugindir, "--http-socket", "127.0.0.1:0",
                      "--pypy-wsgi", "app")
    assert r.returncode == 1
    assert ("unknown option --http-socket: no installed plugin owns it (searched: %s, %s)"
            % (core_only.plugindir, PLUGINDIR)) in r.stderr
    r = core_only.run("--plugin", "http", "--socket", "127.0.0.1:0")
    assert r.returncode == 1 and "plugin 'http' is not installed (searched: " in r.stderr


def test_http_package_adds_only_the_http_plugin(core_http):
    plugins = [f for f in core_http.files() if f.endswith("_plugin.so")]
    assert plugins == [(PLUGINDIR + "/http_plugin.so").lstrip("/")]
    r = core_http.run("--plugin-dir", core_http.plugindir, "--list-plugins")
    assert r.stdout.startswith("http 0.1.0 (ABI 1.1) %s/http_plugin.so" % core_http.plugindir)


@pytest.mark.skipif(not compiled_in_dir_is_empty(), reason="plugins installed on this machine")
def test_core_plus_http_refuses_pypy_options_clearly(core_http):
    r = core_http.run("--plugin-dir", core_http.plugindir, "--http-socket", "127.0.0.1:0",
                      "--pypy-wsgi", "myapp")
    assert r.returncode == 1
    assert ("unknown option --pypy-wsgi: no installed plugin owns it (searched: %s, %s)"
            % (core_http.plugindir, PLUGINDIR)) in r.stderr


def test_core_plus_http_serves_http(core_http, tmp_path):
    port = free_port()
    log = tmp_path / "http.log"
    env = {k: v for k, v in os.environ.items() if k != "UWSGI_PLUGIN_PATH"}
    env["UWSGI_PLUGIN_PATH"] = core_http.plugindir  # the environment works as --plugin-dir does
    with open(log, "w") as out:
        proc = subprocess.Popen([core_http.uwsgi, "--http-socket", "127.0.0.1:%d" % port,
                                 "--need-app=false"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, stdin=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, str(log))
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        resp = conn.getresponse()
        # HTTP is spoken; no installed plugin handles the request (modifier1 0 is pypy's).
        assert resp.status == 501
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "plugin http 0.1.0 active (%s/http_plugin.so)" % core_http.plugindir in log.read_text()


def test_check_plugin_passes_on_every_installed_plugin(everything):
    plugins = sorted(f for f in os.listdir(everything.plugindir) if f.endswith("_plugin.so"))
    assert {"http_plugin.so", "pypy_plugin.so", "rpc_plugin.so"} <= set(plugins)
    for f in plugins:
        r = everything.run("--check-plugin", os.path.join(everything.plugindir, f))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("ok: %s " % f[:-len("_plugin.so")])


def test_devel_and_library_tags(everything):
    files = everything.files()
    for installed in (INCLUDEDIR + "/uwsgi/plugin.h", PCDIR + "/uwsgi-plugin.pc",
                      os.path.dirname(BIN) + "/uwsgiconfig"):
        assert installed.lstrip("/") in files
    assert any(f.endswith("/libuwsgi.so") for f in files)
    assert os.access(everything.path(os.path.dirname(BIN) + "/uwsgiconfig"), os.X_OK)


# A plugin made outside the tree: one C file, no meson.build, only the installed headers.
TINY_C = textwrap.dedent("""\
    #include <uwsgi/plugin.h>
    #include <string.h>

    static const uwsgi_host *host;
    static const uwsgi_option options[] = {
        {"tiny-greeting", NULL, UWSGI_OPT_VALUE, 0, "WORD", "what the tiny plugin says"},
        {NULL, NULL, 0, 0, NULL, NULL},
    };

    static int tiny_init(const uwsgi_host *h) { host = h; return UWSGI_OK; }
    static int tiny_load_apps(void) { host->register_app("tiny", "greeter"); return UWSGI_OK; }
    static int tiny_request(uwsgi_request *req) {
        const char *word = host->opt_get("tiny-greeting");
        char body[128] = "tiny says ";
        strncat(body, word ? word : "nothing", sizeof body - strlen(body) - 1);
        int r = host->resp_start(req, "200 OK", 6, NULL, 0);
        return r == UWSGI_OK ? host->resp_write(req, body, strlen(body)) : r;
    }

    static const uwsgi_plugin tiny = {
        UWSGI_PLUGIN_HEADER, "tiny", "0.0.1", "a plugin built out of tree", NULL, options,
        tiny_init, tiny_load_apps, NULL, NULL, NULL, 0, tiny_request, NULL, NULL, NULL,
    };
    UWSGI_PLUGIN_DEFINE(tiny)
    """)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("outside") / "tiny"
    d.mkdir()
    (d / "tiny.c").write_text(TINY_C)
    return d


def serve_tiny(uwsgi, plugin_dir, tmp_path):
    port = free_port()
    log = tmp_path / "tiny.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([uwsgi, "--plugin-dir", str(plugin_dir), "--socket",
                                 "127.0.0.1:%d" % port, "--tiny-greeting", "hello"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, str(log))
        return uwsgi_request(port, HELLO)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_installed_uwsgiconfig_builds_an_out_of_tree_plugin_with_pkg_config(everything,
                                                                           tiny_dir, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PKG_CONFIG_PATH=everything.path(PCDIR),
               PKG_CONFIG_SYSROOT_DIR=everything.root)
    r = subprocess.run([everything.path(os.path.dirname(BIN) + "/uwsgiconfig"), "--plugin",
                        str(tiny_dir), "--output", str(out)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "with the headers of pkg-config uwsgi-plugin (-I%s%s)" % (everything.root,
                                                                      INCLUDEDIR) in r.stdout
    assert "built %s/tiny_plugin.so" % out in r.stdout
    check = everything.run("--check-plugin", str(out / "tiny_plugin.so"))
    assert check.returncode == 0 and check.stdout.startswith("ok: tiny 0.0.1 (ABI 1.1)")
    # --tiny-greeting alone activates it: an out-of-tree plugin is found like any other.
    status, _, body = serve_tiny(everything.uwsgi, out, tmp_path)
    assert (status, body) == (200, b"tiny says hello")


def test_installed_uwsgiconfig_without_headers_says_how_to_fix(everything, tiny_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}
    probe = subprocess.run(["pkg-config", "--exists", "uwsgi-plugin"], env=env)
    if probe.returncode == 0:
        pytest.skip("uwsgi-plugin.pc is installed on this machine")
    r = subprocess.run([everything.path(os.path.dirname(BIN) + "/uwsgiconfig"), "--plugin",
                        str(tiny_dir), "--output", str(tmp_path)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 1
    assert "the uwsgi plugin headers were not found" in r.stderr
    assert "set PKG_CONFIG_PATH" in r.stderr


def test_installed_uwsgi_build_plugin_uses_the_headers_installed_with_it(everything, tiny_dir,
                                                                        tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}
    r = everything.run("--build-plugin", str(tiny_dir), env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "headers %s%s" % (everything.root, INCLUDEDIR) in r.stderr
    assert "built %s/tiny_plugin.so" % tmp_path in r.stdout
    assert "ok: tiny 0.0.1 (ABI 1.1)" in r.stdout  # checked by the binary that built it
    status, _, body = serve_tiny(everything.uwsgi, tmp_path, tmp_path)
    assert (status, body) == (200, b"tiny says hello")


def test_tree_uwsgiconfig_builds_an_in_tree_plugin_folder(tmp_path):
    r = subprocess.run([os.path.join(ROOT, "tools", "uwsgiconfig"), "--plugin",
                        "plugins/example", "--output", str(tmp_path)], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "source tree %s/plugin-api/include" % ROOT in r.stdout
    check = subprocess.run([os.path.join(BUILD, "core", "uwsgi"), "--check-plugin",
                            str(tmp_path / "example_plugin.so")], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.startswith("ok: example ")
