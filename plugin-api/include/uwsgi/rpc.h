/*
 * The RPC service, extension id "uwsgi.rpc/1", offered by the rpc plugin to every other plugin
 * through host->get_extension(UWSGI_RPC_EXTENSION). Same rules as plugin.h: C types only,
 * struct_size first, append-only; an incompatible change gets a new id ("uwsgi.rpc/2").
 *
 * History:
 *   uwsgi.rpc/1  2026-11-26  register, call locally, call a remote node (uWSGI wire format).
 */
#ifndef UWSGI_RPC_H
#define UWSGI_RPC_H

#include <uwsgi/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UWSGI_RPC_EXTENSION "uwsgi.rpc/1"
#define UWSGI_RPC_MAX_ARGS 254
#define UWSGI_RPC_MAX_NAME 255

/* Receives a result's bytes; may be called several times, the pieces concatenate. */
typedef void (*uwsgi_rpc_sink)(void *sink_ctx, const char *data, size_t len);

/* A registered function: writes its result through sink and returns UWSGI_OK, or fails with
 * UWSGI_ERROR (having logged why). */
typedef int (*uwsgi_rpc_function)(void *fn_ctx, uint8_t argc, const uwsgi_str *argv,
                                  uwsgi_rpc_sink sink, void *sink_ctx);

typedef struct uwsgi_rpc_api {
    uint32_t struct_size;
    uint32_t reserved;
    /* Registers (or replaces) `name`. In the master before fork it exists in every worker;
     * in a worker, in that worker only. */
    int (*register_function)(const char *name, uwsgi_rpc_function fn, void *fn_ctx);
    /* UWSGI_OK with the result given to sink; UWSGI_ERROR when unknown or failing. */
    int (*call_local)(const char *name, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink,
                      void *sink_ctx);
    /* node: "host:port", "[v6]:port" or a UNIX path; NULL or "" calls locally. Bounded by
     * --socket-timeout. UWSGI_ERROR (logged) on any failure, UWSGI_ELIMIT when the request
     * exceeds the wire limits. */
    int (*call_remote)(const char *node, const char *name, uint8_t argc, const uwsgi_str *argv,
                       uwsgi_rpc_sink sink, void *sink_ctx);
    /* Names registered so far, NULL past the end. */
    const char *(*function_at)(size_t index);
} uwsgi_rpc_api;

#ifdef __cplusplus
}
#endif

#endif /* UWSGI_RPC_H */
