// The HTTP router's options (uWSGI's --http family), read once in the master's init.
#pragma once

#include <uwsgi/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace uwsgi_http {

struct RouterConfig {
    std::vector<std::string> listen;   // --http ADDR (repeatable)
    std::vector<std::string> to;       // --http-to ADDR, else the workers' first uwsgi socket
    int processes = 1;                 // --http-processes
    int64_t timeout_ms = 60000;        // --http-timeout SECS: idle client or worker
    bool keepalive = false;            // --http-keepalive
    bool auto_chunked = false;         // --http-auto-chunked
    bool proxy_protocol = false;       // --http-enable-proxy-protocol
    size_t buffer_size = 4096;         // --buffer-size: the largest request head
    size_t max_vars = 64;
    uint64_t limit_post = 0;
};

// false with `error` naming the option and value.
bool load_router_config(const uwsgi_host &host, RouterConfig &cfg, std::string &error);

}  // namespace uwsgi_http
