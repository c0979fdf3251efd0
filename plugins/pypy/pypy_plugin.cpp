// WSGI on PyPy. The C++ side only finds and starts libpypy-c and forwards the lifecycle hooks;
// everything Python-facing (apps, WSGI, the `uwsgi` module) lives in pypy_setup.py, which runs
// inside PyPy and reaches the host table through cffi in ABI mode.
#include <uwsgi/plugin.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "pypy_api.h"
#include "pypy_layout.hpp"
#include "pypy_library.hpp"
#include "request_fastpath.hpp"

// Generated from pypy_setup.py by embed_source.py; printed by `uwsgi --print-sym uwsgi_pypy_setup`.
extern "C" const char uwsgi_pypy_setup[];

namespace {

constexpr const char *kPlugin = "pypy";

const uwsgi_option kOptions[] = {
    {.name = "pypy-lib", .kind = UWSGI_OPT_VALUE, .metavar = "FILE",
     .help = "load this libpypy-c file exactly"},
    {.name = "pypy-setup", .kind = UWSGI_OPT_VALUE, .metavar = "FILE",
     .help = "run this setup script instead of the embedded pypy_setup.py"},
    {.name = "pypy-home", .kind = UWSGI_OPT_VALUE, .metavar = "DIR",
     .help = "the PyPy installation (default: $PYPY_HOME, else the pypy3 on PATH)"},
    // The CPython plugin's names are aliases: a config written for it means the same here.
    {.name = "pypy-wsgi", .aliases = "module,wsgi,w", .kind = UWSGI_OPT_VALUE,
     .metavar = "MODULE[:CALLABLE]",
     .help = "load a WSGI app from a module on the Python path (MODULE:OBJ() calls OBJ for the app)"},
    {.name = "pypy-wsgi-file", .aliases = "wsgi-file,file", .kind = UWSGI_OPT_VALUE,
     .metavar = "FILE", .help = "load a mod_wsgi-style file defining `application` (or --callable)"},
    {.name = "pypy-eval", .kind = UWSGI_OPT_LIST, .metavar = "CODE",
     .help = "run Python code before fork"},
    {.name = "pypy-eval-post-fork", .kind = UWSGI_OPT_LIST, .metavar = "CODE",
     .help = "run Python code in each worker after fork"},
    {.name = "pypy-exec", .kind = UWSGI_OPT_LIST, .metavar = "FILE",
     .help = "run a Python file before fork"},
    {.name = "pypy-exec-post-fork", .kind = UWSGI_OPT_LIST, .metavar = "FILE",
     .help = "run a Python file in each worker after fork"},
    {.name = "pypy-pp", .aliases = "pypy-python-path,pypy-pythonpath,pythonpath,python-path,pp",
     .kind = UWSGI_OPT_LIST, .metavar = "DIR", .help = "add a directory to the Python path"},
    // Core options in uWSGI; here the pypy plugin is what loads and routes apps, so it owns
    // them (and using them activates it, as in a uWSGI built with Python inside).
    {.name = "mount", .kind = UWSGI_OPT_LIST, .metavar = "MOUNTPOINT=APP",
     .help = "load APP (a file, MODULE[:CALLABLE] or paste config) for requests whose "
             "SCRIPT_NAME is MOUNTPOINT"},
    {.name = "manage-script-name", .kind = UWSGI_OPT_FLAG,
     .help = "move the mountpoint that starts PATH_INFO into SCRIPT_NAME"},
    {.name = "no-default-app", .kind = UWSGI_OPT_FLAG,
     .help = "requests matching no mountpoint get 500 instead of the first app"},
    {.name = "disable-write-exception", .kind = UWSGI_OPT_FLAG,
     .help = "the WSGI write() callable does not raise once the client is gone"},
    // uWSGI's CPython plugin options accepted with their meaning on PyPy (logged when used)
    {.name = "single-interpreter", .kind = UWSGI_OPT_FLAG,
     .help = "accepted: PyPy runs one interpreter per process"},
    {.name = "optimize", .aliases = "O", .kind = UWSGI_OPT_VALUE, .metavar = "LEVEL",
     .help = "accepted: PyPy has no optimisation level (asserts stay on)"},
    {.name = "wsgi-disable-file-wrapper", .kind = UWSGI_OPT_FLAG,
     .help = "leave wsgi.file_wrapper out of the WSGI environ"},
    {.name = "py-autoreload", .aliases = "python-autoreload,py-auto-reload",
     .kind = UWSGI_OPT_VALUE, .metavar = "SECS",
     .help = "every SECS, reload the server when the file of an imported module changed"},
    {.name = "spooler-import",
     .aliases = "spooler-pyimport,spooler-py-import,spooler-python-import",
     .kind = UWSGI_OPT_LIST, .metavar = "MODULE|FILE",
     .help = "import a Python module (or run a .py file) in each spooler process before its "
             "first task"},
    {.name = "virtualenv", .aliases = "venv,home,pyhome,H", .kind = UWSGI_OPT_VALUE,
     .metavar = "DIR",
     .help = "a PyPy virtualenv: its site-packages go on the Python path (a CPython one is refused)"},
    {},
};

uwsgi_pypy::Library g_lib;
uwsgi_pypy_api g_api;
std::string g_setup_origin;
thread_local int t_attached = 0; // 1 attached, -1 attach failed

void log_error(const std::string &msg) { uwsgi::log(UWSGI_LOG_ERROR, kPlugin, msg); }
void log_info(const std::string &msg) { uwsgi::log(UWSGI_LOG_INFO, kPlugin, msg); }

std::string opt(const char *name) {
    const char *v = uwsgi::Host::get().opt_get(name);
    return v ? v : "";
}

std::string env(const char *name) {
    const char *v = getenv(name);
    return v ? v : "";
}

template <typename Fn>
Fn pypy_fn(const char *name, std::string &err) {
    return reinterpret_cast<Fn>(g_lib.symbol(name, err));
}

bool read_file(const std::string &path, std::string &out, std::string &err) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err = "--pypy-setup " + path + ": cannot read: " + std::strerror(errno);
        return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

// PyPy sizes its GC nursery from the CPU's L2 cache (1 MB on a 1 MB L2), which is small for a
// web app: a Django page cost half the CPU per request with 4 MB, and two workers stopped
// slowing each other down (docs/PERFORMANCE.md, "The ~15% left after warm-up is PyPy's GC").
// The GC reads PYPY_GC_NURSERY inside rpython_startup_code, so it is set only around that call
// and only when the user set none.
constexpr const char *kDefaultNursery = "4M";
const char *g_default_nursery = nullptr;

void start_gc(void (*startup)(void)) {
    // PyPy takes PYPYLOG out of the environment as it starts (so its children do not inherit
    // it); the setup script's GC line cannot see it, so it is named here.
    if (const char *pypylog = getenv("PYPYLOG"))
        log_info(std::string("PyPy debug log: PYPYLOG=") + pypylog);
    if (getenv("PYPY_GC_NURSERY")) {
        startup();
        return;
    }
    setenv("PYPY_GC_NURSERY", kDefaultNursery, 1);
    startup();
    unsetenv("PYPY_GC_NURSERY");
    g_default_nursery = kDefaultNursery;
}

// Loads PyPy (or adopts the running one) and runs the setup script; false with err on failure.
bool start_pypy(std::string &err) {
    std::string cpython = uwsgi_pypy::loaded_cpython();
    if (!cpython.empty()) {
        err = "a CPython library is already loaded in this process (" + cpython +
              "); mixing libpython and libpypy-c is not supported: run PyPy without the CPython "
              "plugin";
        return false;
    }

    std::string source;
    std::string setup_file = opt("pypy-setup");
    if (setup_file.empty()) {
        source = uwsgi_pypy_setup;
        g_setup_origin = "embedded";
    } else {
        if (!read_file(setup_file, source, err)) return false;
        g_setup_origin = setup_file;
    }

    if (g_lib.attach_running()) {
        log_info("PyPy already running in this process (" + g_lib.path() + "): library mode");
    } else {
        uwsgi_pypy::SearchConfig cfg;
        cfg.lib = opt("pypy-lib");
        cfg.home = opt("pypy-home");
        cfg.env_home = env("PYPY_HOME");
        cfg.path_env = env("PATH");
        if (!g_lib.load(cfg, err)) return false;
        log_info("loaded " + g_lib.path() +
                 (g_lib.home().dir.empty()
                      ? std::string()
                      : " (home " + g_lib.home().dir + " from " + g_lib.home().origin + ")"));

        auto startup = pypy_fn<void (*)(void)>("rpython_startup_code", err);
        if (!startup) return false;
        start_gc(startup);

        auto setup_home = pypy_fn<int (*)(char *, int)>("pypy_setup_home", err);
        if (!setup_home) return false;
        std::string home = g_lib.setup_home_arg();
        if (setup_home(const_cast<char *>(home.c_str()), 1) != 0) {
            err = "pypy_setup_home(" + home + ") failed: the PyPy standard library was not found "
                  "from there; give the installation with --pypy-home DIR";
            return false;
        }
    }

    auto init_threads = pypy_fn<void (*)(void)>("pypy_init_threads", err);
    if (!init_threads) return false;
    init_threads();
    t_attached = 1;

    std::memset(&g_api, 0, sizeof g_api);
    g_api.struct_size = sizeof g_api;
    g_api.version = UWSGI_PYPY_API_VERSION;
    g_api.check_layout = uwsgi_pypy::check_layout;
    g_api.host = &uwsgi::Host::get();
    g_api.plugin_name = kPlugin;
    g_api.setup_origin = g_setup_origin.c_str();
    g_api.library_mode = g_lib.running() ? 1 : 0;
    g_api.pack_vars = uwsgi_pypy::pack_vars;
    g_api.respond = uwsgi_pypy::respond;
    g_api.default_nursery = g_default_nursery;

    auto execute = pypy_fn<int (*)(char *, void *)>("pypy_execute_source_ptr", err);
    if (!execute) return false;
    uwsgi_pypy::layout_reset();
    int rc = execute(const_cast<char *>(source.c_str()), &g_api);

    if (rc != 0 && !uwsgi_pypy::layout_has_errors()) {
        err = "setup script (" + g_setup_origin + ") failed (its error is logged above)";
        return false;
    }
    std::string layout_err = uwsgi_pypy::layout_verdict();
    if (!layout_err.empty()) {
        err = "setup script (" + g_setup_origin + ") does not match this plugin: " + layout_err;
        return false;
    }
    if (rc != 0) {
        err = "setup script (" + g_setup_origin + ") failed (its error is logged above)";
        return false;
    }
    if (!g_api.request)
        log_error("setup script (" + g_setup_origin + ") set no request handler: requests get 500");
    return true;
}

int plugin_init(const uwsgi_host *host) {
    uwsgi::Host::set(host);
    std::string err;
    if (!start_pypy(err)) {
        log_error(err);
        return -1;
    }
    return 0;
}

int plugin_load_apps() { return g_api.load_apps ? g_api.load_apps() : 0; }

void plugin_post_fork() {
    if (g_api.post_fork) g_api.post_fork();
}

void plugin_thread_init() {
    if (t_attached) return;
    std::string err;
    auto attach = pypy_fn<void (*)(void)>("pypy_thread_attach", err);
    if (!attach) {
        log_error(err + "; this thread cannot run Python");
        t_attached = -1;
        return;
    }
    attach();
    t_attached = 1;
}

void plugin_shutdown() {
    if (g_api.atexit && t_attached > 0) g_api.atexit();
}

// The request cannot run at all: nothing was sent, so failing lets the core answer a complete
// 500 (an error started here and then reported would make the protocol cut the response).
int plugin_mule(const char *spec) { return g_api.mule ? g_api.mule(spec) : 0; }

int plugin_mule_msg(const void *msg, size_t len) {
    return g_api.mule_msg ? g_api.mule_msg(msg, len) : 0;
}

int cannot_run(const char *why) {
    log_error(why);
    return UWSGI_ERROR;
}

int plugin_request(uwsgi_request *req) {
    if (t_attached < 0) return cannot_run("request thread is not attached to PyPy");
    if (!g_api.request) return cannot_run("no WSGI request handler (see the setup script)");
    return g_api.request(req);
}

const uwsgi_plugin kDescriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "pypy",
    .version = "0.1.0",
    .description = "WSGI apps on PyPy (libpypy-c loaded at run time, cffi setup script)",
    .options = kOptions,
    .init = plugin_init,
    .load_apps = plugin_load_apps,
    .post_fork = plugin_post_fork,
    .thread_init = plugin_thread_init,
    .shutdown = plugin_shutdown,
    .modifier1 = 0,
    .request = plugin_request,
    .mule = plugin_mule,
    .mule_msg = plugin_mule_msg,
};

}  // namespace

UWSGI_PLUGIN_EXPORT(pypy, kDescriptor)
