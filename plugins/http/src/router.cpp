#include "router.hpp"

#include "proxy_protocol.hpp"
#include "request_parser.hpp"
#include "request_vars.hpp"
#include "response_head.hpp"
#include "response_relay.hpp"
#include "text.hpp"

#include <uwsgi/packet.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <memory>

namespace uwsgi_http {
namespace {

constexpr const char *kPlugin = "http";
std::atomic<bool> g_stop{false};

int64_t now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void log(const uwsgi_host &host, int level, const std::string &msg) {
    host.log(level, kPlugin, msg.data(), msg.size());
}

// "host:port", ":port", "[v6]:port" or a UNIX path, resolved to a socket address.
bool resolve(const std::string &addr, sockaddr_storage &ss, socklen_t &len) {
    std::memset(&ss, 0, sizeof ss);
    size_t colon = addr.rfind(':');
    if (addr.find('/') != std::string::npos || colon == std::string::npos) {
        auto *un = reinterpret_cast<sockaddr_un *>(&ss);
        if (addr.size() >= sizeof un->sun_path) return false;
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, addr.data(), addr.size());
        len = socklen_t(offsetof(sockaddr_un, sun_path) + addr.size() + 1);
        return true;
    }
    std::string h = addr.substr(0, colon), port = addr.substr(colon + 1);
    if (h.size() >= 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(h.empty() ? nullptr : h.c_str(), port.c_str(), &hints, &res) != 0 || !res)
        return false;
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

std::string describe(const sockaddr_storage &ss, std::string &port) {
    char buf[INET6_ADDRSTRLEN] = {0};
    port = "0";
    if (ss.ss_family == AF_INET) {
        auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        port = std::to_string(ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        port = std::to_string(ntohs(a->sin6_port));
    }
    return buf;
}

struct Session;

// The uwsgi packet's header: the size of the vars that follow it (checked to fit before).
void set_block_size(std::string &packet) {
    size_t block = packet.size() - 4;
    packet[1] = char(block & 0xff);
    packet[2] = char(block >> 8);
}

// "HTTP/1.x 101 ...": the worker accepted the client's Upgrade.
bool switches_protocols(std::string_view head) {
    return head.size() > 12 && head.substr(0, 7) == "HTTP/1." && head.substr(8, 4) == " 101" &&
           (head[12] == ' ' || head[12] == '\r');
}

// What an epoll event names: one side of a session, or a listener (with its TLS context for
// --https).
struct Side {
    Session *session = nullptr;
    bool backend = false;
    int listener = -1;
    void *tls = nullptr;
};

struct Session {
    int client = -1, backend = -1;
    void *tls = nullptr;            // --https: the core's TLS session on `client`
    void *tls_due = nullptr;        // --https with a PROXY header: its listener's TLS context,
                                    // until the header was read in clear
    bool tls_read_blocked = false;  // OpenSSL must write before it can read on
    bool tls_queued = false;        // in Router::tls_ready_
    Side client_side, backend_side;
    // draining: the answer is complete and still being written to the client; tunnel: the worker
    // answered 101 to an Upgrade, and bytes pass both ways unchanged until either side closes
    // collecting: a chunked request body is being de-chunked into `body`
    enum class Phase { proxy_header, head, collecting, connecting, forwarding, tunnel, draining,
                       done } phase = Phase::head;
    std::string body;  // a chunked request body, de-chunked, until it is whole
    bool upgrade = false;  // the request asked for a WebSocket (Upgrade: websocket)
    std::unique_ptr<char[]> in;  // client bytes: head, then body pieces
    size_t in_cap = 0, in_begin = 0, in_end = 0;
    std::string remote_addr, remote_port, local_addr, local_port;
    std::vector<HeaderField> headers;
    std::optional<RequestParser> parser;
    VarsScratch scratch;
    std::string to_backend;  // the uwsgi packet, then body bytes
    size_t to_backend_off = 0;
    uint64_t body_left = 0;
    std::string from_backend;  // the worker's answer until its head is complete
    bool response_started = false;
    RelayPlan plan;
    uint64_t body_relayed = 0;
    std::string to_client;
    size_t to_client_off = 0;
    ClientWants wants;
    bool close_after = false;  // close the client once to_client is written
    int64_t deadline = 0;
    uint32_t client_events = 0, backend_events = 0;
    bool client_added = false, backend_added = false;
    std::list<Session *>::iterator where;
};

class Router {
public:
    Router(const uwsgi_host &host, const RouterConfig &cfg, const std::vector<int> &listeners,
           const std::vector<std::string> &backends)
        : host_(host), cfg_(cfg), listeners_(listeners), backends_(backends) {}
    int run();

private:
    void accept_from(const Side &listener);
    void on_client(Session &s, uint32_t ev);
    void on_backend(Session &s, uint32_t ev);
    bool read_head(Session &s);
    bool read_proxy_header_before_tls(Session &s);
    void take_proxy_header(Session &s, const ProxyHeader &h);
    void refuse_proxy_header(Session &s);
    bool start_backend(Session &s);
    void answer_error(Session &s, int status, const char *why);
    void pump_body(Session &s);
    void pump_tunnel(Session &s);
    bool send_backend(Session &s);
    bool start_tunnel(Session &s);
    bool collect_chunked(Session &s);
    bool read_backend(Session &s);
    bool write_client(Session &s);
    void next_request(Session &s);
    void watch(Session &s);
    void close_session(Session &s);
    void drop_backend(Session &s);
    void sweep();
    ssize_t client_recv(Session &s, void *buf, size_t len);
    ssize_t client_send(Session &s, const void *buf, size_t len);
    void end_tls(Session &s);

    const uwsgi_host &host_;
    const RouterConfig &cfg_;
    const std::vector<int> &listeners_;
    const std::vector<std::string> &backends_;
    std::vector<Side> listener_sides_;
    size_t next_backend_ = 0;
    int ep_ = -1;
    std::list<Session *> sessions_;
    std::vector<Session *> dead_;
    // TLS sessions holding decrypted bytes the router wants: no socket event will announce them
    std::vector<Session *> tls_ready_;
};

// Level-triggered interest; 0 keeps the fd registered but quiet (a worker's close waits until
// the client took what was read before).
void set_events(int ep, int fd, uint32_t &current, bool &added, uint32_t want, Side *side) {
    if (fd < 0 || (added && current == want)) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = side;
    epoll_ctl(ep, added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    current = want;
    added = true;
}

// The most of a worker's answer the router holds for a slow client before it stops reading
// (the worker then waits in its write, bounded by its --socket-timeout).
constexpr size_t kClientBacklog = 4 << 20;

int Router::run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    listener_sides_.resize(listeners_.size());
    for (size_t i = 0; i < listeners_.size(); ++i) {
        listener_sides_[i].listener = listeners_[i];
        listener_sides_[i].tls = cfg_.listen[i].tls;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &listener_sides_[i];
        epoll_ctl(ep_, EPOLL_CTL_ADD, listeners_[i], &ev);
    }
    epoll_event events[64];
    int64_t last_sweep = now_ms();
    while (!g_stop.load()) {
        int n = epoll_wait(ep_, events, 64, tls_ready_.empty() ? 1000 : 0);
        for (int i = 0; i < n; ++i) {
            auto *side = static_cast<Side *>(events[i].data.ptr);
            if (side->listener >= 0) {
                accept_from(*side);
                continue;
            }
            Session &s = *side->session;
            if (s.phase == Session::Phase::done) continue;  // closed by an earlier event
            if (side->backend) on_backend(s, events[i].events);
            else on_client(s, events[i].events);
        }
        std::vector<Session *> ready;
        ready.swap(tls_ready_);
        for (Session *s : ready) {
            s->tls_queued = false;
            if (s->phase != Session::Phase::done) on_client(*s, EPOLLIN);
        }
        for (Session *s : dead_) delete s;
        dead_.clear();
        if (now_ms() - last_sweep >= 1000) {
            sweep();
            last_sweep = now_ms();
        }
    }
    for (Session *s : std::list<Session *>(sessions_)) close_session(*s);
    for (Session *s : dead_) delete s;
    close(ep_);
    return 0;
}

void Router::accept_from(const Side &listener) {
    const int fd = listener.listener;
    for (int i = 0; i < 64; ++i) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        int c = accept4(fd, reinterpret_cast<sockaddr *>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) return;  // EAGAIN: another router process took it, or none left
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto *s = new Session;
        s->client = c;
        s->client_side = {s, false, -1};
        s->backend_side = {s, true, -1};
        s->in_cap = cfg_.buffer_size + 16 * 1024;
        s->in.reset(new char[s->in_cap]);
        // a PROXY header comes in clear before the ClientHello: TLS starts once it was read
        if (listener.tls && cfg_.proxy_protocol) {
            s->tls_due = listener.tls;
        } else if (listener.tls && !(s->tls = host_.tls_accept(listener.tls, c))) {
            close(c);
            delete s;
            continue;
        }
        s->remote_addr = describe(peer, s->remote_port);
        sockaddr_storage local{};
        len = sizeof local;
        getsockname(c, reinterpret_cast<sockaddr *>(&local), &len);
        s->local_addr = describe(local, s->local_port);
        s->phase = cfg_.proxy_protocol ? Session::Phase::proxy_header : Session::Phase::head;
        s->deadline = now_ms() + cfg_.timeout_ms;
        sessions_.push_front(s);
        s->where = sessions_.begin();
        watch(*s);
    }
}

// What each side waits for, from the session's phase and buffers.
void Router::watch(Session &s) {
    uint32_t c = 0, b = 0;
    if (s.in_begin == s.in_end) s.in_begin = s.in_end = 0;  // all consumed: room again
    const bool to_backend_sent = s.to_backend_off == s.to_backend.size();
    bool reading_client = s.phase == Session::Phase::proxy_header ||
                          s.phase == Session::Phase::head ||
                          s.phase == Session::Phase::collecting ||
                          (s.phase == Session::Phase::forwarding && s.body_left > 0 &&
                           to_backend_sent) ||
                          (s.phase == Session::Phase::tunnel && to_backend_sent);
    if (reading_client && s.in_end < s.in_cap) c |= EPOLLIN | EPOLLRDHUP;
    if (s.to_client_off < s.to_client.size() || (reading_client && s.tls_read_blocked))
        c |= EPOLLOUT;
    if (reading_client && s.in_end < s.in_cap && s.tls && !s.tls_queued &&
        host_.tls_pending(s.tls)) {
        s.tls_queued = true;
        tls_ready_.push_back(&s);
    }
    if (s.backend >= 0) {
        if (s.phase == Session::Phase::connecting || s.to_backend_off < s.to_backend.size())
            b |= EPOLLOUT;
        if ((s.phase == Session::Phase::forwarding || s.phase == Session::Phase::tunnel) &&
            s.to_client.size() - s.to_client_off < kClientBacklog)
            b |= EPOLLIN | EPOLLRDHUP;
    }
    if (!c) c = EPOLLRDHUP;  // still told when the client goes away
    set_events(ep_, s.client, s.client_events, s.client_added, c, &s.client_side);
    if (s.backend >= 0)
        set_events(ep_, s.backend, s.backend_events, s.backend_added, b, &s.backend_side);
}

void Router::close_session(Session &s) {
    if (s.phase == Session::Phase::done) return;
    s.phase = Session::Phase::done;
    end_tls(s);
    if (s.backend >= 0) close(s.backend);
    if (s.client >= 0) close(s.client);
    sessions_.erase(s.where);
    dead_.push_back(&s);
}

// --http-enable-proxy-protocol on an --https address: the header arrives in clear before the
// ClientHello (HAProxy's send-proxy, AWS NLB). Bytes are peeked and only the header's taken, so
// OpenSSL reads the ClientHello from the socket itself. A connection that starts with anything
// else (a ClientHello) gets TLS at once, as uWSGI's router serves one without a header; uWSGI
// itself looks for the header only inside TLS, so a balancer's header fails its handshake.
bool Router::read_proxy_header_before_tls(Session &s) {
    ssize_t n = recv(s.client, s.in.get() + s.in_end, kProxyV2MaxLength - s.in_end, MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        close_session(s);
        return false;
    }
    if (n < 0) return true;
    ProxyHeader h = parse_proxy_header({s.in.get(), s.in_end + size_t(n)});
    // incomplete: every byte so far belongs to the header (it ends at its CRLF or length)
    size_t take = h.status == ProxyHeader::Status::done         ? h.length - s.in_end
                  : h.status == ProxyHeader::Status::incomplete ? size_t(n)
                                                                : 0;
    if (take > 0 && recv(s.client, s.in.get() + s.in_end, take, 0) != ssize_t(take)) {
        close_session(s);
        return false;
    }
    s.in_end += take;
    if (h.status == ProxyHeader::Status::incomplete) return true;
    // absent after a first byte that starts a header ("PROX" and then a ClientHello): a broken
    // header, not a connection without one (a ClientHello starts with 0x16)
    const bool broken = h.status == ProxyHeader::Status::invalid ||
                        (h.status == ProxyHeader::Status::absent &&
                         parse_proxy_header({s.in.get(), 1}).status != ProxyHeader::Status::absent);
    if (broken) {
        refuse_proxy_header(s);
        return false;
    }
    if (h.status == ProxyHeader::Status::done) take_proxy_header(s, h);
    s.in_begin = s.in_end = 0;
    s.tls = host_.tls_accept(s.tls_due, s.client);
    s.tls_due = nullptr;
    if (!s.tls) {
        close_session(s);
        return false;
    }
    s.phase = Session::Phase::head;  // the ClientHello waits in the socket: EPOLLIN fires again
    return true;
}

// As uWSGI: the client's address, and the one it connected to (UNKNOWN/LOCAL keep the socket's).
void Router::take_proxy_header(Session &s, const ProxyHeader &h) {
    if (!h.known) return;
    s.remote_addr.assign(h.src_addr);
    s.remote_port.assign(h.src_port);
    s.local_addr.assign(h.dst_addr);
    s.local_port.assign(h.dst_port);
}

void Router::refuse_proxy_header(Session &s) {
    log(host_, UWSGI_LOG_WARN, "router: closed a connection from " + s.remote_addr +
                                   ": no valid PROXY protocol header");
    // what the client sent is dropped first, so the close is a FIN and not a reset
    for (int i = 0; i < 16 && recv(s.client, s.in.get(), s.in_cap, MSG_DONTWAIT) > 0; ++i) {
    }
    close_session(s);
}

void Router::end_tls(Session &s) {
    if (!s.tls) return;
    host_.tls_close(s.tls);  // close_notify, before the socket's shutdown or close
    s.tls = nullptr;
}

// The client's bytes, decrypted for --https; recv(2)'s results (errno EAGAIN: wait for an event).
ssize_t Router::client_recv(Session &s, void *buf, size_t len) {
    if (!s.tls) return recv(s.client, buf, len, 0);
    int64_t n = host_.tls_recv(s.tls, buf, len);
    s.tls_read_blocked = n == UWSGI_TLS_WANT_WRITE;
    if (n >= 0) return ssize_t(n);
    errno = n == UWSGI_TLS_WANT_READ || n == UWSGI_TLS_WANT_WRITE ? EAGAIN : EPIPE;
    return -1;
}

// send(2)'s results; a TLS write waits for EPOLLOUT like a plain one (no renegotiation, so
// OpenSSL never needs to read to write).
ssize_t Router::client_send(Session &s, const void *buf, size_t len) {
    if (!s.tls) return send(s.client, buf, len, MSG_NOSIGNAL);
    int64_t n = host_.tls_send(s.tls, buf, len);
    if (n > 0) return ssize_t(n);
    errno = n == UWSGI_TLS_WANT_READ || n == UWSGI_TLS_WANT_WRITE ? EAGAIN : EPIPE;
    return -1;
}

void Router::drop_backend(Session &s) {
    if (s.backend < 0) return;
    close(s.backend);  // also leaves the epoll set
    s.backend = -1;
    s.backend_events = 0;
    s.backend_added = false;
}

// Idle or slow clients and silent workers past --http-timeout are closed.
void Router::sweep() {
    int64_t now = now_ms();
    for (Session *s : std::list<Session *>(sessions_))
        if (now > s->deadline) {
            if (s->phase == Session::Phase::head && s->in_end > s->in_begin)
                answer_error(*s, 408, "request head not complete within --http-timeout");
            else if (s->phase == Session::Phase::collecting)
                answer_error(*s, 408, "chunked request body not complete within --http-timeout");
            else if (s->phase == Session::Phase::connecting ||
                     (s->phase == Session::Phase::forwarding && !s->response_started))
                answer_error(*s, 504, "the worker did not answer within --http-timeout");
            else
                close_session(*s);
        }
}

void Router::answer_error(Session &s, int status, const char *why) {
    char line[200];
    int n = std::snprintf(line, sizeof line, "router: %d for %s:%s (%s)", status,
                          s.remote_addr.c_str(), s.remote_port.c_str(), why);
    host_.log(UWSGI_LOG_WARN, kPlugin, line, size_t(std::max(0, std::min(n, int(sizeof line) - 1))));
    drop_backend(s);
    s.to_client.resize(s.to_client_off);
    std::string body;
    build_error_response(body, status, "");
    s.to_client += body;
    s.close_after = true;
    s.phase = Session::Phase::draining;
    s.body_left = 0;
    s.to_backend.clear();
    s.to_backend_off = 0;
    s.response_started = true;
    if (!write_client(s)) return;
    watch(s);
}

void Router::on_client(Session &s, uint32_t ev) {
    s.deadline = now_ms() + cfg_.timeout_ms;
    if (s.tls_read_blocked && (ev & EPOLLOUT)) ev |= EPOLLIN;  // OpenSSL wrote what it had to
    if ((ev & EPOLLOUT) && !write_client(s)) return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (s.phase == Session::Phase::proxy_header || s.phase == Session::Phase::head ||
            s.phase == Session::Phase::collecting) {
            if (!read_head(s)) return;
        } else if (s.phase == Session::Phase::forwarding && s.body_left > 0) {
            pump_body(s);
            if (s.phase == Session::Phase::done) return;
        } else if (s.phase == Session::Phase::tunnel) {
            pump_tunnel(s);
            if (s.phase == Session::Phase::done || !send_backend(s)) return;
        } else if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            return close_session(s);  // gone while its answer was on the way
        }
    }
    watch(s);
}

// Reads and parses the client's head; at its end, the request goes to a worker.
bool Router::read_head(Session &s) {
    if (s.tls_due) return read_proxy_header_before_tls(s);
    for (;;) {
        ssize_t n = client_recv(s, s.in.get() + s.in_end, s.in_cap - s.in_end);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_session(s);
            return false;
        }
        if (n < 0) break;
        s.in_end += size_t(n);
        if (s.in_end == s.in_cap) break;
    }
    if (s.phase == Session::Phase::collecting) return collect_chunked(s);
    if (s.phase == Session::Phase::proxy_header) {
        ProxyHeader h = parse_proxy_header({s.in.get() + s.in_begin, s.in_end - s.in_begin});
        if (h.status == ProxyHeader::Status::incomplete) return true;
        if (h.status == ProxyHeader::Status::invalid) {
            refuse_proxy_header(s);
            return false;
        }
        // absent: a request without a header is served as from the socket's peer, as uWSGI's
        // router does (the header is optional there)
        if (h.status == ProxyHeader::Status::done) {
            take_proxy_header(s, h);
            s.in_begin += h.length;
        }
        s.phase = Session::Phase::head;
    }
    // a head starts at offset 0 so the parser's views stay valid
    while (s.in_begin < s.in_end && (s.in[s.in_begin] == '\r' || s.in[s.in_begin] == '\n')) ++s.in_begin;
    if (s.in_begin > 0) {
        std::memmove(s.in.get(), s.in.get() + s.in_begin, s.in_end - s.in_begin);
        s.in_end -= s.in_begin;
        s.in_begin = 0;
    }
    if (s.in_end == 0) return true;
    ParserLimits limits;
    limits.header_bytes = uint32_t(cfg_.buffer_size);
    limits.body_bytes = cfg_.limit_post;
    s.parser.emplace(limits, s.headers);
    s.parser->set_input_range(s.in.get(), s.in.get() + s.in_cap);
    bool need_more = false;
    Refusal r;
    size_t used = s.parser->feed(s.in.get(), s.in_end, need_more, r);
    if (r) {
        answer_error(s, r.status, r.reason);
        return false;
    }
    if (!s.parser->is_header_done()) {
        if (s.in_end >= cfg_.buffer_size) {
            answer_error(s, 431, "request head larger than buffer-size");
            return false;
        }
        return true;  // parsed again from the start when more arrives
    }
    const RequestHead &head = s.parser->head();
    // the uwsgi packet: vars, then the body follows
    s.to_backend.assign(4, '\0');
    s.to_backend_off = 0;
    struct Ctx {
        std::string *out;
        bool chunked;
    } ctx{&s.to_backend, head.chunked};
    Refusal vr = build_vars(head, {s.remote_addr, s.remote_port, s.local_addr, s.local_port},
                            cfg_.max_vars, s.scratch,
                            [](void *c, const char *k, size_t kl, const char *v, size_t vl) {
                                auto *out = static_cast<Ctx *>(c)->out;
                                // the worker gets the body de-chunked, with a CONTENT_LENGTH
                                if (static_cast<Ctx *>(c)->chunked &&
                                    std::string_view(k, kl) == "HTTP_TRANSFER_ENCODING")
                                    return 0;
                                if (!uwsgi::packet::append_item(*out, {k, kl}) ||
                                    !uwsgi::packet::append_item(*out, {v, vl}))
                                    return 1;
                                return 0;
                            },
                            &ctx);
    // as uWSGI's https router: the app's wsgi.url_scheme is https
    if (!vr && s.tls && (!uwsgi::packet::append_item(s.to_backend, "HTTPS") ||
                         !uwsgi::packet::append_item(s.to_backend, "on")))
        vr = {500, "cannot add HTTPS to the request vars"};
    if (vr || s.to_backend.size() - 4 > 0xffff) {
        answer_error(s, vr ? vr.status : 431, vr ? vr.reason : "request vars larger than 64 KiB");
        return false;
    }
    set_block_size(s.to_backend);
    s.upgrade = false;
    for (const HeaderField &h : *head.headers)
        if (iequals(h.name, "upgrade") && iequals(trim_ows(h.value), "websocket")) s.upgrade = true;
    s.wants.http11 = head.version == 11;
    s.wants.is_head = head.is_head;
    s.wants.keep_alive = cfg_.keepalive && head.keep_alive;
    s.wants.auto_chunked = cfg_.auto_chunked;
    s.body_left = head.content_length;
    if (head.expect_continue && (s.body_left > 0 || head.chunked))
        s.to_client += "HTTP/1.1 100 Continue\r\n\r\n";
    s.in_begin = used;  // what follows the head: body bytes (and maybe a pipelined request)
    s.response_started = false;
    s.from_backend.clear();
    s.body_relayed = 0;
    s.plan = {};
    if (head.chunked) {
        s.phase = Session::Phase::collecting;
        s.body.clear();
        return collect_chunked(s);
    }
    size_t body_now = size_t(std::min<uint64_t>(s.body_left, s.in_end - s.in_begin));
    s.to_backend.append(s.in.get() + s.in_begin, body_now);
    s.in_begin += body_now;
    s.body_left -= body_now;
    s.parser.reset();
    return start_backend(s);
}

// The most of a chunked request body the router collects without --limit-post.
constexpr size_t kChunkedBodyCap = 64 << 20;

// A chunked request body is de-chunked (by the head's parser) and collected whole, so the worker
// gets it with a CONTENT_LENGTH: the uwsgi protocol frames a body by its length. uWSGI's router
// refuses to read it unless --http-chunked-input, and then passes the chunks raw for the app's
// uwsgi.chunked_read(); every WSGI app reads this one from wsgi.input.
bool Router::collect_chunked(Session &s) {
    char sink[16384];
    const size_t cap = cfg_.limit_post ? size_t(cfg_.limit_post) : kChunkedBodyCap;
    for (;;) {
        bool need_more = true;
        if (s.in_begin < s.in_end) {
            s.parser->set_body_sink(sink, sizeof sink);
            Refusal r;
            size_t used = s.parser->feed(s.in.get() + s.in_begin, s.in_end - s.in_begin,
                                         need_more, r);
            s.in_begin += used;
            if (r) {
                answer_error(s, r.status, r.reason);
                return false;
            }
            s.body.append(sink, s.parser->body_written());
            if (s.body.size() > cap) {
                answer_error(s, 413, "chunked request body larger than --limit-post (or 64 MiB)");
                return false;
            }
            if (s.parser->is_done()) break;
            if (!need_more && used > 0) continue;  // a chunk header went by, or the sink was full
        }
        // wants more input: what is left moves to the front of the buffer
        std::memmove(s.in.get(), s.in.get() + s.in_begin, s.in_end - s.in_begin);
        s.in_end -= s.in_begin;
        s.in_begin = 0;
        if (s.in_end == s.in_cap) {
            answer_error(s, 400, "chunk header or trailers too long");
            return false;
        }
        return true;
    }
    s.parser.reset();
    std::string length = std::to_string(s.body.size());
    if (!uwsgi::packet::append_item(s.to_backend, "CONTENT_LENGTH") ||
        !uwsgi::packet::append_item(s.to_backend, length) || s.to_backend.size() - 4 > 0xffff) {
        answer_error(s, 431, "request vars larger than 64 KiB");
        return false;
    }
    set_block_size(s.to_backend);
    s.to_backend += s.body;
    std::string().swap(s.body);  // its memory goes back now, not when the session ends
    s.body_left = 0;
    return start_backend(s);
}

bool Router::start_backend(Session &s) {
    const std::string &addr = backends_[next_backend_++ % backends_.size()];
    sockaddr_storage ss;
    socklen_t len;
    if (!resolve(addr, ss, len)) {
        answer_error(s, 502, "cannot resolve the worker address");
        return false;
    }
    s.backend = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    s.backend_events = 0;
    s.backend_added = false;
    if (s.backend < 0 || (connect(s.backend, reinterpret_cast<sockaddr *>(&ss), len) != 0 &&
                          errno != EINPROGRESS)) {
        answer_error(s, 502, "cannot connect to the workers");
        return false;
    }
    s.phase = Session::Phase::connecting;
    s.deadline = now_ms() + cfg_.timeout_ms;
    return true;
}

void Router::pump_body(Session &s) {
    // body bytes still in the buffer first, then straight from the socket
    if (s.in_begin == s.in_end) s.in_begin = s.in_end = 0;
    if (s.in_end == s.in_begin) {
        ssize_t n = client_recv(s, s.in.get(), s.in_cap);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return close_session(s);
        if (n < 0) return;
        s.in_begin = 0;
        s.in_end = size_t(n);
    }
    size_t take = size_t(std::min<uint64_t>(s.body_left, s.in_end - s.in_begin));
    s.to_backend.assign(s.in.get() + s.in_begin, take);
    s.to_backend_off = 0;
    s.in_begin += take;
    s.body_left -= take;
}

void Router::on_backend(Session &s, uint32_t ev) {
    s.deadline = now_ms() + cfg_.timeout_ms;
    if (s.phase == Session::Phase::connecting && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.backend, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) return answer_error(s, 502, "cannot connect to the workers");
        s.phase = Session::Phase::forwarding;
    }
    if (s.phase != Session::Phase::forwarding && s.phase != Session::Phase::tunnel)
        return watch(s);
    if (!send_backend(s)) return;
    if (s.to_backend_off == s.to_backend.size() && s.body_left > 0 && s.in_begin < s.in_end)
        pump_body(s);  // more body already buffered
    if (s.phase == Session::Phase::done) return;
    if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) &&
        s.to_client.size() - s.to_client_off < kClientBacklog)
        if (!read_backend(s)) return;
    if (s.phase == Session::Phase::done) return;
    watch(s);
}

// Writes what is queued for the worker. false when the session ended.
bool Router::send_backend(Session &s) {
    while (s.to_backend_off < s.to_backend.size()) {
        ssize_t n = send(s.backend, s.to_backend.data() + s.to_backend_off,
                         s.to_backend.size() - s.to_backend_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (!s.response_started) answer_error(s, 502, "the worker went away");
            else close_session(s);
            return false;
        }
        s.to_backend_off += size_t(n);
    }
    return true;
}

// Tunnel: what the client sends goes to the worker unchanged; its close ends the session.
void Router::pump_tunnel(Session &s) {
    ssize_t n = client_recv(s, s.in.get(), s.in_cap);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return close_session(s);
    if (n < 0) return;
    s.to_backend.assign(s.in.get(), size_t(n));
    s.to_backend_off = 0;
}

// The worker switched protocols (101 to a WebSocket request): its head goes to the client as it
// is, and so does every byte after it, both ways (what the client sent after its head first).
bool Router::start_tunnel(Session &s) {
    s.phase = Session::Phase::tunnel;
    s.close_after = true;
    s.to_client.append(s.from_backend);
    s.from_backend.clear();
    s.to_backend.assign(s.in.get() + s.in_begin, s.in_end - s.in_begin);
    s.to_backend_off = 0;
    s.in_begin = s.in_end = 0;
    return send_backend(s) && write_client(s);
}

// Reads what the worker answered and reframes it for the client.
bool Router::read_backend(Session &s) {
    char buf[65536];
    ssize_t n = recv(s.backend, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (n > 0 && s.phase == Session::Phase::tunnel) {
        s.to_client.append(buf, size_t(n));
        return write_client(s);
    }
    if (n <= 0) {  // the worker's close ends its answer (or the tunnel)
        drop_backend(s);
        if (s.phase == Session::Phase::tunnel) {
            s.phase = Session::Phase::draining;
            return write_client(s);
        }
        if (!s.response_started) {
            answer_error(s, 502, "the worker closed without an answer");
            return false;
        }
        if (s.plan.chunk) s.to_client += kLastChunk;
        bool complete = !s.plan.has_length || s.body_relayed >= s.plan.content_length || s.plan.no_body;
        if (!complete || !s.plan.keep_alive || s.body_left > 0) s.close_after = true;
        s.phase = Session::Phase::draining;
        return write_client(s);
    }
    std::string_view piece(buf, size_t(n));
    if (!s.response_started) {
        s.from_backend.append(piece);
        std::string head;
        RelayPlan p = plan_response(s.from_backend, 65536, s.wants, head);
        if (p.bad) {
            answer_error(s, 502, "the worker's answer is no HTTP head");
            return false;
        }
        if (!p.head_complete) return true;
        if (s.upgrade && switches_protocols(s.from_backend)) {
            s.response_started = true;
            return start_tunnel(s);
        }
        s.plan = p;
        s.response_started = true;
        s.to_client += head;
        piece = std::string_view(s.from_backend).substr(p.head_length);
    }
    if (s.plan.no_body) piece = {};
    if (s.plan.has_length) {
        uint64_t room = s.plan.content_length - std::min(s.plan.content_length, s.body_relayed);
        if (piece.size() > room) piece = piece.substr(0, size_t(room));
    }
    s.body_relayed += piece.size();
    if (s.plan.chunk) append_chunk(s.to_client, piece);
    else s.to_client.append(piece);
    if (!s.from_backend.empty() && s.response_started) s.from_backend.clear();
    return write_client(s);
}

// Writes what is queued for the client. false when the session ended.
bool Router::write_client(Session &s) {
    while (s.to_client_off < s.to_client.size()) {
        ssize_t n = client_send(s, s.to_client.data() + s.to_client_off,
                                s.to_client.size() - s.to_client_off);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close_session(s);
            return false;
        }
        s.to_client_off += size_t(n);
    }
    s.to_client.clear();
    s.to_client_off = 0;
    if (s.phase == Session::Phase::draining) {  // the whole answer is out
        if (s.close_after) {
            end_tls(s);
            shutdown(s.client, SHUT_WR);
            close_session(s);
            return false;
        }
        next_request(s);
    }
    return true;
}

// Keep-alive: the connection waits for its next request (maybe already buffered).
void Router::next_request(Session &s) {
    s.phase = Session::Phase::head;
    s.response_started = false;
    s.deadline = now_ms() + cfg_.timeout_ms;
    if (s.in_begin < s.in_end) {
        read_head(s);
        if (s.phase == Session::Phase::done) return;
    }
    watch(s);
}

}  // namespace

bool bind_router_sockets(const uwsgi_host &host, const RouterConfig &cfg, std::vector<int> &fds,
                         std::string &error) {
    const bool core_binds =
        host.struct_size >= offsetof(uwsgi_host, listen_socket) + sizeof host.listen_socket;
    for (const RouterListen &l : cfg.listen) {
        const std::string &addr = l.address;
        if (core_binds) {  // kept across reloads: clients wait in the backlog, never refused
            char reason[512];
            int fd = host.listen_socket(l.option.c_str(), addr.c_str(), reason, sizeof reason);
            if (fd < 0) {
                error = reason;
                return false;
            }
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            fds.push_back(fd);
            continue;
        }
        sockaddr_storage ss;
        socklen_t len;
        if (!resolve(addr, ss, len)) {
            error = "--" + l.option + " " + addr + ": not an address (host:port, :port or a UNIX path)";
            return false;
        }
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (ss.ss_family != AF_UNIX) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        else unlink(addr.c_str());
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 || listen(fd, 1024) != 0) {
            error = "--" + l.option + " " + addr + ": cannot listen (" + std::strerror(errno) + ")";
            if (fd >= 0) close(fd);
            return false;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fds.push_back(fd);
    }
    return true;
}

int run_router(const uwsgi_host &host, const RouterConfig &cfg, const std::vector<int> &listeners,
               const std::vector<std::string> &backends, int index) {
    std::string msg = "router " + std::to_string(index) + " (pid " + std::to_string(getpid()) +
                      ") passes requests to";
    for (auto &b : backends) msg += " " + b;
    log(host, UWSGI_LOG_INFO, msg);
    Router r(host, cfg, listeners, backends);
    return r.run();
}

void stop_router() { g_stop.store(true); }

}  // namespace uwsgi_http
