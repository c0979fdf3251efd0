#include "request_parser.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using namespace uwsgi_http;

namespace {

struct Parsed {
    std::string input;
    std::vector<HeaderField> headers;
    std::optional<RequestParser> parser;
    Refusal refusal;
    bool need_more = false;
    size_t used = 0;

    explicit Parsed(std::string in, ParserLimits limits = {4096, 0}) : input(std::move(in)) {
        parser.emplace(limits, headers);
        parser->set_input_range(input.data(), input.data() + input.size());
        used = parser->feed(input.data(), input.size(), need_more, refusal);
    }
};

// De-chunks `input` starting after its head, in sink pieces of `piece` bytes.
std::string dechunk(Parsed &p, size_t piece, Refusal &refusal) {
    std::string body;
    size_t pos = p.used;
    std::string sink(piece, '\0');
    while (!p.parser->is_done()) {
        p.parser->set_body_sink(sink.data(), sink.size());
        bool need_more = false;
        size_t used = p.parser->feed(p.input.data() + pos, p.input.size() - pos, need_more, refusal);
        pos += used;
        body.append(sink.data(), p.parser->body_written());
        if (refusal || (need_more && pos == p.input.size())) break;
    }
    return body;
}

}  // namespace

TEST_CASE("a simple GET head", "[parser]") {
    Parsed p("GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
    REQUIRE_FALSE(p.refusal);
    REQUIRE(p.parser->is_header_done());
    const auto &h = p.parser->head();
    CHECK(h.method == "GET");
    CHECK(h.target == "/a?b=c");
    CHECK(h.version == 11);
    CHECK(h.keep_alive);
    CHECK_FALSE(h.chunked);
    CHECK_FALSE(h.has_content_length);
    REQUIRE(p.headers.size() == 3);
    CHECK(p.headers[0].name == "Host");
    CHECK(p.headers[0].value == "example.com:8080");
    // zero-copy: the views point into the input
    CHECK(p.headers[1].value.data() >= p.input.data());
    CHECK(p.headers[1].value.data() < p.input.data() + p.input.size());
    CHECK(p.parser->is_done());
}

TEST_CASE("keep-alive by version and Connection", "[parser]") {
    CHECK_FALSE(Parsed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").parser->head().keep_alive);
    CHECK_FALSE(Parsed("GET / HTTP/1.0\r\n\r\n").parser->head().keep_alive);
    CHECK(Parsed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").parser->head().keep_alive);
    auto p = Parsed("HEAD / HTTP/1.1\r\n\r\n");
    CHECK(p.parser->head().is_head);
}

TEST_CASE("an incomplete head asks for more", "[parser]") {
    Parsed p("GET / HTTP/1.1\r\nHost: x\r\n");
    CHECK(p.need_more);
    CHECK_FALSE(p.refusal);
    CHECK_FALSE(p.parser->is_header_done());
}

TEST_CASE("refusals carry the right status", "[parser]") {
    struct Row {
        const char *input;
        int status;
    };
    const Row rows[] = {
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
        {"GET / FOO/1.1\r\n\r\n", 400},
        {"GET /\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},  // obs-fold
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        // issue 12: obs-fold of a framing header whose first line is empty
        {"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\nhello", 400},
        {"GET / HTTP/1.1\r\nHost:\r\n\tevil.example\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX-Any:\r\n folded\r\n\r\n", 400},
        // chunked on HTTP/1.0 (RFC 9112 6.1)
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
         "0\r\n\r\n",
         400},
        // userinfo in an absolute-form target
        {"GET http://u:p@host/ HTTP/1.1\r\nHost: host\r\n\r\n", 400},
        {"GET http://u@host HTTP/1.1\r\n\r\n", 400},
        // bare LF, a pipelined request behind it: 400, not the next line's version check
        {"GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\n\r\n", 400},
        // single-value fields given twice
        {"POST / HTTP/1.1\r\nContent-Type: a\r\nContent-Type: b\r\nContent-Length: 0\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
    };
    for (const auto &row : rows) {
        INFO(row.input);
        Parsed p(row.input);
        CHECK(p.refusal.status == row.status);
    }
}

TEST_CASE("limits: head size and body size", "[parser]") {
    ParserLimits limits;
    limits.header_bytes = 64;
    Parsed big("GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n", limits);
    CHECK(big.refusal.status == 431);

    limits = {4096, 10};
    Parsed cl("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits);
    CHECK(cl.refusal.status == 413);
    Parsed ok("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n", limits);
    CHECK_FALSE(ok.refusal);

    Parsed ch("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
              limits);
    REQUIRE_FALSE(ch.refusal);
    Refusal r;
    dechunk(ch, 64, r);
    CHECK(r.status == 413);

    // limit-post 0 means unlimited, not Beast's 1 MB default
    Parsed huge("POST / HTTP/1.1\r\nContent-Length: 100000000000\r\n\r\n");
    CHECK_FALSE(huge.refusal);
    CHECK(huge.parser->head().content_length == 100000000000ull);
}

TEST_CASE("chunked bodies are de-chunked into the sink", "[parser]") {
    std::string in =
        "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        "5\r\nhello\r\n1;ext=1\r\n \r\nb\r\nworld, body\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t piece : {1, 3, 7, 1000}) {
        Parsed p(in);
        REQUIRE(p.parser->is_header_done());
        CHECK(p.parser->head().chunked);
        CHECK(p.parser->head().expect_continue);
        Refusal r;
        CHECK(dechunk(p, piece, r) == "hello world, body");
        CHECK_FALSE(r);
        CHECK(p.parser->is_done());
        CHECK(p.headers.size() == 2);  // the trailer is not a header
    }
}

TEST_CASE("malformed chunks are refused", "[parser]") {
    Parsed p("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    REQUIRE(p.parser->is_header_done());
    Refusal r;
    dechunk(p, 16, r);
    CHECK(r.status == 400);
}

TEST_CASE("100-continue only counts for HTTP/1.1 requests with a body", "[parser]") {
    CHECK_FALSE(Parsed("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").parser->head().expect_continue);
    CHECK_FALSE(Parsed("POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
                    .parser->head()
                    .expect_continue);
    CHECK(Parsed("POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n")
              .parser->head()
              .expect_continue);
}
