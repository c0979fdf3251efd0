#include "connection.hpp"

#include "proxy_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace uwsgi_http {
namespace {

constexpr const char *kPlugin = "http";
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

std::string port_text(uint16_t port) { return std::to_string(port); }

bool is_crlf(char c) { return c == '\r' || c == '\n'; }

int64_t now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Connection::Connection(const uwsgi_host &host, const Config &cfg, uwsgi_conn *conn)
    : host_(host), cfg_(cfg), conn_(conn), proxy_header_due_(cfg.proxy_protocol) {
    // room for a full head plus body/pipelined bytes behind it
    cap_ = cfg.buffer_size + 16 * 1024;
    buf_.reset(new char[cap_]);
    headers_.reserve(std::max<size_t>(cfg.max_vars, 32));
    scratch_.reserve(cfg.buffer_size);
    out_.reserve(coalesce_limit + 64);

    uwsgi_str addr{nullptr, 0};
    uint16_t port = 0;
    if (host.conn_peer && host.conn_peer(conn, &addr, &port) == UWSGI_OK) {
        remote_addr_.assign(addr.ptr ? addr.ptr : "", addr.len);
        remote_port_ = port_text(port);
    }
    addr = {nullptr, 0};
    port = 0;
    if (host.conn_local && host.conn_local(conn, &addr, &port) == UWSGI_OK) {
        local_addr_.assign(addr.ptr ? addr.ptr : "", addr.len);
        local_port_ = port_text(port);
    }
}

int Connection::add_var(void *ctx, const char *k, size_t kl, const char *v, size_t vl) {
    auto *self = static_cast<Connection *>(ctx);
    return self->host_.req_add_var(self->req_, k, kl, v, vl);
}

void Connection::compact() {
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (begin_ > 0) {
        std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
}

int Connection::read_request(uwsgi_request *req) {
    req_ = req;
    facts_ = {};
    chunked_in_ = false;
    body_remaining_ = 0;
    expect_continue_ = continue_sent_ = body_failed_ = false;
    body_refusal_ = {};
    plan_ = {};
    head_built_ = false;
    body_sent_ = 0;
    must_close_ = false;
    overflow_logged_ = false;
    response_started_ = truncated_ = false;
    out_.clear();

    ParserLimits limits;
    limits.header_bytes = static_cast<uint32_t>(cfg_.buffer_size);
    limits.body_bytes = cfg_.limit_post;
    parser_.emplace(limits, headers_);
    parser_->set_input_range(buf_.get(), buf_.get() + cap_);

    bool started = false;  // the parser consumed bytes of this request
    // Each read waits at most --socket-timeout, but a client trickling its head a byte at a
    // time (slowloris) would hold this thread for ever: the whole head gets that long too.
    const int64_t head_deadline = now_ms() + cfg_.head_timeout_ms;
    if (proxy_header_due_) {
        if (int rc = read_proxy_header(head_deadline); rc <= 0) return rc;
    }
    for (;;) {
        if (!started) {
            // empty lines before a request are ignored (RFC 9112 2.2)
            while (begin_ < end_ && is_crlf(buf_[begin_])) ++begin_;
            compact();
        }
        if (begin_ < end_) {
            bool need_more = false;
            Refusal r;
            size_t used = parser_->feed(buf_.get() + begin_, end_ - begin_, need_more, r);
            begin_ += used;
            started = started || used > 0;
            if (r) return refuse(r);
            if (parser_->is_header_done()) break;
            // the head starts at offset 0 (compacted above and never moved while parsing)
            if (end_ >= cfg_.buffer_size)
                return refuse({431, "request head larger than buffer-size"});
        }
        if (end_ > 0 && now_ms() > head_deadline)
            return refuse({408, "request head not complete within socket-timeout"});
        int64_t n = host_.conn_read(conn_, buf_.get() + end_, cap_ - end_);
        if (n == 0) {
            if (end_ == 0) return 0;  // closed between requests
            return -1;                // closed mid-head: nobody to answer
        }
        if (n < 0) return -1;
        end_ += static_cast<size_t>(n);
    }

    const RequestHead &head = parser_->head();
    Refusal r = build_vars(head, {remote_addr_, remote_port_, local_addr_, local_port_},
                           cfg_.max_vars, scratch_, &Connection::add_var, this);
    if (r) return refuse(r);
    host_.req_set_modifiers(req, cfg_.modifier1, cfg_.modifier2);

    facts_.version = head.version;
    facts_.is_head = head.is_head;
    facts_.keep_alive = head.keep_alive;
    chunked_in_ = head.chunked;
    body_remaining_ = head.chunked ? 0 : head.content_length;
    expect_continue_ = head.expect_continue;
    // Like the head's: a client trickling its body (1 byte/s) must not hold a thread for ever.
    body_deadline_ms_ = cfg_.body_timeout_ms ? now_ms() + cfg_.body_timeout_ms : 0;
    return 1;
}

// Before each wait for body bytes: past --http-body-timeout the body is refused with 408.
bool Connection::body_too_slow() {
    if (!body_deadline_ms_ || now_ms() <= body_deadline_ms_) return false;
    body_refusal_ = {408, "request body not complete within http-body-timeout"};
    log_refusal(body_refusal_);
    fail_body(UWSGI_ERROR);
    return true;
}

void Connection::log_refusal(const Refusal &r) {
    char line[256];
    int n = std::snprintf(line, sizeof line, "refused a request from %s:%s: %d %.*s (%s)",
                          remote_addr_.c_str(), remote_port_.c_str(), r.status,
                          static_cast<int>(reason_phrase(r.status).size()),
                          reason_phrase(r.status).data(), r.reason);
    if (n > 0) host_.log(UWSGI_LOG_WARN, kPlugin, line, std::min<size_t>(size_t(n), sizeof line - 1));
}

int Connection::refuse(const Refusal &r) {
    log_refusal(r);
    out_.clear();
    build_error_response(out_, r.status, cfg_.extra_headers);
    flush();
    linger();
    return r.status == 413 || r.status == 431 ? UWSGI_ELIMIT : UWSGI_ERROR;
}

int Connection::flush() {
    if (out_.empty()) return UWSGI_OK;
    int rc = host_.conn_write(conn_, out_.data(), out_.size());
    out_.clear();
    response_started_ = true;
    if (rc != UWSGI_OK) must_close_ = true;
    return rc;
}

int Connection::send_continue() {
    if (!expect_continue_ || continue_sent_) return UWSGI_OK;
    continue_sent_ = true;
    // a client that sent the body anyway needs no go-ahead
    if (begin_ < end_) return UWSGI_OK;
    return host_.conn_write(conn_, kContinue, sizeof kContinue - 1);
}

int64_t Connection::fail_body(int64_t rc) {
    body_failed_ = must_close_ = true;
    truncated_ = truncated_ || response_started_;
    return rc;
}

int64_t Connection::read_body(uwsgi_request *, void *buf, size_t len) {
    if (body_failed_) return body_refusal_.status == 413 ? UWSGI_ELIMIT : UWSGI_ERROR;
    if (len == 0) return 0;
    auto *out = static_cast<char *>(buf);
    if (chunked_in_) return read_chunked(out, len);
    if (body_remaining_ == 0) return 0;
    if (send_continue() != UWSGI_OK) return fail_body(UWSGI_EPEER);
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, body_remaining_));
    int64_t n;
    if (begin_ < end_) {
        n = static_cast<int64_t>(std::min(want, end_ - begin_));
        std::memcpy(out, buf_.get() + begin_, static_cast<size_t>(n));
        begin_ += static_cast<size_t>(n);
    } else {
        // nothing buffered: straight into the caller's buffer, no copy
        if (body_too_slow()) return UWSGI_ERROR;
        n = host_.conn_read(conn_, out, want);
        if (n <= 0) return fail_body(n == 0 ? UWSGI_EPEER : n);
    }
    body_remaining_ -= static_cast<uint64_t>(n);
    return n;
}

int64_t Connection::read_chunked(char *out, size_t len) {
    if (parser_->is_done()) return 0;
    if (send_continue() != UWSGI_OK) return fail_body(UWSGI_EPEER);
    parser_->set_body_sink(out, len);
    for (;;) {
        bool need_more = false;
        if (begin_ < end_) {
            Refusal r;
            size_t used = parser_->feed(buf_.get() + begin_, end_ - begin_, need_more, r);
            begin_ += used;
            if (r) {
                body_refusal_ = r;
                log_refusal(r);
                return fail_body(r.status == 413 ? UWSGI_ELIMIT : UWSGI_ERROR);
            }
            if (parser_->body_written() > 0) return static_cast<int64_t>(parser_->body_written());
            if (parser_->is_done()) return 0;
            if (!need_more && used > 0) continue;  // a chunk header went by
        }
        compact();
        if (end_ == cap_) {  // a chunk header or trailer that fills the whole buffer
            Refusal r{400, "chunk header or trailers too long"};
            body_refusal_ = r;
            log_refusal(r);
            return fail_body(UWSGI_ERROR);
        }
        if (body_too_slow()) return UWSGI_ERROR;
        int64_t n = host_.conn_read(conn_, buf_.get() + end_, cap_ - end_);
        if (n <= 0) return fail_body(n == 0 ? UWSGI_EPEER : n);
        end_ += static_cast<size_t>(n);
    }
}

int Connection::write_head(uwsgi_request *, uwsgi_str status, const uwsgi_header *headers,
                           size_t nheaders) {
    if (head_built_) return UWSGI_ERROR;
    out_.clear();
    const char *err = build_response_head(out_, {status.ptr ? status.ptr : "", status.len},
                                          headers, nheaders, cfg_.extra_headers, facts_, plan_);
    if (err) {
        out_.clear();
        host_.log(UWSGI_LOG_ERROR, kPlugin, err, std::strlen(err));
        return UWSGI_ERROR;
    }
    head_built_ = true;
    if (!plan_.keep_alive) must_close_ = true;
    return UWSGI_OK;
}

int Connection::write_body(uwsgi_request *, const void *buf, size_t len) {
    if (!head_built_) return UWSGI_ERROR;
    if (len == 0 || plan_.framing == Framing::none) return UWSGI_OK;
    auto *data = static_cast<const char *>(buf);
    if (plan_.framing == Framing::length) {
        uint64_t room = plan_.content_length - body_sent_;
        if (len > room) {
            // more than the app announced: the extra bytes would be read as the next response
            static const char msg[] = "the app wrote more than its Content-Length; truncated";
            if (!overflow_logged_) host_.log(UWSGI_LOG_WARN, kPlugin, msg, sizeof msg - 1);
            overflow_logged_ = true;
            must_close_ = true;
            len = static_cast<size_t>(room);
            if (len == 0) return flush();
        }
    }
    body_sent_ += len;
    bool chunked = plan_.framing == Framing::chunked;
    if (chunked) append_chunk_size(out_, len);
    if (out_.size() + len + 2 <= coalesce_limit) {
        out_.append(data, len);
        if (chunked) out_.append("\r\n");
        return flush();
    }
    int rc = flush();
    if (rc != UWSGI_OK) return rc;
    rc = host_.conn_write(conn_, data, len);
    response_started_ = true;
    if (rc != UWSGI_OK) {
        must_close_ = true;
        return rc;
    }
    // the chunk's CRLF rides with the next write (or the last chunk) to save a syscall
    if (chunked) out_.append("\r\n");
    return UWSGI_OK;
}

int Connection::finish(uwsgi_request *) {
    if (!head_built_) {
        // nothing was answered: a body refusal gets its status, anything else is the app's fault
        int status = body_refusal_ ? body_refusal_.status : 500;
        out_.clear();
        build_error_response(out_, status, cfg_.extra_headers);
        must_close_ = true;
    } else {
        switch (plan_.framing) {
        case Framing::chunked:
            // A body read failed while the answer was already streaming: the app's answer is
            // cut short, and a last-chunk would make it look complete. Close instead.
            if (!truncated_) out_.append("0\r\n\r\n");
            break;
        case Framing::length:
            if (body_sent_ < plan_.content_length) {
                static const char msg[] = "the app wrote less than its Content-Length; closing";
                host_.log(UWSGI_LOG_WARN, kPlugin, msg, sizeof msg - 1);
                must_close_ = true;
            }
            break;
        case Framing::close:
        case Framing::raw:
            must_close_ = true;
            break;
        case Framing::none:
            break;
        }
    }
    flush();
    if (!must_close_ && !drain_body()) must_close_ = true;
    if (must_close_) {
        // unread input makes close() send a RST that can destroy the answer in flight
        if (body_remaining_ > 0 || chunked_in_ || begin_ < end_) linger();
        return 0;
    }
    return 1;
}

void Connection::abort(uwsgi_request *req) {
    truncated_ = true;
    must_close_ = true;
    finish(req);
}

int Connection::send_file(uwsgi_request *, int fd, int64_t offset, int64_t count) {
    if (!head_built_) return UWSGI_ERROR;
    if (plan_.framing == Framing::none || count <= 0) return UWSGI_OK;
    if (plan_.framing != Framing::length) return 1;
    if (uint64_t(count) > plan_.content_length - body_sent_) return 1;  // write_body truncates
    int rc = flush();
    if (rc != UWSGI_OK) return rc;
    response_started_ = true;
    rc = host_.conn_sendfile(conn_, fd, offset, count);
    if (rc != UWSGI_OK) {
        must_close_ = true;
        return rc;
    }
    body_sent_ += uint64_t(count);
    return UWSGI_OK;
}

bool Connection::drain_body() {
    if (body_failed_) return false;
    if (chunked_in_) {
        if (parser_->is_done()) return true;
        // the client waits for our go-ahead that never came: its body may or may not follow
        if (expect_continue_ && !continue_sent_) return false;
        char sink[4096];
        uint64_t drained = 0;
        while (drained <= drain_limit) {
            int64_t n = read_chunked(sink, sizeof sink);
            if (n == 0) return true;
            if (n < 0) return false;
            drained += static_cast<uint64_t>(n);
        }
        return false;
    }
    if (body_remaining_ == 0) return true;
    if (expect_continue_ && !continue_sent_) return false;
    if (body_remaining_ > drain_limit) return false;
    while (body_remaining_ > 0) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(end_ - begin_, body_remaining_));
        begin_ += take;
        body_remaining_ -= take;
        if (body_remaining_ == 0) break;
        compact();
        int64_t n = host_.conn_read(conn_, buf_.get() + end_, cap_ - end_);
        if (n <= 0) return false;
        end_ += static_cast<size_t>(n);
    }
    return true;
}

// --enable-proxy-protocol: the connection's first bytes are a PROXY v1 or v2 header from the
// load balancer; its source address becomes REMOTE_ADDR/REMOTE_PORT for every request. A
// connection without a valid header is closed unanswered (the peer is no load balancer we know).
// The header is looked for in clear on the socket first (read_clear_proxy_header), then in
// what conn_read gives: the same bytes on a plain socket, the decrypted stream on
// --https-socket (where uWSGI looks for it, so a client that sends it inside TLS still works).
int Connection::read_proxy_header(int64_t deadline) {
    if (int rc = read_clear_proxy_header(deadline); rc <= 0 || !proxy_header_due_) return rc;
    for (;;) {
        ProxyHeader h = parse_proxy_header({buf_.get() + begin_, end_ - begin_});
        if (h.status == ProxyHeader::Status::done) {
            take_proxy_header(h);
            begin_ += h.length;
            return 1;
        }
        if (h.status != ProxyHeader::Status::incomplete) return refuse_proxy_header();
        if (end_ > begin_ && now_ms() > deadline) return UWSGI_ERROR;
        compact();
        int64_t n = host_.conn_read(conn_, buf_.get() + end_, cap_ - end_);
        if (n == 0 && end_ == begin_) return 0;
        if (n <= 0) return UWSGI_ERROR;
        end_ += static_cast<size_t>(n);
    }
}

// The header in clear on the socket, before anything read the connection: on --https-socket
// that is before the TLS handshake, where HAProxy's send-proxy and AWS NLB put it (uWSGI looks
// for it only inside TLS, so a balancer's header fails its handshake). Bytes are peeked and only
// the header's are taken, so what follows (a ClientHello, a request) stays in the socket for
// conn_read. 1: taken (proxy_header_due_ false) or not there (still true); 0: closed before
// any byte; UWSGI_ERROR: a broken header (logged), a timeout or a socket error.
int Connection::read_clear_proxy_header(int64_t deadline) {
    const int fd = host_.conn_fd ? host_.conn_fd(conn_) : -1;
    if (fd < 0 || end_ != 0) return 1;  // no socket (a fake core), or bytes read already
    const size_t room = std::min(cap_, kProxyV2MaxLength);
    for (;;) {
        ssize_t n = recv(fd, buf_.get() + end_, room - end_, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return end_ == 0 ? 0 : UWSGI_ERROR;
        if (n < 0) {
            if (errno == EINTR) continue;
            pollfd p{fd, POLLIN, 0};
            const int64_t left = deadline - now_ms();
            if ((errno != EAGAIN && errno != EWOULDBLOCK) || left <= 0 ||
                poll(&p, 1, int(std::min<int64_t>(left, INT32_MAX))) < 0)
                return UWSGI_ERROR;
            continue;
        }
        ProxyHeader h = parse_proxy_header({buf_.get(), end_ + size_t(n)});
        // none: the first byte starts no header (a ClientHello's 0x16, a request's "G")
        if (h.status == ProxyHeader::Status::absent &&
            parse_proxy_header({buf_.get(), 1}).status == ProxyHeader::Status::absent)
            return 1;
        // invalid, or absent after bytes that started one ("PROX" and then a ClientHello)
        if (h.status != ProxyHeader::Status::done && h.status != ProxyHeader::Status::incomplete) {
            // what the client sent is dropped, so the close is a FIN and not a reset
            char sink[4096];
            for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
            }
            return refuse_proxy_header();
        }
        // incomplete: every byte so far belongs to the header (it ends at its CRLF or length)
        const size_t take = h.status == ProxyHeader::Status::done ? h.length - end_ : size_t(n);
        if (recv(fd, buf_.get() + end_, take, 0) != ssize_t(take)) return UWSGI_ERROR;
        end_ += take;
        if (h.status == ProxyHeader::Status::done) {
            take_proxy_header(h);
            begin_ = end_ = 0;
            return 1;
        }
    }
}

// As uWSGI: the client's address, and the one it connected to (UNKNOWN/LOCAL keep the socket's).
void Connection::take_proxy_header(const ProxyHeader &h) {
    proxy_header_due_ = false;
    if (!h.known) return;
    remote_addr_.assign(h.src_addr);
    remote_port_.assign(h.src_port);
    local_addr_.assign(h.dst_addr);
    local_port_.assign(h.dst_port);
}

int Connection::refuse_proxy_header() {
    char line[160];
    int n = std::snprintf(line, sizeof line,
                          "closed a connection from %s:%s: no valid PROXY protocol header "
                          "(--enable-proxy-protocol)",
                          remote_addr_.c_str(), remote_port_.c_str());
    if (n > 0) host_.log(UWSGI_LOG_WARN, kPlugin, line, std::min<size_t>(size_t(n), sizeof line - 1));
    return UWSGI_ERROR;
}

void Connection::linger() {
    // Half-close, then swallow what the client still sends for a moment, so our answer reaches
    // it before the close (a close with unread input resets the connection).
    int fd = host_.conn_fd ? host_.conn_fd(conn_) : -1;
    if (fd < 0) return;
    ::shutdown(fd, SHUT_WR);
    const int64_t deadline = now_ms() + 500;
    size_t budget = 1 << 20;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0 || budget == 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        ssize_t n = ::recv(fd, buf_.get(), cap_, MSG_DONTWAIT);
        if (n <= 0) break;
        budget -= std::min(budget, static_cast<size_t>(n));
    }
    begin_ = end_ = 0;
}

int Connection::has_pending() const {
    for (size_t i = begin_; i < end_; ++i)
        if (!is_crlf(buf_[i])) return 1;
    return 0;
}

}  // namespace uwsgi_http
