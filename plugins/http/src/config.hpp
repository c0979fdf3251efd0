// The http plugin's settings, read once in init(): its own options, and the core's effective
// limits from host->setting (never re-parsed here, so no core default is copied).
#pragma once

#include <uwsgi/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace uwsgi_http {

struct Config {
    size_t buffer_size = 0;     // --buffer-size: the largest request head
    uint64_t limit_post = 0;    // --limit-post: the largest body, 0 = unlimited
    size_t max_vars = 0;        // --max-vars
    uint8_t modifier1 = 0;      // --http-socket-modifier1
    uint8_t modifier2 = 0;      // --http-socket-modifier2
    std::string extra_headers;  // --add-header values as "Name: value\r\n" lines
    int64_t head_timeout_ms = 0;  // --socket-timeout: the most a request head may take
    int64_t body_timeout_ms = 120000;  // --http-body-timeout: the most a body may take, 0 none
    // --enable-proxy-protocol: a PROXY v1/v2 header starts each connection (on --https-socket
    // in clear before the TLS handshake, or inside TLS as uWSGI reads it)
    bool proxy_protocol = false;
};

// Reads the options through `host`. On a bad value returns false with `error` naming the option
// and the value.
bool load_config(const uwsgi_host &host, Config &cfg, std::string &error);

}  // namespace uwsgi_http
