// The router's reframing of a worker's answer for its client.
#include "response_relay.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace uwsgi_http;

namespace {
ClientWants keepalive11() {
    ClientWants w;
    w.keep_alive = w.http11 = true;
    return w;
}
}  // namespace

TEST_CASE("an answer with Content-Length keeps the client connection", "[relay]") {
    std::string out;
    std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    RelayPlan p = plan_response(in, 65536, keepalive11(), out);
    REQUIRE(p.head_complete);
    CHECK(p.has_length);
    CHECK(p.content_length == 5);
    CHECK(p.keep_alive);
    CHECK(p.head_length == in.size() - 5);
    CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("an answer without length is chunked only with auto-chunked on HTTP/1.1", "[relay]") {
    std::string in = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    std::string out;
    RelayPlan p = plan_response(in, 65536, keepalive11(), out);
    CHECK_FALSE(p.chunk);
    CHECK_FALSE(p.keep_alive);
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    ClientWants w = keepalive11();
    w.auto_chunked = true;
    out.clear();
    p = plan_response(in, 65536, w, out);
    CHECK(p.chunk);
    CHECK(p.keep_alive);
    CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    w.http11 = false;
    out.clear();
    CHECK_FALSE(plan_response(in, 65536, w, out).chunk);
    std::string framed;
    append_chunk(framed, "abc");
    append_chunk(framed, "");
    CHECK(framed == "3\r\nabc\r\n");
}

TEST_CASE("HEAD, 204 and 304 answers have no body and keep the connection", "[relay]") {
    for (const char *in : {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n"}) {
        std::string out;
        RelayPlan p = plan_response(in, 65536, keepalive11(), out);
        CHECK(p.no_body);
        CHECK(p.keep_alive);
    }
    ClientWants w = keepalive11();
    w.is_head = true;
    std::string out;
    CHECK(plan_response("HTTP/1.1 200 OK\r\n\r\n", 65536, w, out).no_body);
}

TEST_CASE("a worker answer that is no HTTP head is refused", "[relay]") {
    std::string out;
    CHECK(plan_response("garbage\r\n\r\n", 65536, keepalive11(), out).bad);
    CHECK(plan_response("HTTP/1.1 2x0 OK\r\n\r\n", 65536, keepalive11(), out).bad);
    CHECK(plan_response("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 65536, keepalive11(), out).bad);
    CHECK(plan_response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 65536,
                        keepalive11(), out).bad);
    CHECK(plan_response(std::string(100, 'H'), 64, keepalive11(), out).bad);
    RelayPlan partial = plan_response("HTTP/1.1 200 OK\r\nX: y", 65536, keepalive11(), out);
    CHECK_FALSE(partial.bad);
    CHECK_FALSE(partial.head_complete);
}
