// The HTTP router's options (uWSGI's --http family), read once in the master's init.
#pragma once

#include <uwsgi/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace uwsgi_http {

// One address the router listens on: --http ADDR, or --https ADDR,CERT,KEY[,CIPHERS,CA] with
// the core's TLS context for it (host->tls_server).
struct RouterListen {
    std::string option;  // "http" or "https", for errors
    std::string address;
    void *tls = nullptr;
};

struct RouterConfig {
    std::vector<RouterListen> listen;  // --http ADDR and --https ADDR,... (each repeatable)
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
