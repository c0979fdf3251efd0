// uWSGI's HTTP router (--http): a process the master supervises that owns the client
// connections in one epoll loop (keep-alive and slow clients cost it a connection, never a
// worker thread) and passes each request to a worker over the uwsgi protocol.
#pragma once

#include "router_config.hpp"

#include <uwsgi/plugin.h>

#include <string>
#include <vector>

namespace uwsgi_http {

// Binds every --http/--https address in the master (so a busy port stops start-up), through the
// core when it offers host->listen_socket (then the sockets outlive reloads); false with `error`.
bool bind_router_sockets(const uwsgi_host &host, const RouterConfig &cfg, std::vector<int> &fds,
                         std::string &error);

// The router process's loop; returns its exit code when `stop` was called.
int run_router(const uwsgi_host &host, const RouterConfig &cfg, const std::vector<int> &listeners,
               const std::vector<std::string> &backends, int index);
void stop_router();

}  // namespace uwsgi_http
