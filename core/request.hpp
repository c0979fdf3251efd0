// The request object behind the opaque uwsgi_request handle. One lives per request thread and
// is reset for each request, so the request path allocates nothing once it has warmed up.
// In a worker its vars and arena live in the thread's request window (request_window.hpp):
// shared memory the master's stats server reads the request in flight from.
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

    // The vars, over storage of a fixed capacity given by configure(): never reallocated.
    class VarList {
    public:
        void assign(Var *storage, size_t capacity) { data_ = storage, capacity_ = capacity, size_ = 0; }
        size_t size() const { return size_; }
        size_t capacity() const { return capacity_; }
        void push_back(const Var &v) { data_[size_++] = v; }  // callers check capacity()
        void clear() { size_ = 0; }
        const Var &operator[](size_t i) const { return data_[i]; }
        const Var *begin() const { return data_; }
        const Var *end() const { return data_ + size_; }

    private:
        Var *data_ = nullptr;
        size_t capacity_ = 0, size_ = 0;
    };

    // Where vars and the arena live; a null `vars` means the request's own heap.
    struct Storage {
        Var *vars = nullptr;
        char *arena = nullptr;
    };

    uwsgi_conn *conn = nullptr;
    uint8_t modifier1 = 0, modifier2 = 0;
    VarList vars;
    // Copies of vars built by protocols, and the uwsgi protocol's packet (reserve()). Fixed
    // capacity: views into it never move.
    char *arena = nullptr;
    size_t arena_size = 0;
    size_t arena_used = 0;
    size_t max_vars = 64;

    uint64_t id = 0;
    int status = 0;
    uint64_t bytes_sent = 0;
    // uWSGI's request log figures of the response: the app's headers, the bytes of the head
    // without the protocol name ("HTTP/1.1 " is added when logged), and the body writes
    // (uWSGI's "switches" of a synchronous request).
    uint32_t header_count = 0, body_writes = 0;
    uint64_t head_bytes = 0;
    bool started = false;
    int64_t start_ms = 0;
    bool log_this = false;  // logged even with --disable-logging
    // How the body went, for uWSGI's default log line (" via sendfile() ", " via offload() "):
    // resp_sendfile marks sendfile, the worker offload once an offload thread took the body.
    enum class Via : uint8_t { none, sendfile, offload };
    Via via = Via::none;
    int32_t app_id = -1;  // the app that serves it (host->req_set_app), -1: none named
    // uWSGI's request log variables; values are copied into the arena.
    std::vector<Var> logvars;
    // The WebSocket this request upgraded to (host->ws_handshake); reused by the next requests.
    core::WebSocket ws;

    // The arena a --buffer-size needs: HTTP_ prefixes and derived vars (PATH_INFO, SERVER_NAME...)
    // at most roughly double a head, and the uwsgi protocol's packet is read into it too.
    static size_t arena_size_for(size_t buffer_size) { return buffer_size * 3 + 4096; }
    void configure(size_t buffer_size, size_t max_vars_, Storage storage);
    void configure(size_t buffer_size, size_t max_vars_) { configure(buffer_size, max_vars_, {}); }
    void reset(uwsgi_conn *c, uint64_t request_id);
    // Views must outlive the request (e.g. the protocol's connection buffer).
    int add_view(std::string_view key, std::string_view value);
    int add_copy(std::string_view key, std::string_view value);
    // N bytes at the arena's start for a protocol's own reading (before any add_copy), or null.
    char *reserve(size_t n);
    std::string_view var(std::string_view key) const;
    int set_logvar(std::string_view key, std::string_view value);
    const Var *logvar(std::string_view key) const;

private:
    std::vector<Var> own_vars_;  // without Storage
    std::vector<char> own_arena_;
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
