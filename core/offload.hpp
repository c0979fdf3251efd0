// --offload-threads N: each worker runs N offload threads that push static file and
// wsgi.file_wrapper bodies to the client with non-blocking sendfile(2) and epoll, so the request
// thread returns at once to serve the next request (uWSGI's offload engine for sendfile).
//
// The body is left pending on the connection (conn_sendfile, connection.hpp) while the request
// finishes; the worker then hands the whole connection to an offload thread, which sends the body
// and gives the connection back through the worker's callback: parked for its next request
// (keep-alive), or shut down to be closed by the worker. uWSGI closes every offloaded connection.
#pragma once

#include "connection.hpp"

namespace core {

// The worker's side of a finished transfer, called on the offload thread: `keep` false when the
// connection must close (the request said so, the client failed or stalled). After the call the
// offload thread never touches the connection again.
using OffloadDone = void (*)(void *ctx, uwsgi_conn *conn, bool keep);

// In each worker after fork (nothing when --offload-threads is 0).
void start_offload_threads(int threads, int timeout_ms, OffloadDone done, void *ctx);
bool offload_available();
// Hands conn, with its pending body, to an offload thread; false when every slot is taken (the
// caller sends the body itself with flush_pending_body).
bool offload_connection(uwsgi_conn *conn, bool keep);
// Transfers handed over and not given back yet: a stopping worker waits for them.
int offload_in_flight();

}  // namespace core
