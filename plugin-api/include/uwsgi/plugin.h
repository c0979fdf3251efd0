/*
 * uwsgi plugin ABI: the only stable contract between the core and a plugin.
 *
 * A plugin NAME is a shared object NAME_plugin.so exporting one C function,
 * uwsgi_plugin_entry_NAME(), that returns a pointer to a static uwsgi_plugin descriptor (write it
 * with UWSGI_PLUGIN_EXPORT(NAME, descriptor)). The same object files link into a profile build
 * unchanged, since every plugin's entry has its own name. ABI 1.0 plugins export the fixed name
 * uwsgi_plugin_entry (UWSGI_PLUGIN_DEFINE); the loader still accepts it. The core calls nothing
 * else until it has checked, in this order: the magic number, the ABI major (must equal the
 * core's), the ABI minor (must not be newer than the core's), struct_size (must cover the fields
 * of the minor it claims), the required fields (name, version), and the protocol table's
 * struct_size (must cover the fields of the plugin's minor).
 *
 * Rules that keep this ABI stable:
 *  - only C types cross the boundary: fixed-width integers, size_t, pointers, uwsgi_str views,
 *    function pointers; no bool or enum typed fields, no C++ objects, no exceptions;
 *  - every struct starts with its own size (struct_size) and is append-only: new fields go at the
 *    end with an "ABI 1.N" comment, nothing is reordered or removed; removing or changing a field
 *    is a new major;
 *  - a table is checked against the size of the minor its plugin claims, never against today's
 *    sizeof: a plugin built for 1.0 keeps loading in every 1.x core;
 *  - test/unit/test_abi_layout.cpp freezes every offset and size below, per minor.
 *
 * ABI history (newest last):
 *   1.0  2026-11-26  first stable version: descriptor, host table, options as data, lifecycle
 *                    hooks, one request handler per modifier1, socket protocols, extensions.
 *   1.1  2026-11-30  one minor for all of this round's additions.
 *                    host table: setting() gives the core's effective settings (buffer-size,
 *                    limit-post, socket-timeout, max-vars, ...), so no plugin re-parses them;
 *                    the services behind uWSGI's `uwsgi` module: opt_kind, worker_stats
 *                    (uwsgi_worker_stats), total_requests, started_on, is_a_reload,
 *                    set_user_harakiri, set_accepting, req_conn, req_log_this,
 *                    req_set/get_logvar, user locks; WebSockets (ws_handshake, ws_recv,
 *                    ws_send: RFC 6455 in the core for every plugin); uwsgi signals
 *                    (register, raise, wait, timers, cron, file monitors); extra processes
                    the master supervises (register_process, process_kind); mules (mule_msg,
                    mule_get_msg, in_farm, mule_file; descriptor hooks mule and mule_msg); the spooler
 *                    (spool, register_spooler, spooler_read_task, spooler_count/pid/dir/
 *                    index, set_spooler_frequency; uwsgi_spooler_handler, UWSGI_SPOOL_*);
 *                    the per-app table (app_register, req_set_app, app_counters); uwsgi_worker_stats's
 *                    running_signal and paused;
 *                    TLS on a plugin's own sockets (tls_server, tls_accept, tls_recv,
 *                    tls_send, tls_pending, tls_close; UWSGI_TLS_WANT_READ/WRITE);
 *                    listen_socket (a plugin's socket kept across reloads).
 *                    ws_recv's `nonblocking` UWSGI_WS_RECV_BUFFERED (2, a meaning added in
 *                    1.1 on 2026-12-02, no layout change): a whole message already buffered,
 *                    never touching the socket (for a plugin's own event loop).
 *                    descriptor: `provides` (the extensions a plugin offers: the core
 *                    activates it when another plugin asks for one).
 *                    option kinds UWSGI_OPT_OPTIONAL (a value that may be left out) and
                    UWSGI_OPT_OPTIONAL_LIST;
 *                    entry symbol uwsgi_plugin_entry_NAME (UWSGI_PLUGIN_EXPORT), the fixed 1.0
 *                    name still loads; protocol and descriptor sizes checked per minor.
 *                    Source change, same layout: the descriptor field `requires` (a C++20
 *                    keyword) is now `depends`; positional initialisers are unaffected, code
 *                    naming the field renames it.
 *
 * Lifetimes, threads and return codes
 *
 *   What a plugin hands the core must outlive the process: the descriptor, its option table,
 *   its protocol table and every extension table are static (the core keeps the pointers and
 *   never unloads a plugin). Strings the plugin passes to host functions (status, headers, var
 *   names and values, log messages) are copied or used up before the call returns.
 *
 *   How long what the host returns stays valid:
 *     server_version, get_extension() results     the whole process
 *     opt_get/opt_at/opt_name_at values           the whole process (options never change after
 *                                                 start-up; a reload starts a new process image)
 *     req_var/req_var_at keys and values          until the request's after_request hook returns;
 *                                                 the request object is then reused
 *     conn_peer/conn_local addresses              until the protocol's conn_close for that
 *                                                 connection
 *
 *   Which process and thread runs each hook:
 *     init          once, in the master (or the single process) after the configuration is read,
 *                   before sockets are bound and before fork; one thread
 *     load_apps     in the master (or the single process) after sockets are bound, before fork;
 *                   with --lazy-apps in each worker after fork instead
 *     post_fork     in each worker after fork (the single process counts as worker 1), and in
 *                   each extra process (host->process_kind tells which)
 *     thread_init   on each request thread of a worker, before it serves anything
 *     request, after_request, every uwsgi_protocol hook
 *                   on request threads: with --threads N they run concurrently on N threads of a
 *                   worker, each request and each connection on one thread at a time; a protocol's
 *                   per-connection state is never used by two threads at once
 *     shutdown      in each worker after its threads stopped, and in the master before exit
 *                   or reload
 *     mule, mule_msg
 *                   in a mule, on its main thread (ABI 1.1)
 *   Host functions may be called from any of these; reload/stop only signal.
 *
 *   Return conventions:
 *     init                               0 ok; non-zero is fatal at start-up
 *     load_apps                          >=0 number of apps loaded; <0 fatal
 *     request, host resp_*, conn_write,
 *     conn_sendfile, req_var, req_var_at,
 *     setting, protocol write_head/
 *     write_body, register_function...   UWSGI_OK, or UWSGI_ERROR / UWSGI_EPEER / UWSGI_ELIMIT;
 *                                        a request hook failing before its response started gets
 *                                        the core's complete 500; after, the response is cut
 *     protocol read_request              1 request ready; 0 peer closed between requests; <0 error
 *     req_read, conn_read, read_body     >0 bytes; 0 end of body / EOF; <0 error
 *     protocol finish                    1 keep the connection; 0 close it
 *     protocol sendfile                  UWSGI_OK, an error, or 1 to decline
 *     resp_started, has_pending          1 yes, 0 no
 *     req_var, req_var_at, setting       UWSGI_ERROR: no such var / index / setting (not logged)
 *     opt_get, opt_at, opt_name_at,
 *     get_extension (host and plugin)    NULL: not set / past the end / nobody offers it
 *     worker_id, master_pid, num_*,
 *     req_modifier*, req_var_count,
 *     req_id, conn_fd                    the value itself; worker_id is 0 in the master
 *     log, reload, stop, register_app,
 *     set_proc_name, req_set_modifiers,
 *     post_fork, thread_init, shutdown,
 *     after_request, conn_close, abort   nothing (void)
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
#define UWSGI_ABI_MINOR 1
/* The 1.0 entry symbol; since 1.1 a plugin NAME exports UWSGI_PLUGIN_ENTRY_SYMBOL "_" NAME. */
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
/* ABI 1.1: a value that may be left out (--opt alone, as uWSGI's optional arguments); the
 * option's value is then "". Written --opt VALUE or --opt=VALUE otherwise. */
#define UWSGI_OPT_OPTIONAL 5u
/* ABI 1.1: a LIST whose values may be left out (uWSGI's --mule [SCRIPT], repeatable). */
#define UWSGI_OPT_OPTIONAL_LIST 6u

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

/* One worker's counters, filled by host->worker_stats (ABI 1.1). The caller sets struct_size;
 * the core fills what fits. Times in microseconds unless named otherwise. */
typedef struct uwsgi_worker_stats {
    uint32_t struct_size;
    int32_t id;        /* 1..N */
    int32_t pid;       /* 0 when not running */
    int32_t busy;      /* 1 while serving a request */
    int32_t accepting; /* 0 after the worker said so (uwsgi.accepting(False)) */
    int32_t cheaped;   /* 1 while retired by --cheaper (uWSGI's status "cheap") */
    uint64_t requests;      /* served since the master started it the first time */
    uint64_t tx;            /* response bytes sent */
    uint64_t running_time;  /* total time spent serving requests */
    uint64_t avg_rt;        /* average response time */
    uint64_t respawn_count; /* times the master respawned it */
    int64_t last_spawn;     /* unix time of its last spawn */
    uint64_t exceptions;    /* requests whose handler failed */
    uint64_t signals;       /* uwsgi signals it handled */
    int32_t running_signal; /* the uwsgi signal whose handler it runs now, -1 none (uWSGI's
                             * status "sigN") */
    int32_t paused;         /* 1 while the master pauses the workers (SIGTSTP; status "pause") */
} uwsgi_worker_stats;

/* A uwsgi signal handler (ABI 1.1): runs on a worker's signal thread, never on a request
 * thread; ctx is what the plugin registered it with. */
typedef void (*uwsgi_signal_handler)(void *ctx, uint8_t sig);

/* An extra process kind (ABI 1.1): processes the master forks besides its workers, respawns
 * when they die, stops with the server and restarts on reload (mules, spoolers, a gateway's
 * router). Registered with host->register_process during init or load_apps (in the master,
 * before fork); the core copies it. In the child: the listening sockets are closed, a signal
 * thread runs the uwsgi signal handlers sent to the process (targets NAME: one of them, NAMEs:
 * each, NAMEN: the Nth), post_fork hooks run, then run(ctx, index) with index 1..count; its
 * return value is the exit code. SIGTERM/SIGINT/SIGHUP/SIGQUIT from the master (shutdown,
 * reload) call stop(ctx) on another thread when given (run should then return soon; the master
 * kills it after --reload-mercy), else the process exits at once. */
typedef struct uwsgi_process_kind {
    uint32_t struct_size;
    int32_t count;    /* processes of this kind, >= 1 */
    const char *name; /* letters, digits, '-' and '_'; not "worker..." nor an existing kind */
    int (*run)(void *ctx, int32_t index);
    void (*stop)(void *ctx); /* optional */
    void *ctx;
} uwsgi_process_kind;
/* uWSGI's spooler (ABI 1.1): a task is a list of key/value byte strings (uWSGI's uwsgi packet
 * with modifier1 17 in a file) plus an optional body. A handler runs one task in a spooler
 * process; ctx is what the plugin registered it with, task the task file's path. It returns
 * UWSGI_SPOOL_OK (done: the file is removed), UWSGI_SPOOL_RETRY (kept for the next scan) or
 * UWSGI_SPOOL_IGNORE (not this plugin's: the next handler is asked; a task no handler takes is
 * kept and logged). The arrays and the body are valid until the handler returns. */
#define UWSGI_SPOOL_OK (-2)
#define UWSGI_SPOOL_RETRY (-1)
#define UWSGI_SPOOL_IGNORE 0
typedef int (*uwsgi_spooler_handler)(void *ctx, const char *task, const uwsgi_str *keys,
                                     const uwsgi_str *values, size_t count, const void *body,
                                     size_t body_len);

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
    /* every key set, as the user typed it (an alias, or a config file's key that is no
       option; opt_count/opt_at answer those names too), in order, repeats included; NULL
       past the end */
    const char *(*opt_name_at)(size_t index);

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

    /* ABI 1.1: the core's effective value of a setting, after defaults, bounds and size suffixes,
     * so plugins never re-parse core options. Names (units): "buffer-size" (bytes), "max-vars",
     * "limit-post" (bytes, 0 unlimited), "socket-timeout" (seconds), "processes", "threads",
     * "harakiri" (seconds, 0 off), "max-requests" (0 unlimited), "listen", "mules" (ABI 1.1,
     * the number of mules), "router-socket-port" (the port of the 127.0.0.1 uwsgi socket the core
     * bound for the --http router; UWSGI_ERROR when there is none). UWSGI_OK with *value set, or
     * UWSGI_ERROR for an unknown name. */
    int (*setting)(const char *name, int64_t *value); /* ABI 1.1 */

    /* ABI 1.1: the services behind uWSGI's `uwsgi` module */
    uint32_t (*opt_kind)(const char *name); /* UWSGI_OPT_* of a known option; 0 when unknown */
    int (*worker_stats)(int32_t id, uwsgi_worker_stats *out); /* UWSGI_ERROR: no such worker */
    uint64_t (*total_requests)(void);                          /* every worker's, summed */
    int64_t (*started_on)(void);                               /* unix time of start-up */
    int32_t (*is_a_reload)(void); /* 1 when this image was started by a reload */
    /* This worker is killed by the master when it is still busy `secs` from now; 0 clears it.
     * Cleared at the end of every request. Needs --master. */
    void (*set_user_harakiri)(int32_t secs);
    void (*set_accepting)(int32_t accepting); /* shown in worker_stats */
    uwsgi_conn *(*req_conn)(const uwsgi_request *req);
    void (*req_log_this)(uwsgi_request *req); /* log this request even with --disable-logging */
    /* Request log variables (uWSGI's logvars): copied; reset for each request. */
    int (*req_set_logvar)(uwsgi_request *req, const char *key, size_t key_len, const char *value,
                          size_t value_len);
    int (*req_get_logvar)(const uwsgi_request *req, const char *key, size_t key_len,
                          uwsgi_str *value);
    /* User locks 0..--locks, shared by every process of the server (uwsgi.lock). lock blocks;
     * a lock whose holder died is recovered (logged). UWSGI_OK, or UWSGI_ERROR for an id past
     * --locks (logged) or, for unlock, a lock this thread does not hold. is_locked: 1 or 0. */
    int (*lock)(uint32_t id);
    int (*unlock)(uint32_t id);
    int (*is_locked)(uint32_t id);
    uint32_t (*lock_count)(void); /* the number of user locks (--locks + 1) */

    /* ABI 1.1: WebSockets (RFC 6455) on the connection of a request, which the core keeps
     * owning. ws_handshake answers 101 (key, origin, proto: NULL/0 to take the key and Origin
     * from the request, checked: Upgrade, Sec-WebSocket-Version 13, a valid key); on a bad
     * handshake it answers 400/426 itself and returns UWSGI_ERROR. From then on the request's
     * connection is the WebSocket's: resp_* must not be used, and when the handler returns the
     * core sends a close frame (1000, 1011 if the handler failed) unless one was exchanged, and
     * closes the connection. ws_recv: 1 with a whole message in *msg (valid until the next ws_*
     * call of this request) and *opcode 1 (text) or 2 (binary); 0 only when nonblocking and no
     * whole message is buffered; UWSGI_EPEER when the peer closed (the close is answered) or
     * went away or missed a pong; UWSGI_ERROR / UWSGI_ELIMIT when the peer broke the protocol /
     * sent a message over --websocket-max-size (the core sent the RFC close code: 1002, 1007,
     * 1009). Pings are answered and sent (--websocket-ping-freq) inside ws_recv. nonblocking:
     * 0 waits for a whole message; 1 reads what the socket holds now (no wait) and checks the
     * ping timers; UWSGI_WS_RECV_BUFFERED (2) only decodes what is already buffered (the core's
     * buffer, and bytes TLS already decrypted) and neither reads the socket nor sends a ping:
     * a plugin's event loop asks it first, waits for the fd (conn_fd(req_conn(req))) itself,
     * then calls with 1, and calls with 1 at least every second or so for the ping timers.
     * The calls of one request may come from any one thread at a time (the core keeps no
     * per-thread state for them). ws_send: opcode 1 (text) or 2 (binary), one unfragmented
     * frame; may be called from another thread while ws_recv waits. */
    int (*ws_handshake)(uwsgi_request *req, const char *key, size_t key_len, const char *origin,
                        size_t origin_len, const char *proto, size_t proto_len);
    int (*ws_recv)(uwsgi_request *req, int32_t nonblocking, uwsgi_str *msg, uint8_t *opcode);
    int (*ws_send)(uwsgi_request *req, uint8_t opcode, const void *buf, size_t len);

    /* uWSGI signals 0..255 (need a master: UWSGI_ERROR otherwise, logged). A handler registered
     * before fork (init, load_apps) is every worker's; after fork only the registering
     * worker's. Targets: "" or "worker" (one worker), "workerN", "workers", "active-workers",
     * and for each extra process kind NAME (e.g. "mule"): "NAME", "NAMEN", "NAMEs".
     * The master cannot register a number twice. Raised signals go through the master to the
     * target; timers (interval in ms; iterations 0 = for ever), cron entries (uWSGI's fields:
     * N, -1 any, -N every N) and file monitors (inotify; the path must exist) are raised by
     * the master. signal_wait blocks until this process handled `sig` (-1: any) and returns
     * it, or UWSGI_ERROR after timeout_ms (-1: no limit). */
    int (*register_signal)(uint8_t sig, const char *target, uwsgi_signal_handler handler,
                           void *ctx);
    int (*raise_signal)(uint8_t sig);
    int (*signal_registered)(uint8_t sig); /* 1 or 0 */
    int (*signal_wait)(int32_t sig, int32_t timeout_ms);
    int (*add_timer)(uint8_t sig, int64_t interval_ms, int64_t iterations);
    int (*add_cron)(uint8_t sig, int32_t minute, int32_t hour, int32_t day, int32_t month,
                    int32_t weekday);
    int (*add_file_monitor)(uint8_t sig, const char *path);

    /* ABI 1.1: extra processes (uwsgi_process_kind above). register_process: UWSGI_OK, or
     * UWSGI_ERROR (logged) without a master, after fork, for a bad or taken name or count.
     * process_kind: the kind of the calling process and its index (1..count) in *index, or
     * NULL in the master and in workers. */
    int (*register_process)(const uwsgi_process_kind *kind);
    const char *(*process_kind)(int32_t *index);

    /* ABI 1.1: mules (--mule, --mules, --farm NAME:ID,...; host->setting("mules") is their
     * number). mule_msg queues one message: for mule `mule_id` (1..N), for the first free
     * mule (mule_id 0, farm NULL), or for the first free mule of `farm`. UWSGI_OK; UWSGI_ERROR
     * for no such mule or farm; UWSGI_ELIMIT when the message is over --mule-msg-size or the
     * queue is full (both logged). mule_get_msg, in a mule only: waits at most timeout_ms (-1:
     * no limit) for the next message of this mule's own queue and the shared one, plus its
     * farms' with UWSGI_MULE_FARMS, or only its farms' with UWSGI_MULE_FARMS_ONLY; returns its
     * length (copied into buf), UWSGI_EPEER after the timeout or, with UWSGI_MULE_SIGNALS, once
     * per uwsgi signal the mule's signal thread handled (uWSGI's mule_get_msg returns None after
     * handling a signal), UWSGI_ELIMIT when it is longer
     * than len (it stays queued; logged with its size), UWSGI_ERROR outside a mule. in_farm: 1
     * when the calling mule belongs to `farm` (NULL: to any farm), else 0. */
    int (*mule_msg)(const void *msg, size_t len, int32_t mule_id, const char *farm);
    int64_t (*mule_get_msg)(void *buf, size_t len, int32_t flags, int32_t timeout_ms);
    int (*in_farm)(const char *farm);
    /* ABI 1.1: uWSGI's spooler (--spooler DIR). spool writes one task file atomically (whole or
     * not at all) and copies its NUL-terminated path into task (task_size bytes); special keys
     * as uWSGI: "spooler" (the --spooler directory to use, default the first), "priority" (a
     * sub-directory), "at" (unix time, not run before). UWSGI_OK, UWSGI_ELIMIT when the
     * key/value block exceeds 65535 bytes or the path does not fit, UWSGI_ERROR otherwise (no
     * spooler, unknown directory, I/O error: logged). register_spooler adds a handler (before
     * fork: every spooler process's); init, when not NULL, runs once in each spooler process
     * before its first task. spooler_read_task decodes a task file and calls fn once (UWSGI_OK),
     * or returns UWSGI_ERROR when the file is missing or not a task. spooler_count: the spooler
     * processes (--spooler dirs times --spooler-processes); spooler_pid: the pid of process
     * index (0 when not running); spooler_dir: its directory (NULL past the end);
     * spooler_index: this process's index, -1 when it is no spooler; set_spooler_frequency:
     * seconds between scans for every spooler (0: back to --spooler-frequency). */
    int (*spool)(const uwsgi_str *keys, const uwsgi_str *values, size_t count, const void *body,
                 size_t body_len, char *task, size_t task_size);
    int (*register_spooler)(uwsgi_spooler_handler handler, void (*init)(void *ctx), void *ctx);
    int (*spooler_read_task)(const char *task, uwsgi_spooler_handler fn, void *ctx);
    int32_t (*spooler_count)(void);
    int32_t (*spooler_pid)(int32_t index);
    const char *(*spooler_dir)(int32_t index);
    int32_t (*spooler_index)(void);
    void (*set_spooler_frequency)(int32_t secs);
    /* ABI 1.1: uWSGI's per-app table (uwsgi.workers()'s apps, the stats server's
     * workers[].apps[]). app_register: a loaded app of modifier1 mounted at mountpoint ("" the
     * default), chdir its directory or "", startup_time the seconds its loading took; returns
     * its id (the same again for the same modifier1 and mountpoint, so a --lazy-apps worker
     * gets its sibling's), UWSGI_ERROR when 64 apps are registered. req_set_app: the app that
     * serves req (-1: none), called before the app runs: the core counts the request for it
     * then (as uWSGI, the request sees itself) and as an exception when the handler returns
     * UWSGI_ERROR; a request no app was named for counts for none.
     * app_counters reads worker_id's counts for app_id (UWSGI_ERROR: no such worker or app). */
    int32_t (*app_register)(uint8_t modifier1, const char *mountpoint, const char *chdir,
                            int64_t startup_time);
    void (*req_set_app)(uwsgi_request *req, int32_t app_id);
    int (*app_counters)(int32_t worker_id, int32_t app_id, uint64_t *requests,
                        uint64_t *exceptions);
    /* ABI 1.1: TLS on a plugin's own non-blocking sockets (the http plugin's --https router),
     * on the core's OpenSSL setup, with the checks and errors of --https-socket. tls_server: a
     * server context from uWSGI's "ADDR,CERT,KEY[,CIPHERS,CA]" value of --`option` (ADDR is the
     * plugin's to bind; a CA starting with '!' makes client certificates mandatory), valid for
     * the life of the process; NULL with the reason, naming the file and the fix, copied into
     * error (NUL-terminated, cut to error_size). Call it before fork. tls_accept: a server
     * session on the connected socket fd (NULL, logged, when OpenSSL cannot make one).
     * tls_recv/tls_send never wait: >0 bytes; 0 (recv only) the peer ended the stream;
     * UWSGI_TLS_WANT_READ / UWSGI_TLS_WANT_WRITE: call again with the same arguments (a send
     * may pass a longer buffer starting with the same bytes) when fd is readable / writable;
     * UWSGI_EPEER: the session failed (a failed handshake is logged). tls_pending: 1 when
     * decrypted bytes wait in the session, which no socket event announces. tls_close sends
     * close_notify when the handshake completed and frees the session; fd stays open. */
    void *(*tls_server)(const char *option, const char *value, char *error, size_t error_size);
    void *(*tls_accept)(void *ctx, int fd);
    int64_t (*tls_recv)(void *session, void *buf, size_t len);
    int64_t (*tls_send)(void *session, const void *buf, size_t len);
    int (*tls_pending)(void *session);
    void (*tls_close)(void *session);
    /* ABI 1.1: a listening socket for a plugin's own process (a gateway such as the --http
     * router), bound by the core for --`option` ADDRESS with --listen's backlog (close-on-exec,
     * blocking: set O_NONBLOCK yourself) and handed over to the next image on a reload, so its
     * clients wait in the backlog meanwhile instead of being refused. Call it in the master's
     * init. The fd, or UWSGI_ERROR with the reason (naming the option, the address and the fix)
     * copied into error. */
    int (*listen_socket)(const char *option, const char *address, char *error,
                         size_t error_size);
    /* ABI 1.1: what mule `mule_id` (1..N) runs: its --mule SCRIPT or MODULE:FUNC value, NULL
     * for a signal-only mule or an id that is not a mule's (uWSGI's uwsgi.mule_file()). */
    const char *(*mule_file)(int32_t mule_id);
} uwsgi_host;

#define UWSGI_TLS_WANT_READ (-10) /* host->tls_recv/tls_send (ABI 1.1) */
#define UWSGI_TLS_WANT_WRITE (-11)

#define UWSGI_WS_RECV_BUFFERED 2 /* ws_recv's nonblocking: buffered messages only (ABI 1.1) */

#define UWSGI_MULE_SIGNALS 1u    /* mule_get_msg flags (ABI 1.1) */
#define UWSGI_MULE_FARMS 2u
#define UWSGI_MULE_FARMS_ONLY 4u

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
    const char *depends; /* comma-separated plugins activated before this one, or NULL (1.0:
                            `requires`, renamed in 1.1 as it is a C++20 keyword; same offset) */
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

    /* ABI 1.1 */
    /* Comma-separated extension ids this plugin's get_extension answers, e.g. "uwsgi.rpc/1".
     * When another plugin asks host->get_extension for one of them, the core activates this
     * plugin (init included) if it is installed but was not activated. */
    const char *provides;
    /* Mules (ABI 1.1), both optional, run in a mule process. mule: run --mule=SPEC; 1 when
     * SPEC is this plugin's (e.g. a .py file), and returning ends the mule (the master starts
     * it again); 0 when it is not. A mule no plugin takes is signal-only: its messages go to
     * mule_msg (1: handled; when none handles one the core logs its size). */
    int (*mule)(const char *spec);
    int (*mule_msg)(const void *msg, size_t len);
} uwsgi_plugin;

typedef const uwsgi_plugin *(*uwsgi_plugin_entry_fn)(void);

#ifdef __cplusplus
#define UWSGI_PLUGIN_EXTERN_C extern "C"
#else
#define UWSGI_PLUGIN_EXTERN_C
#endif

/* Writes the exported entry function uwsgi_plugin_entry_NAME for descriptor VAR (ABI 1.1). NAME
 * is the plugin's name as an identifier, the NAME of NAME_plugin.so; the same object then serves
 * the .so and a profile that links the plugin into the binary. */
#define UWSGI_PLUGIN_EXPORT(NAME, VAR)                                                             \
    UWSGI_PLUGIN_EXTERN_C __attribute__((visibility("default"))) const uwsgi_plugin *              \
    uwsgi_plugin_entry_##NAME(void) {                                                              \
        return &(VAR);                                                                             \
    }

/* ABI 1.0: the fixed entry name uwsgi_plugin_entry. Still loaded from NAME_plugin.so files, but
 * such a plugin cannot be linked into a profile; prefer UWSGI_PLUGIN_EXPORT. */
#define UWSGI_PLUGIN_DEFINE(VAR)                                                                   \
    UWSGI_PLUGIN_EXTERN_C __attribute__((visibility("default"))) const uwsgi_plugin *              \
    uwsgi_plugin_entry(void) {                                                                     \
        return &(VAR);                                                                             \
    }

/* Fills the header fields of a descriptor. Every in-tree plugin writes its descriptor and option
 * table with designated initialisers (C99, C++20), one field per line, omitted fields zero:
 *
 *     static const uwsgi_option options[] = {
 *         {.name = "my-dir", .kind = UWSGI_OPT_VALUE, .metavar = "DIR", .help = "where"},
 *         {},
 *     };
 *     static const uwsgi_plugin descriptor = {
 *         UWSGI_PLUGIN_HEADER_FIELDS,
 *         .name = "my",
 *         .version = "1.0.0",
 *         .options = options,
 *         .init = init,
 *         .modifier1 = -1, // handles no requests (0 would be a claim on modifier1 0 with .request)
 *     };
 *     UWSGI_PLUGIN_EXPORT(my, descriptor)
 */
#define UWSGI_PLUGIN_HEADER_FIELDS                                                                 \
    .magic = UWSGI_PLUGIN_MAGIC, .abi_major = UWSGI_ABI_MAJOR, .abi_minor = UWSGI_ABI_MINOR,       \
    .struct_size = (uint32_t)sizeof(uwsgi_plugin), .reserved = 0

/* The same, for positional initialisers (ABI 1.0 style). */
#define UWSGI_PLUGIN_HEADER                                                                        \
    UWSGI_PLUGIN_MAGIC, UWSGI_ABI_MAJOR, UWSGI_ABI_MINOR, (uint32_t)sizeof(uwsgi_plugin), 0

#ifdef __cplusplus
}
#endif

#endif /* UWSGI_PLUGIN_H */
