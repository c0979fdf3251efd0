// The PROXY protocol v1 header parser: the specification's examples and each refusal.
#include "proxy_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>

using uwsgi_http::parse_proxy_v1;
using uwsgi_http::ProxyHeader;
using Status = ProxyHeader::Status;

TEST_CASE("PROXY TCP4 and TCP6 headers give the client's address and port") {
    std::string in = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    ProxyHeader h = parse_proxy_v1(in);
    REQUIRE(h.status == Status::done);
    CHECK(h.known);
    CHECK(h.length == in.find("GET"));
    CHECK(h.src_addr == "192.168.0.1");
    CHECK(h.dst_addr == "192.168.0.11");
    CHECK(h.src_port == "56324");
    CHECK(h.dst_port == "443");

    h = parse_proxy_v1("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n");
    REQUIRE(h.status == Status::done);
    CHECK(h.src_addr == "2001:db8::1");
    CHECK(h.src_port == "65535");
    CHECK(h.dst_port == "0");
}

TEST_CASE("PROXY UNKNOWN keeps the socket's address, whatever follows on its line") {
    for (const char *in : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f::f ffff::1 65535 65535\r\n"}) {
        ProxyHeader h = parse_proxy_v1(in);
        CHECK(h.status == Status::done);
        CHECK_FALSE(h.known);
        CHECK(h.length == std::string(in).size());
    }
}

TEST_CASE("a PROXY header cut anywhere is incomplete, not invalid") {
    std::string in = "PROXY TCP4 10.0.0.1 10.0.0.2 1234 80\r\n";
    for (size_t cut = 0; cut < in.size(); ++cut)
        CHECK(parse_proxy_v1(in.substr(0, cut)).status == Status::incomplete);
}

TEST_CASE("malformed PROXY headers are invalid") {
    const char *bad[] = {
        "GET / HTTP/1.1\r\n\r\n",                         // no header at all
        "PROXY\r\n",                                      // no protocol
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",             // case matters
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",             // unknown family
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",               // a field missing
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",           // a field too many
        "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",            // two spaces
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",            // trailing space
        "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",                 // v6 address in TCP4
        "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",                 // v4 address in TCP6
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",         // port out of range
        "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n",           // leading zero
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",            // sign
        "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n",            // lone CR
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",               // bare LF, then nothing: too long later
    };
    for (const char *in : bad) {
        INFO(in);
        Status s = parse_proxy_v1(in).status;
        if (std::string(in).find("\r\n") == std::string::npos && std::string(in).rfind("PROXY", 0) == 0)
            CHECK(s == Status::incomplete);  // waits for its CRLF (then for 107 bytes at most)
        else
            CHECK(s == Status::invalid);
    }
}

TEST_CASE("a PROXY header without CRLF within 107 bytes is invalid") {
    std::string in = "PROXY UNKNOWN " + std::string(120, 'x') + "\r\n";
    CHECK(parse_proxy_v1(in).status == Status::invalid);
    std::string longest = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
    REQUIRE(longest.size() == 107);
    CHECK(parse_proxy_v1(longest).status == Status::done);
}
