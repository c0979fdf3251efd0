#include "request_vars.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace uwsgi_http;

namespace {

struct Vars {
    std::vector<std::pair<std::string, std::string>> list;
    std::map<std::string, std::string> map;
    static int add(void *ctx, const char *k, size_t kl, const char *v, size_t vl) {
        auto *self = static_cast<Vars *>(ctx);
        self->list.emplace_back(std::string(k, kl), std::string(v, vl));
        self->map[std::string(k, kl)] = std::string(v, vl);
        return 0;
    }
};

struct Built {
    std::string input;
    std::vector<HeaderField> headers;
    std::optional<RequestParser> parser;
    Vars vars;
    Refusal refusal;
    explicit Built(std::string in, size_t max_vars = 0) : input(std::move(in)) {
        parser.emplace(ParserLimits{4096, 0}, headers);
        parser->set_input_range(input.data(), input.data() + input.size());
        bool need_more;
        Refusal r;
        parser->feed(input.data(), input.size(), need_more, r);
        REQUIRE_FALSE(r);
        REQUIRE(parser->is_header_done());
        VarsScratch scratch;
        refusal = build_vars(parser->head(), {"10.0.0.1", "5555", "127.0.0.1", "9090"}, max_vars,
                             scratch, &Vars::add, &vars);
    }
    std::string operator[](const std::string &k) const {
        auto it = vars.map.find(k);
        return it == vars.map.end() ? "<absent>" : it->second;
    }
};

}  // namespace

TEST_CASE("the CGI vars of a request", "[vars]") {
    Built b("POST /a/./b%20c?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n"
            "Content-Type: text/plain\r\nContent-Length: 3\r\nUser-Agent: t\r\n"
            "Accept: a\r\naccept: b\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n");
    REQUIRE_FALSE(b.refusal);
    CHECK(b["REQUEST_METHOD"] == "POST");
    CHECK(b["REQUEST_URI"] == "/a/./b%20c?x=1&y=%20");
    CHECK(b["PATH_INFO"] == "/a/b c");
    CHECK(b["QUERY_STRING"] == "x=1&y=%20");
    CHECK(b["SCRIPT_NAME"] == "");
    CHECK(b["SERVER_PROTOCOL"] == "HTTP/1.1");
    CHECK(b["SERVER_NAME"] == "example.com");
    CHECK(b["SERVER_PORT"] == "9090");
    CHECK(b["REMOTE_ADDR"] == "10.0.0.1");
    CHECK(b["REMOTE_PORT"] == "5555");
    CHECK(b["CONTENT_TYPE"] == "text/plain");
    CHECK(b["CONTENT_LENGTH"] == "3");
    CHECK(b["HTTP_CONTENT_LENGTH"] == "<absent>");
    CHECK(b["HTTP_CONTENT_TYPE"] == "<absent>");
    CHECK(b["HTTP_HOST"] == "example.com:8080");
    CHECK(b["HTTP_USER_AGENT"] == "t");
    CHECK(b["HTTP_ACCEPT"] == "a, b");
    CHECK(b["HTTP_COOKIE"] == "a=1; b=2");
    // each var exactly once
    CHECK(b.vars.list.size() == b.vars.map.size());
}

TEST_CASE("QUERY_STRING is always present; SERVER_NAME falls back to the local address", "[vars]") {
    Built b("GET / HTTP/1.0\r\n\r\n");
    CHECK(b["QUERY_STRING"] == "");
    CHECK(b["SERVER_NAME"] == "127.0.0.1");
    CHECK(b["SERVER_PROTOCOL"] == "HTTP/1.0");
    CHECK(b["CONTENT_LENGTH"] == "<absent>");
}

TEST_CASE("spoofable and dangerous header names are dropped", "[vars]") {
    Built b("GET / HTTP/1.1\r\nX_Forwarded_For: evil\r\nProxy: http://evil\r\nX-Ok: 1\r\n\r\n");
    CHECK(b["HTTP_X_FORWARDED_FOR"] == "<absent>");
    CHECK(b["HTTP_PROXY"] == "<absent>");
    CHECK(b["HTTP_X_OK"] == "1");
}

TEST_CASE("absolute-form and asterisk targets", "[vars]") {
    Built a("GET http://other.example:81/p/../q?z HTTP/1.1\r\nHost: ignored\r\n\r\n");
    CHECK(a["PATH_INFO"] == "/q");
    CHECK(a["QUERY_STRING"] == "z");
    CHECK(a["SERVER_NAME"] == "other.example");
    Built s("OPTIONS * HTTP/1.1\r\n\r\n");
    CHECK(s["PATH_INFO"] == "*");
}

TEST_CASE("a #fragment reaches neither PATH_INFO nor QUERY_STRING (as nginx)", "[vars]") {
    Built a("GET /a?x=1#frag HTTP/1.1\r\n\r\n");
    CHECK(a["PATH_INFO"] == "/a");
    CHECK(a["QUERY_STRING"] == "x=1");
    CHECK(a["REQUEST_URI"] == "/a?x=1#frag");
    Built b("GET /b#frag?y HTTP/1.1\r\n\r\n");
    CHECK(b["PATH_INFO"] == "/b");
    CHECK(b["QUERY_STRING"] == "");
}

TEST_CASE("vars refusals", "[vars]") {
    CHECK(Built("GET /a%00 HTTP/1.1\r\n\r\n").refusal.status == 400);
    CHECK(Built("GET * HTTP/1.1\r\n\r\n").refusal.status == 400);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 70; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    CHECK(Built(many, 64).refusal.status == 431);
    CHECK_FALSE(Built(many, 0).refusal);
}

TEST_CASE("header var names", "[vars]") {
    std::string out;
    header_var_name("x-forwarded-for", out);
    CHECK(out == "HTTP_X_FORWARDED_FOR");
    header_var_name("Content-length", out);
    CHECK(out == "CONTENT_LENGTH");
    CHECK(host_without_port("[::1]:8080") == "[::1]");
    CHECK(host_without_port("a.b") == "a.b");
    CHECK(host_without_port("a.b:1") == "a.b");
}
