// libFuzzer target: the PROXY protocol header parser, v1 and v2 (plugins/http/src/
// proxy_protocol.cpp), fed what a client may send first on a --enable-proxy-protocol socket or a
// --http/--https router address with --http-enable-proxy-protocol (where the bytes after the
// header may be a TLS ClientHello). A header found whole must fit its version's limit (v1: CRLF
// within 107 bytes) with addresses that parse as IPv4/IPv6 and decimal ports; every shorter cut
// of it must say "incomplete" (never "invalid" or "absent": a slow load balancer is no
// attacker); bytes after it must not change the answer; and an answer other than "incomplete"
// must not change when more bytes arrive (the router acts on it before reading further).
#include "proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <string>
#include <string_view>

using uwsgi_http::parse_proxy_header;
using uwsgi_http::ProxyHeader;
using uwsgi_http::ProxyText;

namespace {

bool same(const ProxyHeader &a, const ProxyHeader &b) {
    return a.status == b.status && a.version == b.version && a.length == b.length &&
           a.known == b.known && a.src_addr == b.src_addr && a.dst_addr == b.dst_addr &&
           a.src_port == b.src_port && a.dst_port == b.dst_port;
}

bool is_address(const ProxyText &t) {
    if (t.size >= sizeof t.text) return false;
    std::string text(t);
    unsigned char bin[sizeof(in6_addr)];
    return inet_pton(AF_INET, text.c_str(), bin) == 1 || inet_pton(AF_INET6, text.c_str(), bin) == 1;
}

bool is_port(const ProxyText &t) {
    std::string_view p(t);
    if (p.empty() || p.size() > 5 || (p.size() > 1 && p[0] == '0')) return false;
    unsigned long v = 0;
    for (char c : p) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + unsigned(c - '0');
    }
    return v <= 65535;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    ProxyHeader h = parse_proxy_header(in);
    if (h.status != ProxyHeader::Status::incomplete) {
        // decided: more bytes (a request, a ClientHello) give the same answer
        std::string more(in);
        more += "\r\n\x16\x03\x01GET / HTTP/1.1\r\n";
        if (!same(parse_proxy_header(more), h)) abort();
    }
    if (h.status != ProxyHeader::Status::done) {
        if (h.length != 0 || h.known || h.version != 0 || !h.src_addr.empty()) abort();
        if (h.status == ProxyHeader::Status::incomplete && size >= uwsgi_http::kProxyV2MaxLength)
            abort();
        return 0;
    }
    if (h.length > size || h.length < 15) abort();
    if (h.version == 1) {
        if (h.length > uwsgi_http::kProxyV1MaxLength || in.substr(0, 6) != "PROXY " ||
            in.substr(h.length - 2, 2) != "\r\n")
            abort();
    } else if (h.version == 2) {
        if (h.length < 16 || h.length > uwsgi_http::kProxyV2MaxLength ||
            in.substr(0, 12) != std::string_view("\r\n\r\n\0\r\nQUIT\n", 12))
            abort();
    } else {
        abort();
    }
    if (h.known) {
        if (!is_address(h.src_addr) || !is_address(h.dst_addr) || !is_port(h.src_port) ||
            !is_port(h.dst_port))
            abort();
        // v1 addresses and ports are the header's own text
        std::string_view header = in.substr(0, h.length);
        if (h.version == 1 &&
            (header.find(std::string_view(h.src_addr)) == header.npos ||
             header.find(std::string_view(h.dst_port)) == header.npos))
            abort();
    } else if (!h.src_addr.empty() || !h.dst_addr.empty() || !h.src_port.empty() ||
               !h.dst_port.empty()) {
        abort();
    }
    for (size_t cut = 0; cut < h.length; ++cut)
        if (parse_proxy_header(in.substr(0, cut)).status != ProxyHeader::Status::incomplete) abort();
    // the header alone gives the same answer as the header followed by the request
    if (!same(parse_proxy_header(in.substr(0, h.length)), h)) abort();
    return 0;
}
