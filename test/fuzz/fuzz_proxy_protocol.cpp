// libFuzzer target: the PROXY protocol v1 header parser (plugins/http/src/proxy_protocol.cpp),
// fed what a client may send first on a --enable-proxy-protocol socket. A header found whole
// must end in CRLF within 107 bytes with its fields inside the input; every shorter cut of it
// must say "incomplete" (never "invalid": a slow load balancer is no attacker), and bytes after
// it must not change the answer.
#include "proxy_protocol.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

using uwsgi_http::parse_proxy_v1;
using uwsgi_http::ProxyHeader;

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() ||
           (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool same(const ProxyHeader &a, const ProxyHeader &b) {
    return a.status == b.status && a.length == b.length && a.known == b.known &&
           a.src_addr == b.src_addr && a.dst_addr == b.dst_addr && a.src_port == b.src_port &&
           a.dst_port == b.dst_port;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    ProxyHeader h = parse_proxy_v1(in);
    if (h.status != ProxyHeader::Status::done) {
        if (h.length != 0 || h.known) abort();
        if (h.status == ProxyHeader::Status::incomplete && size >= uwsgi_http::kProxyV1MaxLength)
            abort();
        return 0;
    }
    if (h.length < 8 || h.length > uwsgi_http::kProxyV1MaxLength || h.length > size) abort();
    if (in.substr(h.length - 2, 2) != "\r\n" || in.substr(0, 6) != "PROXY ") abort();
    std::string_view header = in.substr(0, h.length);
    if (!inside(h.src_addr, header) || !inside(h.dst_addr, header) ||
        !inside(h.src_port, header) || !inside(h.dst_port, header))
        abort();
    if (h.known && (h.src_addr.empty() || h.dst_addr.empty() || h.src_port.empty() ||
                    h.dst_port.empty()))
        abort();
    for (size_t cut = 0; cut < h.length; ++cut)
        if (parse_proxy_v1(in.substr(0, cut)).status != ProxyHeader::Status::incomplete) abort();
    // the header alone gives the same answer as the header followed by the request
    if (!same(parse_proxy_v1(header), h)) abort();
    return 0;
}
