// libFuzzer target: the uwsgi binary protocol. The input is what a client sends on a --socket
// connection: it goes through the core's own read_request/read_body over a socketpair, and
// through the codec directly, whose decode must re-encode to the same bytes.
#include "request.hpp"
#include "settings.hpp"
#include <uwsgi/packet.hpp>
#include "uwsgi_protocol.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace core;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    spdlog::set_level(spdlog::level::off);  // one warning per refused packet otherwise
    return 0;
}

static void check_codec(const uint8_t *data, size_t size) {
    if (size < uwsgi::packet::kHeaderSize) return;
    auto h = uwsgi::packet::decode_header(data);
    std::string again;
    uwsgi::packet::append_header(again, h);
    if (std::memcmp(again.data(), data, uwsgi::packet::kHeaderSize) != 0) abort();

    std::string_view block(reinterpret_cast<const char *>(data) + 4,
                           std::min<size_t>(size - 4, h.size));
    std::string rebuilt;
    bool ok = uwsgi::packet::for_each_var(block, [&](std::string_view k, std::string_view v) {
        if (k.data() < block.data() || v.data() + v.size() > block.data() + block.size()) abort();
        return uwsgi::packet::append_item(rebuilt, k) && uwsgi::packet::append_item(rebuilt, v);
    });
    if (ok && rebuilt != block) abort();  // a well-formed block is exactly its vars
}

static void check_protocol(const uint8_t *data, size_t size) {
    Settings s;
    s.limit_post = (size & 1) ? 1000 : 0;  // both the unlimited and the 413 path
    set_settings(s);

    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) abort();
    int sndbuf = 1 << 20;
    setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fds[1], data + off, size - off);
        if (n <= 0) abort();
        off += size_t(n);
    }
    shutdown(fds[1], SHUT_WR);  // the client is done: reads end with EOF, never block

    uwsgi_conn conn;
    conn.fd = fds[0];
    conn.timeout_ms = 100;
    const uwsgi_protocol &p = uwsgi_socket_protocol();
    conn.protocol = &p;
    conn.state = p.conn_open(&conn);
    uwsgi_request req;
    req.configure(s.buffer_size, s.max_vars);
    req.reset(&conn, 1);
    int r = p.read_request(conn.state, &req);
    if (r == 1) {
        for (auto &v : req.vars)  // every var lies inside what was received
            if (v.key.size() > size || v.value.size() > size) abort();
        char buf[512];
        size_t total = 0;
        for (;;) {
            int64_t n = p.read_body(conn.state, &req, buf, sizeof buf);
            if (n <= 0) break;
            total += size_t(n);
            if (total > size) abort();  // more body than bytes sent
        }
    }
    p.conn_close(conn.state);
    close(fds[0]);
    close(fds[1]);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    check_codec(data, size);
    check_protocol(data, size);
    return 0;
}
