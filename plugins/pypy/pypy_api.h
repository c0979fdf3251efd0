/*
 * The table the pypy plugin hands to its setup script (pypy_setup.py) through
 * pypy_execute_source_ptr(). The script sees it as `c_argument` (an address) and reads it with
 * cffi in ABI mode, through a cdef generated from this header, plugin.h and rpc.h at build time
 * (gen_setup.py), which also gives it the integer constants (UWSGI_OK, UWSGI_PYPY_API_VERSION...).
 *
 * The first three fields are the handshake and never move: the script reads struct_size and
 * version, then reports the offset of every field of its cdef (and of its copy of uwsgi_host)
 * through check_layout() before it touches anything else. The plugin refuses to start when the
 * two disagree, naming the field, instead of calling through a wrong pointer.
 *
 * Private to this plugin: not part of the core ABI.
 */
#ifndef UWSGI_PYPY_API_H
#define UWSGI_PYPY_API_H

#include <uwsgi/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: the plugin enters Python through cpyext (the hooks below marked "version 1" stay NULL) */
#define UWSGI_PYPY_API_VERSION 2u

/* One thread's arguments of the Python hook the plugin is calling on it (version 2): the plugin
 * enters Python through cpyext with no argument objects (PyObject_CallNoArgs), and the hook
 * reads what it needs here, through api->current_call(). Which fields a hook reads:
 *   request      req
 *   mule         spec (its --mule SPEC)
 *   mule_msg     data, len (the message)
 *   spooler      spec (the task file), keys, values, count, data, len (the body)
 *   load_apps, post_fork, atexit, spooler_init: none
 * result is preset to the hook's failure value; the hook stores its own there. */
typedef struct uwsgi_pypy_call {
    uwsgi_request *req;
    const char *spec;
    const void *data;
    size_t len;
    const uwsgi_str *keys;
    const uwsgi_str *values;
    size_t count;
    int64_t result;
} uwsgi_pypy_call;

typedef struct uwsgi_pypy_api {
    /* handshake: fixed forever */
    uint32_t struct_size;
    uint32_t version; /* UWSGI_PYPY_API_VERSION */
    /* what: "sizeof STRUCT" or "STRUCT.FIELD"; value: the script's size or offset.
     * 0 when the plugin agrees, -1 otherwise (the plugin logged why). */
    int (*check_layout)(const char *what, size_t value);

    /* filled by the plugin */
    const uwsgi_host *host;
    const char *plugin_name;  /* "pypy", for host->log */
    const char *setup_origin; /* "embedded" or the --pypy-setup file */
    int32_t library_mode;     /* 1 when PyPy was already running in the process */
    int32_t reserved;

    /* version 1 only (ffi.callback pointers the script filled in); NULL since version 2, where
     * the script's hooks are Python callables of the module _uwsgi_pypy (hook_load_apps, ...) */
    int (*load_apps)(void);          /* <0 fatal, else the number of apps loaded */
    void (*post_fork)(void);         /* in each worker */
    int (*request)(uwsgi_request *); /* modifier1 0: one WSGI request; UWSGI_OK or <0 */
    void (*atexit)(void);            /* each process, at graceful stop or reload */

    /* filled by the plugin: the request path in one crossing each (request_fastpath.hpp) */
    /* the values (VALUE\0...) into buf, then the keys (KEY\0..., *keys_len bytes) unless they
     * are the same as this thread's last call's (*same_keys 1); the values' length, -1: they do
     * not fit or hold a NUL */
    int64_t (*pack_vars)(const uwsgi_request *req, char *buf, size_t cap, size_t *keys_len,
                         int32_t *same_keys);
    /* resp_start (headers: a blob cut by lens[2 * n]) then resp_write(body) when body_len > 0;
     * *failed_at: 0 the head failed, 1 the body */
    int (*respond)(uwsgi_request *req, const char *status, size_t status_len, const char *blob,
                   const uint32_t *lens, size_t nheaders, const void *body, size_t body_len,
                   int32_t *failed_at);

    /* version 1 only, NULL since: mules. Run --mule=SPEC (1: a Python program, which returned; 0:
     * not ours), and a message for a signal-only mule (1: a hook took it; 0: the app set none) */
    int (*mule)(const char *spec);
    int (*mule_msg)(const void *msg, size_t len);

    /* filled by the plugin: the GC nursery it gave PyPy's start because the user set no
     * PYPY_GC_NURSERY ("4M"), or NULL (the user's setting, or PyPy already running). Not left in
     * the environment, so the app's subprocesses do not inherit it. */
    const char *default_nursery;

    /* version 2 */
    /* filled by the script: 1 when uWSGI's rule asks for Python threads (--enable-threads or
     * --threads N > 1); the plugin then calls pypy_init_threads() and attaches request threads
     * with pypy_thread_attach(). 0 leaves PyPy's GIL off (JIT loops run faster) and the plugin
     * lets one thread into Python at a time. */
    int32_t threads;
    int32_t reserved2;
    /* filled by the plugin: the calling thread's hook arguments */
    uwsgi_pypy_call *(*current_call)(void);
    /* filled by the plugin: C entry points for host->register_spooler that run the script's
     * hook_spooler / hook_spooler_init through cpyext (a cffi callback would turn PyPy's
     * threads on in every process, because the spooler is registered before fork) */
    uwsgi_spooler_handler spooler_handler;
    void (*spooler_init)(void *ctx);
} uwsgi_pypy_api;

#ifdef __cplusplus
}
#endif

#endif /* UWSGI_PYPY_API_H */
