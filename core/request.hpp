// The request object behind the opaque uwsgi_request handle. One lives per request thread and
// is reset for each request, so the request path allocates nothing once it has warmed up.
#pragma once

#include "connection.hpp"
#include "websocket.hpp"

#include <uwsgi/plugin.h>

#include <cstdint>
#include <string_view>
#include <vector>

struct uwsgi_request {
    struct Var {
        std::string_view key, value;
    };

    uwsgi_conn *conn = nullptr;
    uint8_t modifier1 = 0, modifier2 = 0;
    std::vector<Var> vars;
    // Copies of vars built by protocols. Fixed capacity: views into it never move.
    std::vector<char> arena;
    size_t arena_used = 0;
    size_t max_vars = 64;

    uint64_t id = 0;
    int status = 0;
    uint64_t bytes_sent = 0;
    bool started = false;
    int64_t start_ms = 0;
    bool log_this = false;  // logged even with --disable-logging
    int32_t app_id = -1;  // the app that serves it (host->req_set_app), -1: none named
    // uWSGI's request log variables; values are copied into the arena.
    std::vector<Var> logvars;
    // The WebSocket this request upgraded to (host->ws_handshake); reused by the next requests.
    core::WebSocket ws;

    void configure(size_t buffer_size, size_t max_vars_);
    void reset(uwsgi_conn *c, uint64_t request_id);
    // Views must outlive the request (e.g. the protocol's connection buffer).
    int add_view(std::string_view key, std::string_view value);
    int add_copy(std::string_view key, std::string_view value);
    std::string_view var(std::string_view key) const;
    int set_logvar(std::string_view key, std::string_view value);
    const Var *logvar(std::string_view key) const;

private:
    bool copy_pair(std::string_view key, std::string_view value, Var &out);  // into the arena
};

namespace core {

// The host functions that act on requests, used by host_table.cpp and the core's own protocol.
int resp_start(uwsgi_request *req, const char *status, size_t status_len,
               const uwsgi_header *headers, size_t nheaders);
int resp_write(uwsgi_request *req, const void *buf, size_t len);
int resp_sendfile(uwsgi_request *req, int fd, int64_t offset, int64_t count);
int64_t req_read(uwsgi_request *req, void *buf, size_t len);

}  // namespace core
