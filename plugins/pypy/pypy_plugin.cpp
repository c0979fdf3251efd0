// WSGI on PyPy. The C++ side only finds and starts libpypy-c and forwards the lifecycle hooks;
// everything Python-facing (apps, WSGI, the `uwsgi` module) lives in pypy_setup.py, which runs
// inside PyPy and reaches the host table through cffi in ABI mode.
//
// The hooks enter Python through cpyext (PyGILState_Ensure, PyObject_CallNoArgs,
// PyGILState_Release), not through cffi callbacks: PyPy's _cffi_backend turns PyPy's threads
// (its GIL) on for every callback it makes, and JIT-compiled loops run about 1.12x slower with
// them on (docs/PERFORMANCE.md, "PyPy's threads off"). They stay off unless uWSGI's rule asks
// for them (api.threads, decided by the script).
#include <uwsgi/plugin.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
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
    // uWSGI's async mode, for WebSockets only (websocket_hub.py): a hub thread per worker
    // runs WebSocket upgrades as coroutines over one epoll set. --ugreen and --greenlet are
    // uWSGI's loop engines' names for the same thing here.
    {.name = "async", .kind = UWSGI_OPT_VALUE, .metavar = "N",
     .help = "run up to N WebSockets per worker on one hub thread (coroutines over epoll) "
             "instead of a thread each; the app must wait only in websocket_recv"},
    {.name = "ugreen", .kind = UWSGI_OPT_FLAG,
     .help = "the WebSocket hub (as --async, N = --threads unless --async gives it)"},
    {.name = "greenlet", .kind = UWSGI_OPT_FLAG,
     .help = "the WebSocket hub (as --async, N = --threads unless --async gives it)"},
    {.name = "virtualenv", .aliases = "venv,home,pyhome,H", .kind = UWSGI_OPT_VALUE,
     .metavar = "DIR",
     .help = "a PyPy virtualenv: its site-packages go on the Python path (a CPython one is refused)"},
    {},
};

uwsgi_pypy::Library g_lib;
uwsgi_pypy_api g_api;
std::string g_setup_origin;
thread_local int t_attached = 0; // 1 attached, -1 attach failed
thread_local uwsgi_pypy_call t_call;

uwsgi_pypy_call *current_call() { return &t_call; }

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

// The cpyext functions the plugin enters Python with (PyObject is opaque here). Using cpyext
// makes PyPy set up its C-API state: more RSS per process (0.6 MB in a hello server, 5.5 MB in
// a bare embedder; docs/PERFORMANCE.md).
struct CApi {
    int (*ensure)(void);
    void (*release)(int);
    void *(*save_thread)(void);
    void *(*add_module)(const char *);
    void *(*get_attr)(void *, const char *);
    void *(*call)(void *);
    void (*decref)(void *);
    void (*err_clear)(void);
};
CApi g_c;

// The script's hooks: callables of its module _uwsgi_pypy (nullptr: it defines none).
enum Hook { kLoadApps, kPostFork, kRequest, kAtexit, kMule, kMuleMsg, kSpooler, kSpoolerInit,
            kHooks };
const char *const kHookNames[kHooks] = {"hook_load_apps", "hook_post_fork", "hook_request",
                                        "hook_atexit",    "hook_mule",      "hook_mule_msg",
                                        "hook_spooler",   "hook_spooler_init"};
void *g_hooks[kHooks];

// With PyPy's threads off its GIL cannot make a thread wait: a second thread entering while one
// runs Python aborts the process ("the GIL was not initialized"). So, threads off, the plugin
// lets one thread in at a time (recursive: a hook may reach C that enters again on its thread).
// With threads on (or once the app turned them on: a thread it starts, a signal handler or RPC
// function it registers, as their cffi callbacks do) the GIL alone would do; the lock then only
// orders the hooks of the few threads that run them, never the app's own threads.
bool g_threads = false;
std::recursive_mutex g_enter;

bool resolve_cpyext(std::string &err) {
    return (g_c.ensure = pypy_fn<int (*)(void)>("PyPyGILState_Ensure", err)) &&
           (g_c.release = pypy_fn<void (*)(int)>("PyPyGILState_Release", err)) &&
           (g_c.save_thread = pypy_fn<void *(*)(void)>("PyPyEval_SaveThread", err)) &&
           (g_c.add_module = pypy_fn<void *(*)(const char *)>("PyPyImport_AddModule", err)) &&
           (g_c.get_attr =
                pypy_fn<void *(*)(void *, const char *)>("PyPyObject_GetAttrString", err)) &&
           (g_c.call = pypy_fn<void *(*)(void *)>("PyPyObject_CallNoArgs", err)) &&
           (g_c.decref = pypy_fn<void (*)(void *)>("PyPy_DecRef", err)) &&
           (g_c.err_clear = pypy_fn<void (*)(void)>("PyPyErr_Clear", err));
}

// Makes this thread known to PyPy once (its execution context kept), so each call after is only
// Ensure/Release. Threads on: pypy_thread_attach, as PyPy's embedding API wants. Threads off:
// that would turn them on, so a first PyGILState_Ensure (which creates the thread's state) and
// PyEval_SaveThread (which lets go of the GIL but keeps the state; a Release would drop it).
// Called with g_enter held when threads are off (from enter()).
bool attach_thread() {
    if (t_attached) return t_attached > 0;
    std::string err;
    if (g_threads) {
        auto attach = pypy_fn<void (*)(void)>("pypy_thread_attach", err);
        if (attach) attach();
    } else {
        g_c.ensure();
        g_c.save_thread();
    }
    if (!err.empty()) log_error(err + "; this thread cannot run Python");
    t_attached = err.empty() ? 1 : -1;
    return t_attached > 0;
}

// Calls a hook on this thread with t_call filled by the caller; the hook's t_call.result, or
// `failed` when there is no hook, the thread cannot run Python or the hook raised (the script's
// hooks log their own exceptions; this only clears one that escaped).
int64_t enter(Hook hook, int64_t failed) {
    void *fn = g_hooks[hook];
    if (!fn) return failed;
    std::unique_lock<std::recursive_mutex> lock(g_enter, std::defer_lock);
    if (!g_threads) lock.lock();
    if (!attach_thread()) return failed;
    t_call.result = failed;
    int st = g_c.ensure();
    void *r = g_c.call(fn);
    if (r)
        g_c.decref(r);
    else
        g_c.err_clear();
    g_c.release(st);
    return t_call.result;
}

// Looks up the script's hooks once it ran (its module is in sys.modules).
void find_hooks() {
    int st = g_c.ensure();
    void *mod = g_c.add_module("_uwsgi_pypy");  // borrowed
    for (int i = 0; i < kHooks; ++i) {
        g_hooks[i] = mod ? g_c.get_attr(mod, kHookNames[i]) : nullptr;  // kept for good
        if (!g_hooks[i]) g_c.err_clear();
    }
    g_c.release(st);
}

int spooler_handler(void *, const char *task, const uwsgi_str *keys, const uwsgi_str *values,
                    size_t count, const void *body, size_t body_len) {
    t_call.spec = task;
    t_call.keys = keys;
    t_call.values = values;
    t_call.count = count;
    t_call.data = body;
    t_call.len = body_len;
    return static_cast<int>(enter(kSpooler, UWSGI_SPOOL_RETRY));
}

void spooler_init(void *) { enter(kSpoolerInit, 0); }

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

// PyPy sizes its GC nursery from the caches the CPU reports: 1 MB on a machine with a 1 MB L2,
// which is small for a web app (a Django page cost half the CPU per request with 4 MB, and two
// workers stopped slowing each other down: docs/PERFORMANCE.md, "The ~15% left after warm-up is
// PyPy's GC"), and 240 MB on a VM reporting a 480 MB L3, which is slower than 4 MB too (Django
// 402 against 309 us per call: docs/PERFORMANCE.md, "Behind nginx: realistic pages").
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

    if (!resolve_cpyext(err)) return false;
    t_attached = 1;  // the thread that started PyPy (or, library mode, the one that loaded us)

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
    g_api.current_call = current_call;
    g_api.spooler_handler = spooler_handler;
    g_api.spooler_init = spooler_init;

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
    if (g_api.threads) {
        auto init_threads = pypy_fn<void (*)(void)>("pypy_init_threads", err);
        if (!init_threads) return false;
        init_threads();
        g_threads = true;
    }
    find_hooks();
    if (!g_hooks[kRequest])
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

int plugin_load_apps() { return g_hooks[kLoadApps] ? static_cast<int>(enter(kLoadApps, -1)) : 0; }

void plugin_post_fork() { enter(kPostFork, 0); }

// Threads off, a thread is attached at its first hook instead, under g_enter: the core runs
// thread_init on every thread it starts (a mule's signal thread too), and waiting for g_enter
// here would wait for good behind a mule's program, which holds it while it runs.
void plugin_thread_init() {
    if (g_threads) attach_thread();
}

void plugin_shutdown() { enter(kAtexit, 0); }

int plugin_mule(const char *spec) {
    t_call.spec = spec;
    return g_hooks[kMule] ? static_cast<int>(enter(kMule, 1)) : 0;
}

int plugin_mule_msg(const void *msg, size_t len) {
    t_call.data = msg;
    t_call.len = len;
    return g_hooks[kMuleMsg] ? static_cast<int>(enter(kMuleMsg, 1)) : 0;
}

int cannot_run(const char *why) {
    log_error(why);
    return UWSGI_ERROR;
}

// The request cannot run at all: nothing was sent, so failing lets the core answer a complete
// 500 (an error started here and then reported would make the protocol cut the response).
int plugin_request(uwsgi_request *req) {
    if (t_attached < 0) return cannot_run("request thread is not attached to PyPy");
    if (!g_hooks[kRequest]) return cannot_run("no WSGI request handler (see the setup script)");
    t_call.req = req;
    return static_cast<int>(enter(kRequest, UWSGI_ERROR));
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
