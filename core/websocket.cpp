#include "websocket.hpp"

#include "tls.hpp"

#include "clock.hpp"
#include "request.hpp"
#include "runtime.hpp"
#include "settings.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/detail/sha1.hpp>
#include <spdlog/spdlog.h>

#include <uwsgi/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

namespace core {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 1.3
constexpr size_t kReadBuffer = 64 * 1024;
constexpr int kRecvTickMs = 500;  // a blocking recv's SO_RCVTIMEO (fill)

bool has_token(std::string_view header, std::string_view token) {  // case-insensitive, a list
    size_t pos = 0;
    while (pos <= header.size()) {
        size_t comma = std::min(header.find(',', pos), header.size());
        std::string_view item = header.substr(pos, comma - pos);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (item.size() == token.size() &&
            std::equal(item.begin(), item.end(), token.begin(),
                       [](char a, char b) { return std::tolower(uint8_t(a)) == b; }))
            return true;
        pos = comma + 1;
    }
    return false;
}

// RFC 6455 4.1: the key is 16 random bytes in base64, i.e. 24 characters ending in "==".
bool key_valid(std::string_view key) {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    return std::all_of(key.begin(), key.end() - 2,
                       [](char c) { return std::isalnum(uint8_t(c)) || c == '+' || c == '/'; });
}

size_t accept_value(std::string_view key, char out[29]) {
    namespace d = boost::beast::detail;
    d::sha1_context ctx;
    d::init(ctx);
    d::update(ctx, key.data(), key.size());
    d::update(ctx, kGuid.data(), kGuid.size());
    uint8_t digest[d::sha1_context::digest_size];
    d::finish(ctx, digest);
    return d::base64::encode(out, digest, sizeof digest);
}

// A refused handshake gets a complete HTTP answer naming the problem (uWSGI raises in the app,
// which then answers 500); `extra` is one more header, e.g. RFC 6455 4.4's version on a 426.
int refuse(uwsgi_request *req, std::string_view status, std::string_view why,
           uwsgi_header extra = {}) {
    spdlog::info("websocket handshake refused ({}): {}", status, why);
    char body[200];
    size_t n = std::min(sizeof body - 1, why.size());
    std::memcpy(body, why.data(), n);
    body[n++] = '\n';
    char length[24];
    int len_size = std::snprintf(length, sizeof length, "%zu", n);
    uwsgi_header headers[] = {{uwsgi::str("Content-Type"), uwsgi::str("text/plain")},
                              {uwsgi::str("Content-Length"), {length, size_t(len_size)}},
                              extra};
    size_t count = extra.name.len ? 3 : 2;
    if (resp_start(req, status.data(), status.size(), headers, count) == UWSGI_OK)
        resp_write(req, body, n);
    return UWSGI_ERROR;
}

// The WebSockets this worker process holds (each on a request thread): at most
// --websocket-max-connections, so a worker keeps threads for plain requests.
std::atomic<int> g_open{0};

bool take_thread_slot() {
    int cap = settings().websocket_max_connections, open = g_open.load();
    do {
        if (open >= cap) return false;
    } while (!g_open.compare_exchange_weak(open, open + 1));
    static std::atomic<bool> told{false};
    if (open + 1 == settings().threads && !told.exchange(true))
        spdlog::warn("worker {}: all {} request thread(s) now hold WebSockets; plain requests "
                     "wait for one to close (--threads above --websocket-max-connections keeps "
                     "a thread free)", runtime().worker_id, settings().threads);
    return true;
}

// uWSGI upgrades whatever comes, and once every thread holds a WebSocket new connections wait
// unanswered in the listen queue; here the upgrade that would take the last free thread(s) is
// answered 503 at once, and plain requests keep being served.
int refuse_full(uwsgi_request *req) {
    char why[200];
    int n = std::snprintf(why, sizeof why,
                          "this worker holds %d WebSockets, its --websocket-max-connections (of "
                          "--threads %d); retry later",
                          g_open.load(), settings().threads);
    return refuse(req, "503 Service Unavailable", {why, size_t(n)},
                  {uwsgi::str("Retry-After"), uwsgi::str("1")});
}

// The WebSocket's socket blocks from the handshake on (the connection is closed after it, never
// served as HTTP again): recv waits with SO_RCVTIMEO (fill), and conn_write's sends wait with
// SO_SNDTIMEO, the connection's timeout, as its poll did. false (and left as it was) if the
// socket refused one of them: fill then polls.
bool make_blocking(int fd, int timeout_ms) {
    timeval tick{kRecvTickMs / 1000, (kRecvTickMs % 1000) * 1000};
    timeval send_timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout) != 0)
        return false;
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0;
}

}  // namespace

int WebSocket::handshake(uwsgi_request *req, std::string_view key, std::string_view origin,
                         std::string_view proto) {
    if (active_ || req->started) {
        spdlog::error("websocket handshake after the response started; refused");
        return UWSGI_ERROR;
    }
    uwsgi_conn *c = req->conn;
    // The request's own upgrade (apps usually pass its key explicitly, as uWSGI's docs do) is
    // checked as RFC 6455 4.2.1 asks; a key the app made up for another transport is trusted.
    std::string_view request_key = req->var("HTTP_SEC_WEBSOCKET_KEY");
    if (key.empty() || key == request_key) {
        key = request_key;
        if (!has_token(req->var("HTTP_UPGRADE"), "websocket"))
            return refuse(req, "400 Bad Request", "not a WebSocket upgrade (Upgrade: websocket missing)");
        if (req->var("HTTP_SEC_WEBSOCKET_VERSION") != "13")
            return refuse(req, "426 Upgrade Required", "Sec-WebSocket-Version must be 13",
                          {uwsgi::str("Sec-WebSocket-Version"), uwsgi::str("13")});
        if (!key_valid(key))
            return refuse(req, "400 Bad Request",
                          key.empty() ? "Sec-WebSocket-Key missing"
                                      : "Sec-WebSocket-Key is not 16 bytes in base64");
    }
    if (origin.empty()) origin = req->var("HTTP_ORIGIN");
    if (c->protocol->has_pending && c->protocol->has_pending(c->state))
        return refuse(req, "400 Bad Request",
                      "the client sent data before the 101 answer (RFC 6455 4.1)");
    if (!take_thread_slot()) return refuse_full(req);

    char accept[32];
    size_t accept_len = accept_value(key, accept);
    char head[1024];
    int n = std::snprintf(head, sizeof head,
                          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n",
                          int(accept_len), accept);
    if (!origin.empty() && origin.size() < 400)
        n += std::snprintf(head + n, sizeof head - size_t(n), "Sec-WebSocket-Origin: %.*s\r\n",
                           int(origin.size()), origin.data());
    if (!proto.empty() && proto.size() < 400)
        n += std::snprintf(head + n, sizeof head - size_t(n), "Sec-WebSocket-Protocol: %.*s\r\n",
                           int(proto.size()), proto.data());
    n += std::snprintf(head + n, sizeof head - size_t(n), "\r\n");
    // From here the connection is the WebSocket's: the protocol frames nothing more on it.
    req->started = true;
    req->status = 101;
    if (int r = conn_write(c, head, size_t(n)); r != UWSGI_OK) {
        g_open.fetch_sub(1);
        return r;
    }
    req->bytes_sent += size_t(n);

    const Settings &s = settings();
    conn_ = c;
    active_ = true;
    close_sent_ = closed_ = false;
    decoder_.reset(s.websocket_max_size);
    if (in_.size() < kReadBuffer) in_.resize(kReadBuffer);  // once per thread
    in_pos_ = in_len_ = 0;
    blocking_recv_ = !c->tls && make_blocking(c->fd, c->timeout_ms);
    last_ping_ms_ = monotonic_ms();
    ping_sent_ms_ = 0;
    return UWSGI_OK;
}

// A plain socket waits in recv itself: one syscall per message, where recv (EAGAIN), poll and
// recv again took three (a closed-loop client's next message is never there yet when the app
// asks for it). SO_RCVTIMEO wakes the recv every kRecvTickMs, so a ping falls due on time:
// the last tick before it is waited with poll. TLS reads first and polls only when nothing is
// there (bytes OpenSSL already decrypted make no socket event).
int WebSocket::fill(int timeout_ms) {
    const bool wait_in_recv = blocking_recv_ && timeout_ms > kRecvTickMs;
    for (bool polled = false;; polled = true) {
        ssize_t n = conn_->tls ? tls_read_now(conn_, in_.data(), in_.size())
                               : ::recv(conn_->fd, in_.data(), in_.size(),
                                        wait_in_recv ? 0 : MSG_DONTWAIT);
        if (n > 0) {
            in_pos_ = 0;
            in_len_ = size_t(n);
            return int(n);
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return UWSGI_EPEER;
        // a tick of the blocking recv: the caller checks its ping timers and waits again
        if (wait_in_recv || polled || timeout_ms <= 0) return 0;
        pollfd p{conn_->fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0) return errno == EINTR ? 0 : UWSGI_EPEER;
        if (r == 0) return 0;
    }
}

int WebSocket::recv(int mode, uwsgi_str *msg, uint8_t *opcode) {
    // UWSGI_WS_RECV_BUFFERED is asked before an event loop waits for the fd: bytes OpenSSL
    // already decrypted make no socket event, so they count as buffered and are taken here
    // (from OpenSSL's buffer, not the socket).
    const bool buffered_only = mode == UWSGI_WS_RECV_BUFFERED;
    const bool nonblocking = mode != 0;
    if (!active_) {
        spdlog::error("websocket_recv without a websocket handshake in this request");
        return UWSGI_ERROR;
    }
    if (closed_) return UWSGI_EPEER;
    const Settings &s = settings();
    for (;;) {
        if (in_pos_ < in_len_) {
            const uint8_t *p = in_.data() + in_pos_;
            ws::Event e = decoder_.next(p, in_.data() + in_len_);
            in_pos_ = size_t(p - in_.data());
            switch (e.kind) {
            case ws::Event::kMessage:
                *msg = {e.payload.data(), e.payload.size()};
                *opcode = e.opcode;
                return 1;
            case ws::Event::kPing:
                if (send_frame(ws::kPong, e.payload.data(), e.payload.size()) != UWSGI_OK)
                    return closed_ = true, UWSGI_EPEER;
                continue;
            case ws::Event::kPong:
                ping_sent_ms_ = 0;
                continue;
            case ws::Event::kClose:
                // the close handshake: echo the peer's code (RFC 6455 5.5.1)
                if (!close_sent_) send_close(e.code == 1005 ? uint16_t(ws::kNormal) : e.code);
                closed_ = true;
                return UWSGI_EPEER;
            case ws::Event::kError:
                return fail(e.code, e.error);
            case ws::Event::kNeedMore:
                break;
            }
        }
        if (buffered_only) {
            if (!conn_->tls || !tls_pending(*conn_)) return 0;
            int r = fill(0);
            if (r < 0) return closed_ = true, UWSGI_EPEER;
            if (r == 0) return 0;
            continue;
        }
        int64_t now = monotonic_ms();
        if (ping_sent_ms_ && now - ping_sent_ms_ >= s.websocket_pong_tolerance_ms) {
            spdlog::info("websocket: no pong within --websocket-pong-tolerance {} s; closing",
                         s.websocket_pong_tolerance_ms / 1000);
            return fail(ws::kGoingAway, nullptr);
        }
        if (!ping_sent_ms_ && now - last_ping_ms_ >= s.websocket_ping_freq_ms) {
            if (send_frame(ws::kPing, nullptr, 0) != UWSGI_OK) return closed_ = true, UWSGI_EPEER;
            ping_sent_ms_ = last_ping_ms_ = now;
        }
        int64_t due = ping_sent_ms_ ? ping_sent_ms_ + s.websocket_pong_tolerance_ms
                                    : last_ping_ms_ + s.websocket_ping_freq_ms;
        int r = fill(nonblocking ? 0 : int(std::max<int64_t>(due - now, 1)));
        if (r < 0) {
            spdlog::info("websocket: the peer closed the connection without a close frame");
            closed_ = true;
            return UWSGI_EPEER;
        }
        if (r == 0 && nonblocking) return 0;
    }
}

int WebSocket::fail(uint16_t code, const char *why) {
    if (why) spdlog::info("websocket: {}; closing with code {}", why, code);
    send_close(code);
    closed_ = true;
    return code == ws::kTooBig ? UWSGI_ELIMIT : UWSGI_ERROR;
}

int WebSocket::send_close(uint16_t code) {
    uint8_t payload[2] = {uint8_t(code >> 8), uint8_t(code)};
    int r = send_frame(ws::kClose, payload, 2);
    close_sent_ = true;
    return r;
}

int WebSocket::send(uint8_t opcode, const void *buf, size_t len) {
    if (!active_) {
        spdlog::error("websocket_send without a websocket handshake in this request");
        return UWSGI_ERROR;
    }
    if (opcode != ws::kText && opcode != ws::kBinary) return UWSGI_ERROR;
    if (closed_ || close_sent_) return UWSGI_EPEER;
    return send_frame(opcode, buf, len);
}

int WebSocket::send_frame(uint8_t opcode, const void *buf, size_t len) {
    std::lock_guard<std::mutex> lock(send_mutex_);
    if (close_sent_) return UWSGI_EPEER;  // nothing follows a close frame (RFC 6455 5.5.1)
    uint8_t frame[4096];
    size_t h = ws::encode_header(frame, opcode, len);
    if (!conn_->tls) return send_gathered(frame, h, static_cast<const uint8_t *>(buf), len);
    if (len <= sizeof frame - h) {  // small frames leave in one TLS record
        if (len) std::memcpy(frame + h, buf, len);
        return conn_write(conn_, frame, h + len);
    }
    if (int r = conn_write(conn_, frame, h); r != UWSGI_OK) return r;
    return conn_write(conn_, buf, len);
}

// Header and payload in one sendmsg, whatever the size (an echoed 4 KiB message took two
// writes); what the socket did not take goes out through conn_write and its timeout.
int WebSocket::send_gathered(const uint8_t *head, size_t h, const uint8_t *payload, size_t len) {
    iovec iov[2] = {{const_cast<uint8_t *>(head), h}, {const_cast<uint8_t *>(payload), len}};
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = len ? 2 : 1;
    ssize_t n = sendmsg(conn_->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return UWSGI_EPEER;
    size_t sent = n > 0 ? size_t(n) : 0;
    if (sent < h && conn_write(conn_, head + sent, h - sent) != UWSGI_OK) return UWSGI_EPEER;
    size_t done = sent > h ? sent - h : 0;
    return done < len ? conn_write(conn_, payload + done, len - done) : UWSGI_OK;
}

void WebSocket::finish(bool handler_failed) {
    if (!active_) return;
    active_ = false;
    struct Release {  // the thread is free again once the close is done
        ~Release() { g_open.fetch_sub(1); }
    } release;
    if (closed_ && close_sent_) return;  // the close handshake is done
    if (!close_sent_ && send_close(handler_failed ? ws::kInternalError : ws::kNormal) != UWSGI_OK)
        return;
    if (closed_) return;
    // We closed first: read until the peer's close (or EOF) for a moment, so closing the socket
    // with its frame unread does not reset the connection under our close frame.
    shutdown(conn_->fd, SHUT_WR);
    int64_t deadline = monotonic_ms() + std::min(conn_->timeout_ms, 2000);
    for (int64_t now = monotonic_ms(); now < deadline; now = monotonic_ms())
        if (fill(int(deadline - now)) < 0) break;
}

}  // namespace core
