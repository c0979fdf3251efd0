#include "tls.hpp"

#include "config.hpp"
#include "connection.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace core {
namespace {

// OpenSSL's reason for the last failure of this thread, for a log line or an error.
std::string openssl_reason() {
    unsigned long e = ERR_get_error();
    if (!e) return "no detail from OpenSSL";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

std::string next_field(const std::string &value, size_t &pos) {
    if (pos == std::string::npos) return {};
    size_t comma = value.find(',', pos);
    std::string field = value.substr(pos, comma == std::string::npos ? comma : comma - pos);
    pos = comma == std::string::npos ? comma : comma + 1;
    return field;
}

// A failed session: the peer spoke no TLS, or broke it. What it sent is dropped before the
// close, so the close is a FIN and not a reset in the client's face.
void drop_input(int fd) {
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
}

// The session broke with OpenSSL's error `err`: no more I/O on it. 0 when the peer only went
// away (read as EOF), else UWSGI_EPEER; a failed handshake is logged.
int session_failed(uwsgi_conn *conn, int err) {
    const bool peer_vanished = err == SSL_ERROR_SYSCALL && errno == 0;
    conn->tls_failed = true;
    if (err == SSL_ERROR_SSL && !SSL_is_init_finished(conn->tls))
        spdlog::warn("TLS handshake with {}:{} failed ({}); connection closed", conn->peer_addr,
                     conn->peer_port, openssl_reason());
    ERR_clear_error();
    drop_input(conn->fd);
    // a peer gone without close_notify (SSL_OP_IGNORE_UNEXPECTED_EOF) reads as EOF
    return peer_vanished ? 0 : UWSGI_EPEER;
}

// One OpenSSL call that wants the socket: waits for what it asked for, bounded by the
// connection's timeout. >0 done; 0 clean end of stream; <0 failure (logged once per session).
template <typename Call>
int drive(uwsgi_conn *conn, Call call) {
    SSL *ssl = conn->tls;
    for (;;) {
        ERR_clear_error();
        int n = call(ssl);
        if (n > 0) return n;
        int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (wait_ready(conn->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                           conn->timeout_ms))
                continue;
            return UWSGI_EPEER;
        }
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        return session_failed(conn, err);
    }
}

// One OpenSSL call that must not wait: >0 done; 0 clean end; UWSGI_TLS_WANT_READ/WRITE: call
// again when the socket is readable/writable; UWSGI_EPEER: the session failed.
template <typename Call>
int64_t once(uwsgi_conn *conn, Call call) {
    if (conn->tls_failed) return UWSGI_EPEER;
    ERR_clear_error();
    int n = call(conn->tls);
    if (n > 0) return n;
    int err = SSL_get_error(conn->tls, n);
    if (err == SSL_ERROR_WANT_READ) return UWSGI_TLS_WANT_READ;
    if (err == SSL_ERROR_WANT_WRITE) return UWSGI_TLS_WANT_WRITE;
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    return session_failed(conn, err);
}

}  // namespace

TlsSpec parse_tls_spec(const std::string &option, const std::string &value) {
    TlsSpec s;
    size_t pos = 0;
    s.address = next_field(value, pos);
    s.cert = next_field(value, pos);
    s.key = next_field(value, pos);
    s.ciphers = next_field(value, pos);
    s.ca = next_field(value, pos);
    if (s.address.empty() || s.cert.empty() || s.key.empty())
        throw ConfigError(fmt::format("--{} {}: expected ADDR,CERT,KEY[,CIPHERS,CA] (a PEM "
                                      "certificate and its private key)",
                                      option, value));
    return s;
}

std::shared_ptr<ssl_ctx_st> make_server_tls(const std::string &option, const TlsSpec &spec) {
    std::shared_ptr<ssl_ctx_st> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    const std::string where = fmt::format("--{} {}", option, spec.address);
    if (!ctx) throw ConfigError(fmt::format("{}: OpenSSL: {}", where, openssl_reason()));
    SSL_CTX *c = ctx.get();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    // a client that closes without close_notify (most do between keep-alive requests) is EOF
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(c, spec.cert.c_str()) != 1)
        throw ConfigError(fmt::format("{}: cannot load certificate {} ({}): give a readable PEM "
                                      "certificate file",
                                      where, spec.cert, openssl_reason()));
    const bool key_loaded = SSL_CTX_use_PrivateKey_file(c, spec.key.c_str(), SSL_FILETYPE_PEM) == 1;
    // OpenSSL compares the key with the certificate as it loads it
    if (!key_loaded && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
        throw ConfigError(fmt::format("{}: private key {} does not match certificate {}: give "
                                      "the key the certificate was made for",
                                      where, spec.key, spec.cert));
    if (!key_loaded)
        throw ConfigError(fmt::format("{}: cannot load private key {} ({}): give a readable PEM "
                                      "key file without a passphrase",
                                      where, spec.key, openssl_reason()));
    if (SSL_CTX_check_private_key(c) != 1)
        throw ConfigError(fmt::format("{}: private key {} does not match certificate {} ({}): "
                                      "give the key the certificate was made for",
                                      where, spec.key, spec.cert, openssl_reason()));
    if (!spec.ciphers.empty() && SSL_CTX_set_cipher_list(c, spec.ciphers.c_str()) != 1)
        throw ConfigError(fmt::format("{}: no usable cipher in '{}' ({}): give an OpenSSL cipher "
                                      "list such as HIGH:!aNULL",
                                      where, spec.ciphers, openssl_reason()));
    if (!spec.ca.empty()) {
        bool mandatory = spec.ca[0] == '!';
        std::string ca = mandatory ? spec.ca.substr(1) : spec.ca;
        if (SSL_CTX_load_verify_locations(c, ca.c_str(), nullptr) != 1)
            throw ConfigError(fmt::format("{}: cannot load CA file {} ({})", where, ca,
                                          openssl_reason()));
        if (STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca.c_str()))
            SSL_CTX_set_client_CA_list(c, names);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | (mandatory ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           nullptr);
    }
    static const unsigned char kSessionContext[] = "uwsgi";
    SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
    return ctx;
}

bool tls_attach(uwsgi_conn &conn, ssl_ctx_st *ctx) {
    conn.tls = SSL_new(ctx);
    if (conn.tls && SSL_set_fd(conn.tls, conn.fd) == 1) {
        SSL_set_accept_state(conn.tls);
        return true;
    }
    spdlog::error("cannot start a TLS session: {}", openssl_reason());
    if (conn.tls) SSL_free(conn.tls);
    conn.tls = nullptr;
    return false;
}

void tls_detach(uwsgi_conn &conn) {
    if (!conn.tls) return;
    // one non-blocking try: the peer learns the stream ended on purpose; it is not waited for
    if (!conn.tls_failed && SSL_is_init_finished(conn.tls)) {
        ERR_clear_error();
        SSL_shutdown(conn.tls);
    }
    ERR_clear_error();
    SSL_free(conn.tls);
    conn.tls = nullptr;
}

bool tls_pending(const uwsgi_conn &conn) { return conn.tls && SSL_pending(conn.tls) > 0; }

int64_t tls_read(uwsgi_conn *conn, void *buf, size_t len) {
    if (conn->tls_failed) return UWSGI_EPEER;
    int want = len > size_t(INT32_MAX) ? INT32_MAX : int(len);
    return drive(conn, [&](SSL *ssl) { return SSL_read(ssl, buf, want); });
}

int tls_write(uwsgi_conn *conn, const void *buf, size_t len) {
    auto *p = static_cast<const char *>(buf);
    while (len > 0) {
        if (conn->tls_failed) return UWSGI_EPEER;
        int chunk = len > size_t(INT32_MAX) ? INT32_MAX : int(len);
        int n = drive(conn, [&](SSL *ssl) { return SSL_write(ssl, p, chunk); });
        if (n <= 0) return UWSGI_EPEER;
        p += n;
        len -= size_t(n);
    }
    return UWSGI_OK;
}

ssize_t tls_read_now(uwsgi_conn *conn, void *buf, size_t len) {
    int64_t n = tls_recv_now(conn, buf, len);
    if (n >= 0) return ssize_t(n);
    errno = n == UWSGI_TLS_WANT_READ || n == UWSGI_TLS_WANT_WRITE ? EAGAIN : EPIPE;
    return -1;
}

int64_t tls_recv_now(uwsgi_conn *conn, void *buf, size_t len) {
    int want = len > size_t(INT32_MAX) ? INT32_MAX : int(len);
    return once(conn, [&](SSL *ssl) { return SSL_read(ssl, buf, want); });
}

int64_t tls_send_now(uwsgi_conn *conn, const void *buf, size_t len) {
    int want = len > size_t(INT32_MAX) ? INT32_MAX : int(len);
    int64_t n = once(conn, [&](SSL *ssl) { return SSL_write(ssl, buf, want); });
    return n == 0 ? UWSGI_EPEER : n;  // a write has no clean end
}

// No sendfile(2) through TLS: the file is read in record-sized pieces and encrypted.
int tls_sendfile(uwsgi_conn *conn, int fd, int64_t offset, int64_t count) {
    char piece[16384];
    while (count > 0) {
        size_t want = count < int64_t(sizeof piece) ? size_t(count) : sizeof piece;
        ssize_t n = pread(fd, piece, want, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return UWSGI_ERROR;  // unreadable, or shorter than promised
        if (int rc = tls_write(conn, piece, size_t(n)); rc != UWSGI_OK) return rc;
        offset += n;
        count -= n;
    }
    return UWSGI_OK;
}

}  // namespace core
