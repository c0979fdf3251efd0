#include "response_head.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

using namespace uwsgi_http;

namespace {
uwsgi_header hdr(const char *n, const char *v) {
    return {{n, std::strlen(n)}, {v, std::strlen(v)}};
}
}  // namespace

TEST_CASE("reason phrase filled in; chunked for HTTP/1.1 without a length", "[response]") {
    std::string out;
    ResponsePlan plan;
    uwsgi_header h[] = {hdr("Content-Type", "text/plain")};
    REQUIRE(build_response_head(out, "200", h, 1, "", {11, false, true}, plan) == nullptr);
    CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(plan.framing == Framing::chunked);
    CHECK(plan.keep_alive);
}

TEST_CASE("the app's Content-Length is kept and used", "[response]") {
    std::string out;
    ResponsePlan plan;
    uwsgi_header h[] = {hdr("Content-Length", "5")};
    REQUIRE(build_response_head(out, "404 Nope", h, 1, "X-Extra: 1\r\n", {11, false, true}, plan) ==
            nullptr);
    CHECK(out == "HTTP/1.1 404 Nope\r\nContent-Length: 5\r\nX-Extra: 1\r\n\r\n");
    CHECK(plan.framing == Framing::length);
    CHECK(plan.content_length == 5);
}

TEST_CASE("HTTP/1.0 framing", "[response]") {
    std::string out;
    ResponsePlan plan;
    REQUIRE(build_response_head(out, "200", nullptr, 0, "", {10, false, true}, plan) == nullptr);
    CHECK(plan.framing == Framing::close);
    CHECK_FALSE(plan.keep_alive);
    CHECK(out == "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n");

    out.clear();
    uwsgi_header h[] = {hdr("Content-Length", "0")};
    REQUIRE(build_response_head(out, "200", h, 1, "", {10, false, true}, plan) == nullptr);
    CHECK(plan.keep_alive);
    CHECK(out == "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("HEAD and bodiless statuses get no framing", "[response]") {
    std::string out;
    ResponsePlan plan;
    REQUIRE(build_response_head(out, "200", nullptr, 0, "", {11, true, true}, plan) == nullptr);
    CHECK(plan.framing == Framing::none);
    CHECK(plan.keep_alive);
    CHECK(out == "HTTP/1.1 200 OK\r\n\r\n");
    out.clear();
    REQUIRE(build_response_head(out, "304", nullptr, 0, "", {11, false, true}, plan) == nullptr);
    CHECK(plan.framing == Framing::none);
    CHECK(out == "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST_CASE("Connection from the app: close honoured, header replaced", "[response]") {
    std::string out;
    ResponsePlan plan;
    uwsgi_header h[] = {hdr("Connection", "close"), hdr("Content-Length", "2")};
    REQUIRE(build_response_head(out, "200 OK", h, 2, "", {11, false, true}, plan) == nullptr);
    CHECK_FALSE(plan.keep_alive);
    CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
}

TEST_CASE("bad statuses and headers are refused", "[response]") {
    std::string out;
    ResponsePlan plan;
    CHECK(build_response_head(out, "OK", nullptr, 0, "", {}, plan) != nullptr);
    CHECK(build_response_head(out, "20", nullptr, 0, "", {}, plan) != nullptr);
    CHECK(build_response_head(out, "200OK", nullptr, 0, "", {}, plan) != nullptr);
    CHECK(build_response_head(out, "200 OK\r\nX: y", nullptr, 0, "", {}, plan) != nullptr);
    uwsgi_header split[] = {hdr("X", "a\r\nSet-Cookie: evil")};
    CHECK(build_response_head(out, "200", split, 1, "", {}, plan) != nullptr);
    uwsgi_header badlen[] = {hdr("Content-Length", "abc")};
    CHECK(build_response_head(out, "200", badlen, 1, "", {}, plan) != nullptr);
    CHECK(out.empty());
}

TEST_CASE("error answers and chunk sizes", "[response]") {
    std::string out;
    build_error_response(out, 431, "");
    CHECK(out ==
          "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
          "Content-Length: 32\r\nConnection: close\r\n\r\nRequest Header Fields Too Large\n");
    out.clear();
    append_chunk_size(out, 0);
    append_chunk_size(out, 255);
    append_chunk_size(out, 4096);
    CHECK(out == "0\r\nff\r\n1000\r\n");
}
