#include "plugin_tls.hpp"

#include "config.hpp"
#include "connection.hpp"
#include "error_text.hpp"
#include "tls.hpp"

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <vector>

namespace core {
namespace {

// Contexts live as long as the process: plugins keep the pointer across fork.
std::vector<std::shared_ptr<ssl_ctx_st>> &contexts() {
    static std::vector<std::shared_ptr<ssl_ctx_st>> all;
    return all;
}

}  // namespace

void *plugin_tls_server(const char *option, const char *value, char *error, size_t error_size) {
    try {
        auto ctx = make_server_tls(option, parse_tls_spec(option, value ? value : ""));
        static std::mutex guard;
        std::lock_guard<std::mutex> lock(guard);
        contexts().push_back(ctx);
        return ctx.get();
    } catch (const std::exception &e) {
        copy_error_text(e.what(), error, error_size);
        return nullptr;
    }
}

// A session is a uwsgi_conn that carries only the fd, the peer (for the log) and the SSL.
void *plugin_tls_accept(void *ctx, int fd) {
    auto conn = std::make_unique<uwsgi_conn>();
    conn->fd = fd;
    describe_peers(*conn);
    if (!tls_attach(*conn, static_cast<ssl_ctx_st *>(ctx))) return nullptr;
    // the router retries a write with its queue, which may have grown and moved meanwhile
    SSL_set_mode(conn->tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return conn.release();
}

int64_t plugin_tls_recv(void *session, void *buf, size_t len) {
    return tls_recv_now(static_cast<uwsgi_conn *>(session), buf, len);
}

int64_t plugin_tls_send(void *session, const void *buf, size_t len) {
    return tls_send_now(static_cast<uwsgi_conn *>(session), buf, len);
}

int plugin_tls_pending(void *session) {
    return tls_pending(*static_cast<uwsgi_conn *>(session)) ? 1 : 0;
}

void plugin_tls_close(void *session) {
    auto *conn = static_cast<uwsgi_conn *>(session);
    if (!conn) return;
    tls_detach(*conn);
    delete conn;
}

}  // namespace core
