// libFuzzer target: the http plugin's whole request path against a fake core. The input is the
// bytes a client sends on one --http-socket connection (after two knob bytes that pick the
// limits, --enable-proxy-protocol and how the bytes arrive): heads are parsed, vars built,
// bodies read (de-chunked), answers framed, keep-alive and pipelining followed, until the
// connection would close. With the PROXY protocol the bytes may also sit in a real socket
// behind conn_fd, so the header is peeked and taken in clear as on --https-socket.
// PATH_INFO normalisation is also checked on its own against its invariants.
#include "connection.hpp"
#include "path.hpp"
#include "request_vars.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>
#include <string>
#include <string_view>

using namespace uwsgi_http;

struct uwsgi_conn {
    const uint8_t *data;
    size_t size, pos;
    size_t piece;  // most bytes one conn_read returns
    size_t written;
    int fd;  // >= 0: the bytes are in this socket (its peer closed), conn_read reads it
};

struct uwsgi_request {
    size_t nvars = 0;
    size_t bytes = 0;
    bool has_path = false;
};

namespace {

void fake_log(int, const char *, const char *msg, size_t len) {
    if (len && !msg) abort();
}
int fake_add_var(uwsgi_request *req, const char *k, size_t kl, const char *v, size_t vl) {
    if ((kl && !k) || (vl && !v)) abort();
    // touch every byte, so ASan sees a view that points outside live memory
    for (size_t i = 0; i < kl; ++i) req->bytes += static_cast<unsigned char>(k[i]);
    for (size_t i = 0; i < vl; ++i) req->bytes += static_cast<unsigned char>(v[i]);
    if (std::string_view(k, kl) == "PATH_INFO") {
        req->has_path = true;
        if (vl == 0 || (v[0] != '/' && std::string_view(v, vl) != "*")) abort();
    }
    ++req->nvars;
    return UWSGI_OK;
}
void fake_set_modifiers(uwsgi_request *, uint8_t, uint8_t) {}
int64_t fake_read(uwsgi_conn *c, void *buf, size_t len) {
    if (c->fd >= 0) {
        ssize_t got = recv(c->fd, buf, std::min(len, c->piece), MSG_DONTWAIT);
        return got < 0 ? UWSGI_EPEER : got;
    }
    size_t n = std::min({len, c->piece, c->size - c->pos});
    std::memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return static_cast<int64_t>(n);
}
int fake_write(uwsgi_conn *c, const void *buf, size_t len) {
    if (len && !buf) abort();
    c->written += len;
    return UWSGI_OK;
}
// linger() shuts the socket's writing side and drains it: harmless on the closed pair
int fake_fd(const uwsgi_conn *c) { return c->fd; }
int fake_peer(const uwsgi_conn *, uwsgi_str *addr, uint16_t *port) {
    *addr = {"192.0.2.7", 9};
    *port = 40000;
    return UWSGI_OK;
}
int fake_local(const uwsgi_conn *, uwsgi_str *addr, uint16_t *port) {
    *addr = {"127.0.0.1", 9};
    *port = 9090;
    return UWSGI_OK;
}

uwsgi_host make_host() {
    uwsgi_host h{};
    h.struct_size = sizeof h;
    h.log = fake_log;
    h.req_add_var = fake_add_var;
    h.req_set_modifiers = fake_set_modifiers;
    h.conn_read = fake_read;
    h.conn_write = fake_write;
    h.conn_fd = fake_fd;
    h.conn_peer = fake_peer;
    h.conn_local = fake_local;
    return h;
}

// PATH_INFO never climbs above "/", never keeps a "." or ".." segment, never grows.
void check_path(std::string_view raw) {
    std::string out;
    if (normalize_path(raw, out) != PathResult::ok) return;
    if (out.empty() || out[0] != '/' || out.size() > raw.size()) abort();
    size_t start = 1;
    for (;;) {
        size_t end = out.find('/', start);
        std::string_view seg(out.data() + start,
                             (end == std::string::npos ? out.size() : end) - start);
        if (seg == "." || seg == "..") abort();
        if (end == std::string::npos) break;
        start = end + 1;
    }
}

void serve(const uwsgi_host &host, const Config &cfg, uwsgi_conn &conn, uint8_t knobs) {
    Connection c(host, cfg, &conn);
    for (int i = 0; i < 32; ++i) {
        uwsgi_request req;
        if (c.read_request(&req) != 1) return;
        if (!req.has_path) abort();
        // read the body in small pieces (or leave it for finish() to drain)
        if (knobs & 0x10) {
            char buf[37];
            for (int j = 0; j < 4096; ++j) {
                int64_t n = c.read_body(&req, buf, sizeof buf);
                if (n < 0) break;
                if (n == 0) break;
                if (n > int64_t(sizeof buf)) abort();
            }
        }
        static const char body[] = "Hello World";
        if (knobs & 0x20) {  // Content-Length answer
            uwsgi_header h[] = {{{"Content-Length", 14}, {"11", 2}}};
            if (c.write_head(&req, {"200 OK", 6}, h, 1) == UWSGI_OK)
                c.write_body(&req, body, 11);
        } else {  // chunked or close-delimited, depending on the request's version
            uwsgi_header h[] = {{{"Content-Type", 12}, {"text/plain", 10}}};
            if (c.write_head(&req, {"200", 3}, h, 1) == UWSGI_OK) {
                c.write_body(&req, body, 5);
                c.write_body(&req, body + 5, 6);
            }
        }
        if (c.finish(&req) != 1) return;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 256 * 1024) return 0;
    const uint8_t knobs = data[0], piece = data[1];
    data += 2;
    size -= 2;

    check_path(std::string_view(reinterpret_cast<const char *>(data), size));

    static const uwsgi_host host = make_host();
    Config cfg;  // what host->setting() gives with the core's defaults
    cfg.buffer_size = 4096;
    cfg.max_vars = 64;
    cfg.head_timeout_ms = 4000;
    if (knobs & 1) cfg.buffer_size = 256;  // small heads: the 431 paths
    if (knobs & 2) cfg.limit_post = 100;   // the 413 paths
    if (knobs & 4) cfg.max_vars = 8;
    cfg.proxy_protocol = knobs & 0x40;
    uwsgi_conn conn{data, size, 0, (knobs & 8) ? size_t(piece % 16 + 1) : size + 1, 0, -1};
    int pair[2] = {-1, -1};
    // the bytes in a socket (as much as its buffer takes at once), the writer closed
    if ((knobs & 0x80) && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0) {
        if (send(pair[1], data, std::min<size_t>(size, 64 * 1024), MSG_DONTWAIT) < 0) {
        }
        close(pair[1]);
        conn.fd = pair[0];
    }
    serve(host, cfg, conn, knobs);
    if (conn.fd >= 0) close(conn.fd);
    return 0;
}
