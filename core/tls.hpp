// TLS on the core's connections (--https-socket): the listener's OpenSSL context, made once in
// the master, and each connection's session, driven through conn_read/conn_write so protocols
// (the http plugin) read and write exactly as on a plain socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

struct uwsgi_conn;
struct ssl_ctx_st;

namespace core {

// uWSGI's "ADDR,CERT,KEY[,CIPHERS,CA]" (a CA starting with '!' makes a client certificate
// mandatory; otherwise one is asked for and checked when sent).
struct TlsSpec {
    std::string address, cert, key, ciphers, ca;
};

// Splits the value of OPTION; throws ConfigError naming what is missing.
TlsSpec parse_tls_spec(const std::string &option, const std::string &value);

// A server context with the certificate and its key (checked to match), the ciphers and the CA.
// Throws ConfigError naming the file, OpenSSL's reason and the fix.
std::shared_ptr<ssl_ctx_st> make_server_tls(const std::string &option, const TlsSpec &spec);

// Starts a server session on conn->fd; false (logged) when OpenSSL cannot allocate one.
bool tls_attach(uwsgi_conn &conn, ssl_ctx_st *ctx);
// Ends the session before the socket is closed: close_notify when the handshake completed.
void tls_detach(uwsgi_conn &conn);
// Decrypted bytes OpenSSL holds that the protocol has not read yet.
bool tls_pending(const uwsgi_conn &conn);

// The TLS forms of conn_read/conn_write/conn_sendfile (same return codes and timeouts).
int64_t tls_read(uwsgi_conn *conn, void *buf, size_t len);
int tls_write(uwsgi_conn *conn, const void *buf, size_t len);
int tls_sendfile(uwsgi_conn *conn, int fd, int64_t offset, int64_t count);
// One read that does not wait (the caller polls on EAGAIN): >0 bytes; -1 with errno EAGAIN when no whole
// record is there yet; 0 or -1 (another errno) when the session ended, as recv(2).
ssize_t tls_read_now(uwsgi_conn *conn, void *buf, size_t len);
// host->tls_recv/tls_send (plugin.h): one SSL_read/SSL_write that never waits; >0 bytes, 0 clean
// end (recv), UWSGI_TLS_WANT_READ/UWSGI_TLS_WANT_WRITE, or UWSGI_EPEER.
int64_t tls_recv_now(uwsgi_conn *conn, void *buf, size_t len);
int64_t tls_send_now(uwsgi_conn *conn, const void *buf, size_t len);

}  // namespace core
