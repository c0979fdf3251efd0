/*
 * uwsgi plugin ABI: the only stable contract between the core and a plugin.
 *
 * A plugin is a shared object exporting one C function, uwsgi_plugin_entry(), that returns a
 * pointer to a static uwsgi_plugin descriptor (write it with UWSGI_PLUGIN_DEFINE). The core calls
 * nothing else until it has checked, in this order: the magic number, the ABI major (must equal
 * the core's), the ABI minor (must not be newer than the core's), struct_size (must cover the
 * fields of the minor it claims), and the required fields (name, version).
 *
 * Rules that keep this ABI stable:
 *  - only C types cross the boundary: fixed-width integers, size_t, pointers, uwsgi_str views,
 *    function pointers; no bool or enum typed fields, no C++ objects, no exceptions;
 *  - every struct starts with its own size (struct_size) and is append-only: new fields go at the
 *    end with an "ABI 1.N" comment, nothing is reordered or removed; removing or changing a field
 *    is a new major;
 *  - test/unit/test_abi_layout.cpp freezes every offset and size below.
 *
 * ABI history (newest last):
 *   1.0  2026-11-26  first stable version: descriptor, host table, options as data, lifecycle
 *                    hooks, one request handler per modifier1, socket protocols, extensions.
 */
#ifndef UWSGI_PLUGIN_H
#define UWSGI_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UWSGI_PLUGIN_MAGIC 0x55575347u /* "UWSG" */
#define UWSGI_ABI_MAJOR 1
#define UWSGI_ABI_MINOR 0
#define UWSGI_PLUGIN_ENTRY_SYMBOL "uwsgi_plugin_entry"

/* A byte string that is not necessarily NUL-terminated. */
typedef struct uwsgi_str {
    const char *ptr;
    size_t len;
} uwsgi_str;

typedef struct uwsgi_header {
    uwsgi_str name;
    uwsgi_str value;
} uwsgi_header;

/* Option kinds. A flag takes an optional boolean (true/false/on/off/yes/no/1/0). */
#define UWSGI_OPT_FLAG 1u
#define UWSGI_OPT_VALUE 2u
#define UWSGI_OPT_LIST 3u /* may be repeated; every value is kept */
/* A configuration file (FILE[:section], section "uwsgi" by default) whose section is read as
 * --ini reads it, when the option is parsed; the value is kept too. */
#define UWSGI_OPT_CONFIG 4u

/* One command-line / ini option. A table of these ends with an entry whose name is NULL. */
typedef struct uwsgi_option {
    const char *name;    /* long name without dashes, e.g. "pypy-home" */
    const char *aliases; /* comma-separated other long names; a single letter is a short option */
    uint32_t kind;       /* UWSGI_OPT_* */
    uint32_t reserved;   /* 0 */
    const char *metavar; /* e.g. "DIR"; NULL for flags */
    const char *help;    /* one line */
} uwsgi_option;

/* Opaque objects owned by the core. */
typedef struct uwsgi_request uwsgi_request;
typedef struct uwsgi_conn uwsgi_conn;

/* Return codes of host functions and hooks. */
#define UWSGI_OK 0
#define UWSGI_ERROR (-1)  /* failed; the reason was logged */
#define UWSGI_EPEER (-2)  /* the peer went away or timed out */
#define UWSGI_ELIMIT (-3) /* a configured limit was exceeded */

#define UWSGI_LOG_DEBUG 0
#define UWSGI_LOG_INFO 1
#define UWSGI_LOG_WARN 2
#define UWSGI_LOG_ERROR 3

/* A socket protocol: how requests are read from, and responses framed onto, one kind of socket.
 * The core owns the connection and hands the protocol a per-connection state it created. */
typedef struct uwsgi_protocol {
    uint32_t struct_size;
    uint32_t reserved;
    const char *name;          /* e.g. "http" */
    const char *socket_option; /* the LIST option whose values are addresses, e.g. "http-socket" */
    /* Per-connection state, created once per accepted connection and reused for its requests. */
    void *(*conn_open)(uwsgi_conn *conn);
    void (*conn_close)(void *state);
    /* Read one request head and describe it with host->req_add_var / req_set_modifiers.
     * 1: a request is ready; 0: the peer closed between requests; <0: bad input or I/O error; the
     * protocol has already answered it where it could, and the connection is closed. */
    int (*read_request)(void *state, uwsgi_request *req);
    /* Request body bytes: >0 read, 0 end of body, <0 error. */
    int64_t (*read_body)(void *state, uwsgi_request *req, void *buf, size_t len);
    int (*write_head)(void *state, uwsgi_request *req, uwsgi_str status, const uwsgi_header *headers,
                      size_t nheaders);
    int (*write_body)(void *state, uwsgi_request *req, const void *buf, size_t len);
    /* End of the response. 1: the connection may serve another request; 0: close it. */
    int (*finish)(void *state, uwsgi_request *req);
    /* 1 when bytes of a next request are already buffered (pipelining), so the core serves
     * again without waiting for the socket. */
    int (*has_pending)(void *state);
    /* Optional. The handler failed after the response started: the response must not look
     * complete (e.g. no last chunk). The connection is closed afterwards; finish is not called. */
    void (*abort)(void *state, uwsgi_request *req);
    /* Optional. Sends `count` bytes of `fd` from `offset` as response body. Returns UWSGI_OK or
     * an error, or 1 to decline (e.g. chunked framing): the core then reads the file and calls
     * write_body. */
    int (*sendfile)(void *state, uwsgi_request *req, int fd, int64_t offset, int64_t count);
} uwsgi_protocol;

/* The table of core services handed to every plugin's init(). Append-only. */
typedef struct uwsgi_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *server_version;

    /* logging through the core's logger; msg need not be NUL-terminated */
    void (*log)(int level, const char *plugin, const char *msg, size_t len);

    /* option values: the last value (flags: "true"/"false"), NULL when not set */
    const char *(*opt_get)(const char *name);
    size_t (*opt_count)(const char *name);
    const char *(*opt_at)(const char *name, size_t index);
    const char *(*opt_name_at)(size_t index); /* every option set, in order; NULL past the end */

    /* process model */
    int32_t (*worker_id)(void); /* 1..N in workers, 0 in the master */
    int32_t (*master_pid)(void);
    int32_t (*num_processes)(void);
    int32_t (*num_threads)(void);
    void (*reload)(void); /* graceful reload of the whole server */
    void (*stop)(void);   /* graceful shutdown of the whole server */
    /* An app was loaded; startup logs it, and --need-app counts it. */
    void (*register_app)(const char *plugin, const char *description);
    void (*set_proc_name)(const char *name);

    /* request, as seen by a handler */
    uint8_t (*req_modifier1)(const uwsgi_request *req);
    uint8_t (*req_modifier2)(const uwsgi_request *req);
    size_t (*req_var_count)(const uwsgi_request *req);
    int (*req_var_at)(const uwsgi_request *req, size_t index, uwsgi_str *key, uwsgi_str *value);
    int (*req_var)(const uwsgi_request *req, const char *key, size_t key_len, uwsgi_str *value);
    uint64_t (*req_id)(const uwsgi_request *req);
    /* body: >0 bytes read, 0 end, <0 error */
    int64_t (*req_read)(uwsgi_request *req, void *buf, size_t len);
    /* response; status like "200 OK" or "200" */
    int (*resp_start)(uwsgi_request *req, const char *status, size_t status_len,
                      const uwsgi_header *headers, size_t nheaders);
    int (*resp_write)(uwsgi_request *req, const void *buf, size_t len);
    int (*resp_sendfile)(uwsgi_request *req, int fd, int64_t offset, int64_t count);
    int (*resp_started)(const uwsgi_request *req);

    /* request, as built by a protocol (strings are copied) */
    int (*req_add_var)(uwsgi_request *req, const char *key, size_t key_len, const char *value,
                       size_t value_len);
    void (*req_set_modifiers)(uwsgi_request *req, uint8_t modifier1, uint8_t modifier2);

    /* connection I/O for protocols: waits at most --socket-timeout */
    int64_t (*conn_read)(uwsgi_conn *conn, void *buf, size_t len); /* 0 EOF, <0 error */
    int (*conn_write)(uwsgi_conn *conn, const void *buf, size_t len);
    int (*conn_sendfile)(uwsgi_conn *conn, int fd, int64_t offset, int64_t count);
    int (*conn_fd)(const uwsgi_conn *conn);
    int (*conn_peer)(const uwsgi_conn *conn, uwsgi_str *addr, uint16_t *port);
    int (*conn_local)(const uwsgi_conn *conn, uwsgi_str *addr, uint16_t *port);

    /* services one plugin offers another, e.g. "uwsgi.rpc/1"; NULL when none offers it */
    const void *(*get_extension)(const char *id);
} uwsgi_host;

/* The descriptor a plugin returns from uwsgi_plugin_entry(). Append-only. */
typedef struct uwsgi_plugin {
    uint32_t magic; /* UWSGI_PLUGIN_MAGIC */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;
    uint32_t reserved;
    const char *name;    /* required; NAME_plugin.so */
    const char *version; /* required */
    const char *description;
    const char *requires;        /* comma-separated plugins activated before this one, or NULL */
    const uwsgi_option *options; /* NULL or a NULL-name-terminated table */

    /* lifecycle, every hook optional */
    int (*init)(const uwsgi_host *host); /* master, after config; non-zero is fatal */
    int (*load_apps)(void);              /* <0 fatal; else the number of apps loaded */
    void (*post_fork)(void);             /* each worker, after fork */
    void (*thread_init)(void);           /* each request thread, before its first request */
    void (*shutdown)(void);

    int32_t modifier1; /* the requests this plugin handles, or -1 */
    int (*request)(uwsgi_request *req);
    void (*after_request)(uwsgi_request *req);

    const uwsgi_protocol *protocol; /* NULL unless the plugin provides a socket protocol */
    const void *(*get_extension)(const char *id);
} uwsgi_plugin;

typedef const uwsgi_plugin *(*uwsgi_plugin_entry_fn)(void);

#ifdef __cplusplus
#define UWSGI_PLUGIN_EXTERN_C extern "C"
#else
#define UWSGI_PLUGIN_EXTERN_C
#endif

/* Writes the exported entry function for descriptor VAR. A build that links plugins into the
 * binary defines UWSGI_BUILTIN_PLUGIN=NAME, and the entry becomes uwsgi_plugin_entry_NAME. */
#define UWSGI_PLUGIN_CONCAT_(a, b) a##b
#define UWSGI_PLUGIN_CONCAT(a, b) UWSGI_PLUGIN_CONCAT_(a, b)
#ifdef UWSGI_BUILTIN_PLUGIN
#define UWSGI_PLUGIN_ENTRY_NAME UWSGI_PLUGIN_CONCAT(uwsgi_plugin_entry_, UWSGI_BUILTIN_PLUGIN)
#else
#define UWSGI_PLUGIN_ENTRY_NAME uwsgi_plugin_entry
#endif
#define UWSGI_PLUGIN_DEFINE(VAR)                                                                   \
    UWSGI_PLUGIN_EXTERN_C __attribute__((visibility("default"))) const uwsgi_plugin *              \
    UWSGI_PLUGIN_ENTRY_NAME(void) {                                                                \
        return &(VAR);                                                                             \
    }

/* Fills the header fields of a descriptor initialiser. */
#define UWSGI_PLUGIN_HEADER                                                                        \
    UWSGI_PLUGIN_MAGIC, UWSGI_ABI_MAJOR, UWSGI_ABI_MINOR, (uint32_t)sizeof(uwsgi_plugin), 0

#ifdef __cplusplus
}
#endif

#endif /* UWSGI_PLUGIN_H */
