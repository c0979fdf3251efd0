// --stats ADDR: the master answers every connection on ADDR (TCP or UNIX) with one stats
// document and closes it, as uWSGI does; with --stats-http the answer is an HTTP response, and
// the path /metrics gets Prometheus text instead of JSON, and /ready a readiness answer (200, or
// 503 once a shutdown began or while no worker accepts).
//
// It runs on a thread of the master so a slow reader never delays supervision. That thread
// never logs and holds no lock the workers need, so the master may fork while it answers.
#pragma once

#include "sockets.hpp"

#include <vector>

namespace core {

// Binds --stats before privileges are dropped (a clear ConfigError when the address is taken).
void bind_stats_server();
void start_stats_server(const std::vector<Listener> &listeners);  // master only, before fork
void close_stats_server_in_worker();                              // after fork, in the child
void stop_stats_server(bool remove_unix_socket);
// The master's shutdown began: GET /ready (--stats-http) answers 503 from now on.
void mark_stats_draining();

}  // namespace core
