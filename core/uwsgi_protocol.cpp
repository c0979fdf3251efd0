#include "uwsgi_protocol.hpp"

#include "host_table.hpp"
#include "request.hpp"
#include "settings.hpp"
#include <uwsgi/packet.hpp>

#include <uwsgi/plugin.hpp>

#include <spdlog/spdlog.h>

#include <cstring>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace core {

namespace {

// uWSGI's RPC packets carry a list of items, not key/value vars: their payload is the body.
constexpr uint8_t kRpcModifier1 = 173;
// uWSGI's remote cache packets (modifier1 111, the cache plugin) give their value's length in
// the var `size`, not CONTENT_LENGTH.
constexpr uint8_t kCacheModifier1 = 111;

struct State {
    uwsgi_conn *conn;
    // header + vars block, then the first body bytes: in the request's arena (one request per
    // connection), so the vars are views into the thread's request window (request_window.hpp)
    char *buf = nullptr;
    size_t cap = 0;
    size_t have = 0;        // bytes in buf
    size_t body_pos = 0;    // first unread body byte in buf
    int64_t body_left = 0;  // body bytes not yet given to the app
    std::string head;       // response head waiting to be sent with the first body bytes
};

void *conn_open(uwsgi_conn *conn) {
    return new State{conn, nullptr, 0, 0, 0, 0, {}};
}

void conn_close(void *state) { delete static_cast<State *>(state); }

// Each read waits at most --socket-timeout; the whole packet head gets that long too, so a
// client trickling bytes cannot hold a request thread for ever.
bool fill(State &s, size_t want, int64_t deadline_ms) {
    while (s.have < want) {
        if (monotonic_ms() > deadline_ms) return false;
        int64_t n = conn_read(s.conn, s.buf + s.have, s.cap - s.have);
        if (n <= 0) return false;
        s.have += size_t(n);
    }
    return true;
}

int read_request(void *state, uwsgi_request *req) {
    auto &s = *static_cast<State *>(state);
    s.have = 0;
    s.head.clear();
    s.cap = settings().buffer_size + uwsgi::packet::kHeaderSize;
    s.buf = req->reserve(s.cap);  // the arena holds three --buffer-size: it always fits
    if (!s.buf) return UWSGI_ELIMIT;
    int64_t n = conn_read(s.conn, s.buf, s.cap);
    if (n == 0) return 0;
    if (n < 0) return UWSGI_EPEER;
    s.have = size_t(n);
    const int64_t deadline_ms = monotonic_ms() + s.conn->timeout_ms;
    if (!fill(s, uwsgi::packet::kHeaderSize, deadline_ms)) {
        spdlog::warn("uwsgi packet from {}: truncated header (or not sent within --socket-timeout)",
                     s.conn->peer_addr);
        return UWSGI_ERROR;
    }
    auto h = uwsgi::packet::decode_header(reinterpret_cast<unsigned char *>(s.buf));
    if (h.size > settings().buffer_size) {
        spdlog::warn("uwsgi packet from {}: {} bytes of vars exceed --buffer-size {}; refused",
                     s.conn->peer_addr, h.size, settings().buffer_size);
        return UWSGI_ELIMIT;
    }
    size_t end = uwsgi::packet::kHeaderSize + h.size;
    if (!fill(s, end, deadline_ms)) {
        spdlog::warn("uwsgi packet from {}: truncated ({} of {} bytes in --socket-timeout)",
                     s.conn->peer_addr, s.have, end);
        return UWSGI_ERROR;
    }
    req->modifier1 = h.modifier1;
    req->modifier2 = h.modifier2;
    std::string_view block(s.buf + uwsgi::packet::kHeaderSize, h.size);
    if (h.modifier1 == kRpcModifier1) {
        s.body_pos = uwsgi::packet::kHeaderSize;
        s.body_left = h.size;
        return 1;
    }
    int limit_hit = 0;
    bool ok = uwsgi::packet::for_each_var(block, [&](std::string_view k, std::string_view v) {
        limit_hit = req->add_view(k, v);
        return limit_hit == UWSGI_OK;
    });
    if (limit_hit != UWSGI_OK) return limit_hit;
    if (!ok) {
        spdlog::warn("uwsgi packet from {}: malformed vars block", s.conn->peer_addr);
        return UWSGI_ERROR;
    }
    s.body_pos = end;
    std::string_view cl = req->var(h.modifier1 == kCacheModifier1 ? "size" : "CONTENT_LENGTH");
    s.body_left = 0;
    for (char c : cl) {
        // 18 digits always fit in int64_t; a longer number would overflow it
        if (c < '0' || c > '9' || cl.size() > 18) {
            spdlog::warn("uwsgi packet from {}: bad CONTENT_LENGTH '{}'", s.conn->peer_addr, cl);
            return UWSGI_ERROR;
        }
        s.body_left = s.body_left * 10 + (c - '0');
    }
    if (settings().limit_post && s.body_left > settings().limit_post) {
        spdlog::warn("request body of {} bytes from {} exceeds --limit-post {}; refused",
                     s.body_left, s.conn->peer_addr, settings().limit_post);
        uwsgi::respond(host_table(), req, "413 Content Too Large",
                       "request body larger than --limit-post\n");
        return UWSGI_ELIMIT;
    }
    return 1;
}

int64_t read_body(void *state, uwsgi_request *, void *buf, size_t len) {
    auto &s = *static_cast<State *>(state);
    if (s.body_left <= 0 || len == 0) return 0;
    size_t want = size_t(std::min<int64_t>(int64_t(len), s.body_left));
    size_t buffered = s.have - s.body_pos;
    int64_t n;
    if (buffered > 0) {
        n = int64_t(std::min(want, buffered));
        std::memcpy(buf, s.buf + s.body_pos, size_t(n));
        s.body_pos += size_t(n);
    } else {
        n = conn_read(s.conn, buf, want);  // straight into the caller's buffer
        if (n <= 0) return UWSGI_EPEER;
    }
    s.body_left -= n;
    return n;
}

int write_head(void *state, uwsgi_request *, uwsgi_str status, const uwsgi_header *headers,
               size_t n) {
    auto &s = *static_cast<State *>(state);
    // nginx's uwsgi module reads an HTTP/1.x status line and headers.
    s.head.assign("HTTP/1.1 ");
    s.head.append(status.ptr, status.len);
    if (status.len == 3) {
        s.head += ' ';
        s.head += uwsgi::reason_phrase(uwsgi::status_code(uwsgi::view(status)));
    }
    s.head += "\r\n";
    for (size_t i = 0; i < n; ++i) {
        s.head.append(headers[i].name.ptr, headers[i].name.len);
        s.head += ": ";
        s.head.append(headers[i].value.ptr, headers[i].value.len);
        s.head += "\r\n";
    }
    s.head += "\r\n";
    return UWSGI_OK;
}

int write_body(void *state, uwsgi_request *, const void *buf, size_t len) {
    auto &s = *static_cast<State *>(state);
    if (s.head.empty()) return conn_write(s.conn, buf, len);
    iovec iov[2] = {{s.head.data(), s.head.size()}, {const_cast<void *>(buf), len}};
    size_t total = s.head.size() + len;
    ssize_t n = writev(s.conn->fd, iov, 2);
    if (n < 0) n = 0;
    size_t sent = size_t(n);
    int r = UWSGI_OK;
    if (sent < s.head.size()) {
        r = conn_write(s.conn, s.head.data() + sent, s.head.size() - sent);
        if (r == UWSGI_OK) r = conn_write(s.conn, buf, len);
    } else if (sent < total) {
        r = conn_write(s.conn, static_cast<const char *>(buf) + (sent - s.head.size()),
                       total - sent);
    }
    s.head.clear();
    return r;
}

int finish(void *state, uwsgi_request *req) {
    auto &s = *static_cast<State *>(state);
    if (!s.head.empty()) write_body(state, req, "", 0);
    return 0;  // one request per connection, as nginx's uwsgi_pass expects
}

int has_pending(void *) { return 0; }

int send_file(void *state, uwsgi_request *req, int fd, int64_t offset, int64_t count) {
    auto &s = *static_cast<State *>(state);
    if (!s.head.empty()) {
        if (int r = write_body(state, req, "", 0); r != UWSGI_OK) return r;
    }
    return conn_sendfile(s.conn, fd, offset, count);
}

const uwsgi_protocol kProtocol = {
    sizeof(uwsgi_protocol), 0, "uwsgi", "socket", conn_open, conn_close, read_request,
    read_body, write_head, write_body, finish, has_pending,
    nullptr,  // abort: closing the connection is all nginx needs to see a broken response
    send_file,
};

}  // namespace

const uwsgi_protocol &uwsgi_socket_protocol() { return kProtocol; }

}  // namespace core
