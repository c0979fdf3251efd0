#include "rpc_client.hpp"

#include "rpc_codec.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace rpc {

namespace {

// Closes the socket on every return path.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

std::string sys_error(const char *what) { return std::string(what) + ": " + std::strerror(errno); }

// How long the next wait may take: each wait --socket-timeout at most, all of them together
// the call's deadline.
struct Budget {
    int io_ms;
    int deadline_ms;
    std::chrono::steady_clock::time_point end;

    Budget(int io, int deadline)
        : io_ms(io), deadline_ms(deadline),
          end(std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline)) {}
    int64_t left_ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   end - std::chrono::steady_clock::now())
            .count();
    }
};

// Waits for `events`; false with why set on timeout or error.
bool wait_for(int fd, short events, const Budget &budget, const char *doing, std::string &why) {
    pollfd p{fd, events, 0};
    for (;;) {
        int64_t left = budget.left_ms();
        bool deadline_first = left < budget.io_ms;
        int n = left <= 0 ? 0 : poll(&p, 1, deadline_first ? int(left) : budget.io_ms);
        if (n > 0) return true;
        if (n == 0) {
            why = deadline_first ? "the whole call took longer than " +
                                       std::to_string(budget.deadline_ms) + " ms (--rpc-timeout) " +
                                       doing
                                 : std::string("timed out after ") +
                                       std::to_string(budget.io_ms) + " ms " + doing +
                                       " (--socket-timeout)";
            return false;
        }
        if (errno != EINTR) {
            why = sys_error("poll");
            return false;
        }
    }
}

bool connect_to(int fd, const sockaddr *sa, socklen_t len, const Budget &budget,
                std::string &why) {
    if (connect(fd, sa, len) == 0) return true;
    if (errno != EINPROGRESS && errno != EINTR) {
        why = sys_error("connect");
        return false;
    }
    if (!wait_for(fd, POLLOUT, budget, "connecting", why)) return false;
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    if (err != 0) {
        why = std::string("connect: ") + std::strerror(err);
        return false;
    }
    return true;
}

int new_socket(int family, std::string &why) {
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) why = sys_error("socket");
    return fd;
}

bool parse_port(std::string_view s, uint16_t &port) {
    if (s.empty() || s.size() > 5) return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + unsigned(c - '0');
    }
    if (v == 0 || v > 65535) return false;
    port = uint16_t(v);
    return true;
}

// Opens a connected socket to node, or returns -1 with why set.
int open_node(std::string_view node, const Budget &budget, std::string &why) {
    bool is_unix = node.find('/') != std::string_view::npos || node.front() == '@' ||
                   node.find(':') == std::string_view::npos;
    if (is_unix) {
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        if (node.size() >= sizeof sa.sun_path) {
            why = "UNIX socket path longer than " + std::to_string(sizeof sa.sun_path - 1) +
                  " bytes";
            return -1;
        }
        std::memcpy(sa.sun_path, node.data(), node.size());
        if (node.front() == '@') sa.sun_path[0] = '\0';  // abstract namespace
        socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + node.size() +
                                  (node.front() == '@' ? 0 : 1));
        Fd s{new_socket(AF_UNIX, why)};
        if (s.fd < 0 || !connect_to(s.fd, reinterpret_cast<sockaddr *>(&sa), len, budget, why))
            return -1;
        int fd = s.fd;
        s.fd = -1;
        return fd;
    }

    std::string host;
    std::string_view port_text;
    if (node.front() == '[') {
        size_t close = node.find("]:");
        if (close == std::string_view::npos) {
            why = "bad node address (expected [v6-address]:port)";
            return -1;
        }
        host.assign(node.substr(1, close - 1));
        port_text = node.substr(close + 2);
    } else {
        size_t colon = node.rfind(':');
        host.assign(node.substr(0, colon));
        port_text = node.substr(colon + 1);
    }
    uint16_t port = 0;
    if (!parse_port(port_text, port)) {
        why = "bad port '" + std::string(port_text) + "' in node address";
        return -1;
    }
    if (host.empty()) host = "127.0.0.1";

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo *res = nullptr;
    std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
        why = "cannot resolve '" + host + "': " + gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    for (addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        Fd s{new_socket(ai->ai_family, why)};
        if (s.fd < 0 || !connect_to(s.fd, ai->ai_addr, ai->ai_addrlen, budget, why)) continue;
        fd = s.fd;
        s.fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

bool write_all(int fd, const char *p, size_t n, const Budget &budget, std::string &why) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= size_t(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd, POLLOUT, budget, "sending the request", why)) return false;
            continue;
        }
        why = sys_error("send");
        return false;
    }
    return true;
}

// Reads exactly n bytes, appending them to out. `closed` tells the peer's close from a timeout.
bool read_exact(int fd, std::string &out, size_t n, const Budget &budget, const char *what,
                std::string &why, bool *closed = nullptr) {
    char buf[65536];
    size_t want = n;
    while (n > 0) {
        ssize_t r = recv(fd, buf, n < sizeof buf ? n : sizeof buf, 0);
        if (r > 0) {
            out.append(buf, size_t(r));
            n -= size_t(r);
            continue;
        }
        if (r == 0) {
            if (closed) *closed = true;
            why = std::string("connection closed after ") + std::to_string(want - n) + " of " +
                  std::to_string(want) + " bytes of " + what;
            return false;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(fd, POLLIN, budget, "waiting for the answer", why)) return false;
            continue;
        }
        why = sys_error("recv");
        return false;
    }
    return true;
}

}  // namespace

int call_remote(std::string_view node, std::string_view name, size_t argc, const uwsgi_str *argv,
                int io_timeout_ms, std::string &result, std::string &why,
                const CallBounds &bounds) {
    result.clear();
    const Budget budget(io_timeout_ms, bounds.deadline_ms);
    std::string packet;
    if (int rc = codec::encode_request(packet, name, argc, argv, &why); rc != UWSGI_OK) return rc;
    if (node.empty()) {
        why = "empty node address";
        return UWSGI_ERROR;
    }

    Fd s{open_node(node, budget, why)};
    if (s.fd < 0) return UWSGI_ERROR;
    if (!write_all(s.fd, packet.data(), packet.size(), budget, why)) return UWSGI_ERROR;

    std::string head;
    bool closed = false;
    if (!read_exact(s.fd, head, codec::kHeaderSize, budget, "the answer header", why,
                    &closed)) {
        if (closed && head.empty())
            why = "the node closed the connection without an answer (the function is unknown "
                  "there, failed, or returned nothing: see that node's log)";
        return UWSGI_ERROR;
    }
    codec::Header h = codec::decode_header(reinterpret_cast<const unsigned char *>(head.data()));
    if (h.modifier1 != codec::kModifier1) {
        why = "not an RPC answer (modifier1 " + std::to_string(h.modifier1) + ", expected 173)";
        return UWSGI_ERROR;
    }
    if (h.modifier2 == codec::kModifier2Big) {
        std::string vars;
        if (!read_exact(s.fd, vars, h.size, budget, "the answer's vars block", why))
            return UWSGI_ERROR;
        uint64_t len = 0;
        if (!codec::big_answer_length(vars, len, &why)) return UWSGI_ERROR;
        if (len > bounds.max_answer) {
            why = "the node announces an answer of " + std::to_string(len) +
                  " bytes, over --rpc-max-answer " + std::to_string(bounds.max_answer) +
                  "; refused unread";
            return UWSGI_ELIMIT;
        }
        // Grow as bytes arrive rather than trusting the announced length with one allocation.
        result.reserve(size_t(len < (16u << 20) ? len : (16u << 20)));
        if (!read_exact(s.fd, result, size_t(len), budget, "the answer", why))
            return UWSGI_ERROR;
    } else if (h.modifier2 == codec::kModifier2Framed) {
        if (h.size > bounds.max_answer) {
            why = "answer of " + std::to_string(h.size) + " bytes is over --rpc-max-answer " +
                  std::to_string(bounds.max_answer) + "; refused unread";
            return UWSGI_ELIMIT;
        }
        if (!read_exact(s.fd, result, h.size, budget, "the answer", why)) return UWSGI_ERROR;
    } else {
        why = "unexpected answer modifier2 " + std::to_string(h.modifier2);
        return UWSGI_ERROR;
    }
    if (result.empty()) {
        why = "empty answer (uWSGI nodes treat an empty result as a failure)";
        return UWSGI_ERROR;
    }
    return UWSGI_OK;
}

}  // namespace rpc
