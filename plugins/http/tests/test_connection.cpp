// The whole protocol against a fake core: scripted socket input, captured output.
#include "connection.hpp"

// The replacement operator new/delete below pair malloc/free; GCC cannot see that through
// inlining and warns about mismatched pairs.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <deque>
#include <random>
#include <new>
#include <map>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace uwsgi_http;

struct uwsgi_conn {
    std::deque<std::string> input;  // each conn_read returns at most one piece
    // a real socket behind conn_fd (the PROXY header in clear); conn_read still returns
    // `input`, as the core's TLS layer returns decrypted bytes, not the socket's
    int fd = -1;
    std::string output;
    int writes = 0;
    std::vector<std::string> logs;
};

struct uwsgi_request {
    std::map<std::string, std::string> vars;
    bool keep_vars = true;  // false: count them only (for the allocation test)
    size_t nvars = 0;
    uint8_t m1 = 255, m2 = 255;
};

// Counts heap allocations while enabled, to prove the steady state allocates nothing.
static bool g_count_allocs = false;
static size_t g_allocs = 0;
void *operator new(size_t n) {
    if (g_count_allocs) ++g_allocs;
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
// Catch allocates with the nothrow form; replaced too, so every block reaches free() from malloc()
// (a sanitizer's own nothrow new would not pair with the free() below)
void *operator new(size_t n, const std::nothrow_t &) noexcept {
    if (g_count_allocs) ++g_allocs;
    return std::malloc(n ? n : 1);
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, size_t) noexcept { std::free(p); }

namespace {

uwsgi_conn *g_conn = nullptr;

void fake_log(int, const char *, const char *msg, size_t len) {
    if (g_conn) g_conn->logs.emplace_back(msg, len);
}
int fake_add_var(uwsgi_request *req, const char *k, size_t kl, const char *v, size_t vl) {
    ++req->nvars;
    if (!req->keep_vars) return UWSGI_OK;
    req->vars[std::string(k, kl)] = std::string(v, vl);
    return UWSGI_OK;
}
void fake_set_modifiers(uwsgi_request *req, uint8_t m1, uint8_t m2) {
    req->m1 = m1;
    req->m2 = m2;
}
int64_t fake_read(uwsgi_conn *c, void *buf, size_t len) {
    if (c->input.empty()) return 0;
    auto &piece = c->input.front();
    size_t n = std::min(len, piece.size());
    std::memcpy(buf, piece.data(), n);
    piece.erase(0, n);
    if (piece.empty()) c->input.pop_front();
    return static_cast<int64_t>(n);
}
int fake_write(uwsgi_conn *c, const void *buf, size_t len) {
    c->output.append(static_cast<const char *>(buf), len);
    ++c->writes;
    return UWSGI_OK;
}
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

// The limits the core would hand over with its defaults (buffer-size 4096, max-vars 64,
// socket-timeout 4 s, no limit-post).
Config test_config() {
    Config c;
    c.buffer_size = 4096;
    c.max_vars = 64;
    c.head_timeout_ms = 4000;
    return c;
}

struct Fixture {
    uwsgi_host host = make_host();
    Config cfg = test_config();
    uwsgi_conn conn;
    std::optional<Connection> c;
    Fixture() { g_conn = &conn; }
    ~Fixture() { g_conn = nullptr; }
    Connection &open() {
        c.emplace(host, cfg, &conn);
        return *c;
    }
    std::string read_all_body(uwsgi_request &req, size_t piece = 4) {
        std::string body;
        char buf[64];
        for (;;) {
            int64_t n = c->read_body(&req, buf, std::min(piece, sizeof buf));
            REQUIRE(n >= 0);
            if (n == 0) return body;
            body.append(buf, static_cast<size_t>(n));
        }
    }
    // A native handler: echo the body with a Content-Length.
    int respond(uwsgi_request &req, const std::string &body, bool with_length = true) {
        std::string len = std::to_string(body.size());
        uwsgi_header h[] = {{{"Content-Length", 14}, {len.data(), len.size()}}};
        REQUIRE(c->write_head(&req, {"200", 3}, h, with_length ? 1 : 0) == UWSGI_OK);
        if (!body.empty()) REQUIRE(c->write_body(&req, body.data(), body.size()) == UWSGI_OK);
        return c->finish(&req);
    }
};

}  // namespace

TEST_CASE("keep-alive: two requests on one connection, head+body in one write", "[conn]") {
    Fixture f;
    f.conn.input = {"GET /one HTTP/1.1\r\nHost: h\r\n\r\n", "GET /two?q HTTP/1.1\r\n", "Host: h\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r1;
    REQUIRE(c.read_request(&r1) == 1);
    CHECK(r1.vars["PATH_INFO"] == "/one");
    CHECK(r1.vars["REMOTE_ADDR"] == "192.0.2.7");
    CHECK(r1.vars["REMOTE_PORT"] == "40000");
    CHECK(r1.m1 == 0);
    CHECK(r1.m2 == 0);
    CHECK(f.read_all_body(r1).empty());
    CHECK(f.respond(r1, "hi") == 1);
    CHECK(f.conn.output == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(f.conn.writes == 1);

    uwsgi_request r2;
    REQUIRE(c.read_request(&r2) == 1);
    CHECK(r2.vars["PATH_INFO"] == "/two");
    CHECK(r2.vars["QUERY_STRING"] == "q");
    CHECK(f.respond(r2, "") == 1);
    uwsgi_request r3;
    CHECK(c.read_request(&r3) == 0);  // clean close between requests
}

TEST_CASE("pipelined requests are served in order", "[conn]") {
    Fixture f;
    f.conn.input = {"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r1, r2, r3;
    REQUIRE(c.read_request(&r1) == 1);
    CHECK(r1.vars["PATH_INFO"] == "/a");
    CHECK(f.respond(r1, "A") == 1);
    CHECK(c.has_pending() == 1);
    REQUIRE(c.read_request(&r2) == 1);
    CHECK(r2.vars["PATH_INFO"] == "/b");
    CHECK(f.read_all_body(r2) == "xyz");
    CHECK(f.respond(r2, "B") == 1);
    CHECK(c.has_pending() == 1);
    REQUIRE(c.read_request(&r3) == 1);
    CHECK(r3.vars["PATH_INFO"] == "/c");
    CHECK(f.respond(r3, "C") == 1);
    CHECK(c.has_pending() == 0);
}

TEST_CASE("an unread body is drained before the next request", "[conn]") {
    Fixture f;
    f.conn.input = {"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234", "56789",
                    "GET /b HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r1, r2;
    REQUIRE(c.read_request(&r1) == 1);
    CHECK(f.respond(r1, "x") == 1);
    REQUIRE(c.read_request(&r2) == 1);
    CHECK(r2.vars["PATH_INFO"] == "/b");
}

TEST_CASE("chunked upload, fragmented", "[conn]") {
    Fixture f;
    f.conn.input = {"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r",
                    "\nWiki\r\n5\r\npe", "dia\r\n0\r\n", "\r\n", "GET /next HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r1, r2;
    REQUIRE(c.read_request(&r1) == 1);
    CHECK(r1.vars.count("CONTENT_LENGTH") == 0);
    CHECK(r1.vars["HTTP_TRANSFER_ENCODING"] == "chunked");
    CHECK(f.read_all_body(r1, 3) == "Wikipedia");
    CHECK(f.respond(r1, "ok") == 1);
    REQUIRE(c.read_request(&r2) == 1);
    CHECK(r2.vars["PATH_INFO"] == "/next");
}

TEST_CASE("a last chunk arriving a byte at a time (Beast asserted on it)", "[conn]") {
    Fixture f;
    f.conn.input = {"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                    "0", "\r", "\n", "\r", "\n", "GET /next HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r1, r2;
    REQUIRE(c.read_request(&r1) == 1);
    CHECK(f.read_all_body(r1, 2) == "abc");
    CHECK(f.respond(r1, "ok") == 1);
    REQUIRE(c.read_request(&r2) == 1);
    CHECK(r2.vars["PATH_INFO"] == "/next");
}

TEST_CASE("100-continue is sent when the app first reads the body", "[conn]") {
    Fixture f;
    f.conn.input = {"POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n", "body"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    CHECK(f.conn.output.empty());
    CHECK(f.read_all_body(r) == "body");
    CHECK(f.conn.output == "HTTP/1.1 100 Continue\r\n\r\n");
    CHECK(f.respond(r, "") == 1);
}

TEST_CASE("100-continue never sent when the app ignores the body: connection closes", "[conn]") {
    Fixture f;
    f.conn.input = {"POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    CHECK(f.respond(r, "no") == 0);
    CHECK(f.conn.output.find("100 Continue") == std::string::npos);
}

TEST_CASE("HEAD: framing headers kept, body dropped", "[conn]") {
    Fixture f;
    f.conn.input = {"HEAD / HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    CHECK(f.respond(r, "Hello") == 1);
    CHECK(f.conn.output == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
}

TEST_CASE("chunked response without a length", "[conn]") {
    Fixture f;
    f.conn.input = {"GET / HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    REQUIRE(c.write_head(&r, {"200", 3}, nullptr, 0) == UWSGI_OK);
    REQUIRE(c.write_body(&r, "abc", 3) == UWSGI_OK);
    std::string big(Connection::coalesce_limit + 10, 'z');
    REQUIRE(c.write_body(&r, big.data(), big.size()) == UWSGI_OK);
    REQUIRE(c.write_body(&r, "de", 2) == UWSGI_OK);
    CHECK(c.finish(&r) == 1);
    CHECK(f.conn.output == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" +
                               [&] {
                                   char h[16];
                                   std::snprintf(h, sizeof h, "%zx", big.size());
                                   return std::string(h);
                               }() +
                               "\r\n" + big + "\r\n2\r\nde\r\n0\r\n\r\n");
}

TEST_CASE("HTTP/1.0: close-delimited unless a length allows keep-alive", "[conn]") {
    Fixture f;
    f.conn.input = {"GET / HTTP/1.0\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    REQUIRE(c.write_head(&r, {"200", 3}, nullptr, 0) == UWSGI_OK);
    REQUIRE(c.write_body(&r, "abc", 3) == UWSGI_OK);
    CHECK(c.finish(&r) == 0);
    CHECK(f.conn.output == "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nabc");

    Fixture g;
    g.conn.input = {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"};
    auto &d = g.open();
    uwsgi_request r2;
    REQUIRE(d.read_request(&r2) == 1);
    CHECK(g.respond(r2, "abc") == 1);
    CHECK(g.conn.output ==
          "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc");
}

TEST_CASE("Connection: close from the client", "[conn]") {
    Fixture f;
    f.conn.input = {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    CHECK(f.respond(r, "abc") == 0);
    CHECK(f.conn.output == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
}

TEST_CASE("bad input gets an HTTP answer and one log line", "[conn]") {
    struct Row {
        std::string input;
        int status;
    };
    std::vector<Row> rows = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 413},
        {"GET / HTTP/1.1\r\nX: " + std::string(5000, 'a') + "\r\n\r\n", 431},
        {"GET /%00 HTTP/1.1\r\n\r\n", 400},
    };
    for (const auto &row : rows) {
        Fixture f;
        f.cfg.limit_post = 10;
        f.conn.input = {row.input};
        auto &c = f.open();
        uwsgi_request r;
        INFO(row.input.substr(0, 60));
        CHECK(c.read_request(&r) < 0);
        CHECK(f.conn.output.rfind("HTTP/1.1 " + std::to_string(row.status) + " ", 0) == 0);
        CHECK(f.conn.output.find("Connection: close\r\n") != std::string::npos);
        REQUIRE(f.conn.logs.size() == 1);
        CHECK(f.conn.logs[0].find("192.0.2.7:40000") != std::string::npos);
    }
}

TEST_CASE("a head over buffer-size arriving in pieces is 431", "[conn]") {
    Fixture f;
    f.cfg.buffer_size = 256;
    for (int i = 0; i < 40; ++i) f.conn.input.push_back("X-Header-" + std::to_string(i) + ": v\r\n");
    f.conn.input.push_front("GET / HTTP/1.1\r\n");
    auto &c = f.open();
    uwsgi_request r;
    CHECK(c.read_request(&r) < 0);
    CHECK(f.conn.output.rfind("HTTP/1.1 431 ", 0) == 0);
}

TEST_CASE("a chunked body over limit-post: 413 when the app answered nothing", "[conn]") {
    Fixture f;
    f.cfg.limit_post = 5;
    f.conn.input = {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    char buf[64];
    CHECK(c.read_body(&r, buf, sizeof buf) == 4);
    CHECK(c.read_body(&r, buf, sizeof buf) == UWSGI_ELIMIT);
    CHECK(c.finish(&r) == 0);
    CHECK(f.conn.output.rfind("HTTP/1.1 413 ", 0) == 0);
}

TEST_CASE("the app writing less than its Content-Length closes the connection", "[conn]") {
    Fixture f;
    f.conn.input = {"GET / HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    uwsgi_header h[] = {{{"Content-Length", 14}, {"10", 2}}};
    REQUIRE(c.write_head(&r, {"200", 3}, h, 1) == UWSGI_OK);
    REQUIRE(c.write_body(&r, "abc", 3) == UWSGI_OK);
    CHECK(c.finish(&r) == 0);
}

TEST_CASE("add-header lines go on every response", "[conn]") {
    Fixture f;
    f.cfg.extra_headers = "X-Served-By: test\r\n";
    f.conn.input = {"GET / HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    f.respond(r, "");
    CHECK(f.conn.output.find("X-Served-By: test\r\n") != std::string::npos);
}

TEST_CASE("modifiers come from the config", "[conn]") {
    Fixture f;
    f.cfg.modifier1 = 173;
    f.cfg.modifier2 = 5;
    f.conn.input = {"GET / HTTP/1.1\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    CHECK(r.m1 == 173);
    CHECK(r.m2 == 5);
}

TEST_CASE("a chunked answer cut short by a body error is not terminated", "[conn]") {
    Fixture f;
    f.cfg.limit_post = 5;
    f.conn.input = {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    REQUIRE(c.write_head(&r, {"200", 3}, nullptr, 0) == UWSGI_OK);
    char buf[64];
    int64_t n = c.read_body(&r, buf, sizeof buf);
    REQUIRE(n == 4);
    REQUIRE(c.write_body(&r, buf, size_t(n)) == UWSGI_OK);
    CHECK(c.read_body(&r, buf, sizeof buf) == UWSGI_ELIMIT);
    CHECK(c.finish(&r) == 0);
    CHECK(f.conn.output == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n");
}

TEST_CASE("a body error before the answer started: the app's answer is complete", "[conn]") {
    Fixture f;
    f.cfg.limit_post = 5;
    f.conn.input = {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabcdefghi\r\n0\r\n\r\n"};
    auto &c = f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    char buf[64];
    CHECK(c.read_body(&r, buf, sizeof buf) == UWSGI_ELIMIT);
    REQUIRE(c.write_head(&r, {"413", 3}, nullptr, 0) == UWSGI_OK);
    CHECK(c.finish(&r) == 0);
    CHECK(f.conn.output == "HTTP/1.1 413 Content Too Large\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// --enable-proxy-protocol on --https-socket: the header comes in clear before the ClientHello
// (HAProxy, AWS NLB). The socket holds header + "ClientHello"; conn_read stands for the TLS
// layer (it returns `input`, the decrypted stream).
struct ClearHeader {
    Fixture f;
    int peer = -1;
    ClearHeader() {
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
        f.conn.fd = sv[0];
        peer = sv[1];
        f.cfg.proxy_protocol = true;
    }
    ~ClearHeader() {
        close(f.conn.fd);
        close(peer);
    }
    void send(const std::string &bytes) {
        REQUIRE(::send(peer, bytes.data(), bytes.size(), 0) == ssize_t(bytes.size()));
    }
    std::string left_in_socket() {
        char buf[256];
        ssize_t n = recv(f.conn.fd, buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 ? std::string(buf, size_t(n)) : std::string();
    }
};

TEST_CASE("a PROXY header in clear is taken from the socket, and only its bytes", "[conn][proxy]") {
    ClearHeader t;
    t.send("PROXY TCP4 203.0.113.7 198.51.100.2 40000 443\r\n\x16\x03\x01hello");
    t.f.conn.input = {"GET /a HTTP/1.1\r\n\r\n", "GET /b HTTP/1.1\r\n\r\n"};
    auto &c = t.f.open();
    uwsgi_request r1, r2;
    REQUIRE(c.read_request(&r1) == 1);
    CHECK(r1.vars["REMOTE_ADDR"] == "203.0.113.7");
    CHECK(r1.vars["REMOTE_PORT"] == "40000");
    CHECK(r1.vars["SERVER_PORT"] == "443");
    CHECK(t.f.respond(r1, "A") == 1);
    REQUIRE(c.read_request(&r2) == 1);  // every request of the connection
    CHECK(r2.vars["REMOTE_ADDR"] == "203.0.113.7");
    CHECK(t.left_in_socket() == "\x16\x03\x01hello");  // the ClientHello, for OpenSSL
}

TEST_CASE("a PROXY v2 header in clear arriving in pieces", "[conn][proxy]") {
    ClearHeader t;
    const std::string header("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"
                             "\xc6\x33\x64\x14\x0a\x00\x00\x01\xc9\x3b\x01\xbb", 28);
    t.send(header.substr(0, 5));
    std::thread rest([&] {
        usleep(50 * 1000);  // the connection waits for the rest of the header, then takes it
        t.send(header.substr(5) + "\x16");
    });
    t.f.conn.input = {"GET / HTTP/1.1\r\n\r\n"};
    auto &c = t.f.open();
    uwsgi_request r;
    int rc = c.read_request(&r);
    rest.join();
    REQUIRE(rc == 1);
    CHECK(r.vars["REMOTE_ADDR"] == "198.51.100.20");
    CHECK(r.vars["REMOTE_PORT"] == "51515");
    CHECK(t.left_in_socket() == "\x16");
}

TEST_CASE("no PROXY header in clear: looked for inside the stream, as uWSGI", "[conn][proxy]") {
    ClearHeader t;
    t.send("\x16\x03\x01hello");  // a ClientHello first
    t.f.conn.input = {"PROXY TCP4 203.0.113.9 198.51.100.2 1 2\r\nGET / HTTP/1.1\r\n\r\n"};
    auto &c = t.f.open();
    uwsgi_request r;
    REQUIRE(c.read_request(&r) == 1);
    CHECK(r.vars["REMOTE_ADDR"] == "203.0.113.9");
    CHECK(t.left_in_socket() == "\x16\x03\x01hello");  // untouched
}

TEST_CASE("a broken PROXY header in clear closes the connection with a log line", "[conn][proxy]") {
    for (const char *bad : {"PROXY TCP4 1.2.3.4 5.6.7.8 99999 443\r\n", "PROX\x16\x03\x01"}) {
        ClearHeader t;
        t.send(bad);
        t.f.conn.input = {"GET / HTTP/1.1\r\n\r\n"};
        auto &c = t.f.open();
        uwsgi_request r;
        CHECK(c.read_request(&r) == UWSGI_ERROR);
        REQUIRE(t.f.conn.logs.size() == 1);
        CHECK(t.f.conn.logs[0].find("no valid PROXY protocol header") != std::string::npos);
    }
}

TEST_CASE("no heap allocation per request after the connection's first", "[conn][alloc]") {
    Fixture f;
    const std::string get =
        "GET /a/../b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: a\r\nAccept: b\r\n"
        "User-Agent: test\r\n\r\n";
    const std::string post_cl = "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";
    const std::string post_chunked =
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    const int rounds = 50;
    for (int i = 0; i < rounds + 1; ++i) {
        f.conn.input.push_back(get + post_cl);  // pipelined pair
        f.conn.input.push_back(post_chunked);
    }
    f.conn.output.reserve(1 << 20);
    auto &c = f.open();
    uwsgi_request req;
    req.keep_vars = false;
    char buf[64];
    uwsgi_header h[] = {{{"Content-Type", 12}, {"text/plain", 10}}};
    // No Catch assertions while counting: some reporters (junit) allocate for every assertion.
    auto serve = [&] {
        if (c.read_request(&req) != 1) return false;
        while (c.read_body(&req, buf, sizeof buf) > 0) {
        }
        return c.write_head(&req, {"200", 3}, h, 1) == UWSGI_OK &&
               c.write_body(&req, "hello", 5) == UWSGI_OK && c.finish(&req) == 1;
    };
    for (int i = 0; i < 3; ++i) REQUIRE(serve());  // warm-up: the connection's first requests
    g_allocs = 0;
    g_count_allocs = true;
    ::operator delete(::operator new(16));  // the counter works (not elidable)
    g_count_allocs = false;
    REQUIRE(g_allocs == 1);
    g_allocs = 0;
    g_count_allocs = true;
    int served = 0;
    for (int i = 0; i < 3 * rounds; ++i) served += serve();
    g_count_allocs = false;
    CHECK(served == 3 * rounds);
    CHECK(g_allocs == 0);
}

// Mutated and arbitrarily fragmented requests: whatever comes in, the connection answers or
// refuses without crashing, and never reads past what it was given (run under ASan to see it).
TEST_CASE("mutation smoke test", "[conn][fuzz]") {
    const std::vector<std::string> seeds = {
        "GET /a/../b%20c?x=1 HTTP/1.1\r\nHost: h:1\r\nA: 1\r\nA: 2\r\n\r\n",
        "POST /e HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET // HTTP/1.1\r\n\r\n",
    };
    std::mt19937 rng(12345);
    const char alphabet[] = "\r\n :%./0123456789abcdefABCDEF;,-\t\x00\xff";
    for (int iter = 0; iter < 3000; ++iter) {
        std::string in = seeds[rng() % seeds.size()];
        int mutations = static_cast<int>(rng() % 4);
        for (int m = 0; m < mutations && !in.empty(); ++m) {
            size_t pos = rng() % in.size();
            switch (rng() % 3) {
            case 0: in[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
            case 1: in.erase(pos, 1 + rng() % 4); break;
            default: in.insert(pos, 1 + rng() % 3, alphabet[rng() % (sizeof alphabet - 1)]);
            }
        }
        Fixture f;
        f.cfg.buffer_size = 64 + rng() % 128;
        f.cfg.limit_post = rng() % 2 ? 0 : 4;
        for (size_t pos = 0; pos < in.size();) {
            size_t n = 1 + rng() % 16;
            f.conn.input.push_back(in.substr(pos, n));
            pos += n;
        }
        auto &c = f.open();
        for (int req_no = 0; req_no < 4; ++req_no) {
            uwsgi_request r;
            if (c.read_request(&r) != 1) break;
            char buf[7];
            for (int k = 0; k < 100 && c.read_body(&r, buf, sizeof buf) > 0; ++k) {
            }
            c.write_head(&r, {"200", 3}, nullptr, 0);
            c.write_body(&r, "ok", 2);
            if (c.finish(&r) != 1) break;
        }
    }
    SUCCEED();
}
