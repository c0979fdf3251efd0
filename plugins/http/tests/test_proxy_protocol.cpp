// The PROXY protocol header parser (v1 and v2): the specification's examples and each refusal.
#include "proxy_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>

using uwsgi_http::parse_proxy_header;
using uwsgi_http::kProxyV2MaxLength;
using uwsgi_http::ProxyHeader;
using Status = ProxyHeader::Status;

TEST_CASE("PROXY TCP4 and TCP6 headers give the client's address and port") {
    std::string in = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    ProxyHeader h = parse_proxy_header(in);
    REQUIRE(h.status == Status::done);
    CHECK(h.known);
    CHECK(h.length == in.find("GET"));
    CHECK(h.src_addr == "192.168.0.1");
    CHECK(h.dst_addr == "192.168.0.11");
    CHECK(h.src_port == "56324");
    CHECK(h.dst_port == "443");

    h = parse_proxy_header("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n");
    REQUIRE(h.status == Status::done);
    CHECK(h.src_addr == "2001:db8::1");
    CHECK(h.src_port == "65535");
    CHECK(h.dst_port == "0");
}

TEST_CASE("PROXY UNKNOWN keeps the socket's address, whatever follows on its line") {
    for (const char *in : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f::f ffff::1 65535 65535\r\n"}) {
        ProxyHeader h = parse_proxy_header(in);
        CHECK(h.status == Status::done);
        CHECK_FALSE(h.known);
        CHECK(h.length == std::string(in).size());
    }
}

TEST_CASE("a PROXY header cut anywhere is incomplete, not invalid") {
    std::string in = "PROXY TCP4 10.0.0.1 10.0.0.2 1234 80\r\n";
    for (size_t cut = 0; cut < in.size(); ++cut)
        CHECK(parse_proxy_header(in.substr(0, cut)).status == Status::incomplete);
}

TEST_CASE("malformed PROXY headers are invalid") {
    const char *bad[] = {
        "PROXY\r\n",                                      // no protocol
        "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",              // no space
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
        Status s = parse_proxy_header(in).status;
        if (std::string(in).find("\r\n") == std::string::npos && std::string(in).rfind("PROXY", 0) == 0)
            CHECK(s == Status::incomplete);  // waits for its CRLF (then for 107 bytes at most)
        else
            CHECK(s == Status::invalid);
    }
}

TEST_CASE("a PROXY header without CRLF within 107 bytes is invalid") {
    std::string in = "PROXY UNKNOWN " + std::string(120, 'x') + "\r\n";
    CHECK(parse_proxy_header(in).status == Status::invalid);
    std::string longest = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
    REQUIRE(longest.size() == 107);
    CHECK(parse_proxy_header(longest).status == Status::done);
}

TEST_CASE("input that does not start like a PROXY header is absent, however short") {
    for (const char *in : {"GET / HTTP/1.1\r\n\r\n", "POST / HTTP/1.1\r\n", "PROPFIND /", "PROX!",
                           "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "\x16\x03\x01\x02\x00",
                           "\r\n\r\nGET / HTTP/1.1\r\n"}) {
        INFO(in);
        ProxyHeader h = parse_proxy_header(in);
        CHECK(h.status == Status::absent);
        CHECK(h.length == 0);
    }
    CHECK(parse_proxy_header("").status == Status::incomplete);
    CHECK(parse_proxy_header("PRO").status == Status::incomplete);
    CHECK(parse_proxy_header("\r\n\r\n").status == Status::incomplete);
}

namespace {

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: version/command byte, family byte, then `rest` (addresses and TLVs).
std::string v2(unsigned char ver_cmd, unsigned char family, const std::string &rest) {
    std::string h = kSignature;
    h += char(ver_cmd);
    h += char(family);
    h += char(rest.size() >> 8);
    h += char(rest.size() & 0xff);
    return h + rest;
}

std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list) s += char(b);
    return s;
}

}  // namespace

TEST_CASE("PROXY v2 TCP over IPv4 and IPv6 gives the client's address and port") {
    // 203.0.113.7:40000 -> 198.51.100.2:443, then a TLV (type 0x04 NOOP, 3 bytes) it skips
    std::string in = v2(0x21, 0x11,
                        bytes({203, 0, 113, 7, 198, 51, 100, 2, 0x9c, 0x40, 0x01, 0xbb}) +
                            bytes({0x04, 0x00, 0x03, 'a', 'b', 'c'})) +
                     "\x16\x03\x01";
    ProxyHeader h = parse_proxy_header(in);
    REQUIRE(h.status == Status::done);
    CHECK(h.version == 2);
    CHECK(h.known);
    CHECK(h.length == in.size() - 3);
    CHECK(h.src_addr == "203.0.113.7");
    CHECK(h.dst_addr == "198.51.100.2");
    CHECK(h.src_port == "40000");
    CHECK(h.dst_port == "443");

    std::string six(36, '\0');
    six[0] = char(0x20), six[1] = char(0x01), six[2] = char(0x0d), six[3] = char(0xb8),
    six[15] = 7;  // 2001:db8::7
    six[31] = 1;  // ::1
    six[32] = 0, six[33] = 0, six[34] = char(0xff), six[35] = char(0xff);  // ports 0, 65535
    h = parse_proxy_header(v2(0x21, 0x21, six));
    REQUIRE(h.status == Status::done);
    CHECK(h.src_addr == "2001:db8::7");
    CHECK(h.dst_addr == "::1");
    CHECK(h.src_port == "0");
    CHECK(h.dst_port == "65535");
}

TEST_CASE("PROXY v2 LOCAL, UNSPEC, UNIX and UDP keep the socket's address") {
    std::string inet = bytes({10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81});
    for (const std::string &in : {v2(0x20, 0x11, inet), v2(0x20, 0x00, ""), v2(0x21, 0x00, ""),
                                  v2(0x21, 0x31, std::string(216, 'x')), v2(0x21, 0x12, inet)}) {
        ProxyHeader h = parse_proxy_header(in);
        CHECK(h.status == Status::done);
        CHECK_FALSE(h.known);
        CHECK(h.length == in.size());
    }
}

TEST_CASE("a PROXY v2 header cut anywhere is incomplete") {
    std::string in = v2(0x21, 0x11, bytes({10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81}));
    for (size_t cut = 0; cut < in.size(); ++cut)
        CHECK(parse_proxy_header(in.substr(0, cut)).status == Status::incomplete);
}

TEST_CASE("malformed PROXY v2 headers are invalid") {
    std::string inet = bytes({10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81});
    const std::string bad[] = {
        v2(0x11, 0x11, inet),                    // version 1 in a v2 header
        v2(0x22, 0x11, inet),                    // unknown command
        v2(0x21, 0x41, inet),                    // unknown family
        v2(0x21, 0x13, inet),                    // unknown transport
        v2(0x21, 0x11, inet.substr(0, 11)),      // addresses cut short
        v2(0x21, 0x21, inet),                    // IPv6 needs 36 bytes
        v2(0x21, 0x11, std::string(kProxyV2MaxLength, 'x')),  // longer than we buffer
    };
    for (const std::string &in : bad) CHECK(parse_proxy_header(in).status == Status::invalid);
    // the limit: a header of exactly kProxyV2MaxLength bytes is taken
    std::string longest = v2(0x21, 0x11, inet + std::string(kProxyV2MaxLength - 16 - 12, 'x'));
    REQUIRE(longest.size() == kProxyV2MaxLength);
    CHECK(parse_proxy_header(longest).status == Status::done);
}
