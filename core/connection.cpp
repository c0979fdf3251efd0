#include "connection.hpp"

#include "tls.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace core {

static void describe(const sockaddr_storage &ss, std::string &addr, uint16_t &port) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (ss.ss_family == AF_INET) {
        auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        port = ntohs(a->sin6_port);
    } else if (ss.ss_family == AF_UNIX) {
        buf[0] = 0;  // UNIX peers are anonymous
        port = 0;
    }
    addr = buf;
}

void describe_peers(uwsgi_conn &conn) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getpeername(conn.fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0)
        describe(ss, conn.peer_addr, conn.peer_port);
    len = sizeof ss;
    if (getsockname(conn.fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0)
        describe(ss, conn.local_addr, conn.local_port);
}

bool wait_ready(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

int64_t conn_read(uwsgi_conn *conn, void *buf, size_t len) {
    if (conn->tls) return tls_read(conn, buf, len);
    for (;;) {
        ssize_t n = recv(conn->fd, buf, len, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return UWSGI_EPEER;
        if (!wait_ready(conn->fd, POLLIN, conn->timeout_ms)) return UWSGI_EPEER;
    }
}

int conn_write(uwsgi_conn *conn, const void *buf, size_t len) {
    if (conn->tls) return tls_write(conn, buf, len);
    if (int r = flush_pending_body(conn); r != UWSGI_OK) return r;
    auto *p = static_cast<const char *>(buf);
    while (len > 0) {
        ssize_t n = send(conn->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            wait_ready(conn->fd, POLLOUT, conn->timeout_ms))
            continue;
        return UWSGI_EPEER;
    }
    return UWSGI_OK;
}

namespace {

// sendfile(2) until count bytes left, waiting for room at most --socket-timeout each time.
int sendfile_now(uwsgi_conn *conn, int fd, int64_t offset, int64_t count) {
    off_t off = offset;
    while (count > 0) {
        ssize_t n = sendfile(conn->fd, fd, &off, size_t(count));
        if (n > 0) {
            count -= n;
            continue;
        }
        if (n == 0) return UWSGI_ERROR;  // the file is shorter than promised
        if (errno == EINTR) continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
            wait_ready(conn->fd, POLLOUT, conn->timeout_ms))
            continue;
        return UWSGI_EPEER;
    }
    return UWSGI_OK;
}

}  // namespace

int conn_sendfile(uwsgi_conn *conn, int fd, int64_t offset, int64_t count) {
    if (conn->tls) {  // TLS bytes go through OpenSSL, never as raw sendfile: not offloaded
        conn->offload_sendfile = false;
        return tls_sendfile(conn, fd, offset, count);
    }
    if (int r = flush_pending_body(conn); r != UWSGI_OK) return r;
    if (conn->offload_sendfile) {
        conn->offload_sendfile = false;
        // the request thread returns at once; the worker hands the body over when it is done
        conn->pending_file = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (conn->pending_file >= 0) {
            conn->pending_offset = offset;
            conn->pending_count = count;
            return UWSGI_OK;
        }
    }
    return sendfile_now(conn, fd, offset, count);
}

int flush_pending_body(uwsgi_conn *conn) {
    if (conn->pending_file < 0) return UWSGI_OK;
    int r = sendfile_now(conn, conn->pending_file, conn->pending_offset, conn->pending_count);
    drop_pending_body(conn);
    return r;
}

void drop_pending_body(uwsgi_conn *conn) {
    if (conn->pending_file < 0) return;
    close(conn->pending_file);
    conn->pending_file = -1;
}

}  // namespace core
