#include "proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace uwsgi_http {
namespace {

constexpr std::string_view kPrefix = "PROXY ";

// The next space-separated field of `line` from `pos`; empty when none.
std::string_view field(std::string_view line, size_t &pos) {
    if (pos >= line.size()) return {};
    size_t space = line.find(' ', pos);
    std::string_view f = line.substr(pos, space == std::string_view::npos ? line.npos : space - pos);
    pos = space == std::string_view::npos ? line.size() : space + 1;
    return f;
}

bool valid_address(std::string_view a, int family) {
    char text[INET6_ADDRSTRLEN];
    if (a.empty() || a.size() >= sizeof text) return false;
    a.copy(text, a.size());
    text[a.size()] = 0;
    unsigned char bin[sizeof(in6_addr)];
    return inet_pton(family, text, bin) == 1;
}

bool valid_port(std::string_view p) {
    if (p.empty() || p.size() > 5 || (p.size() > 1 && p[0] == '0')) return false;
    unsigned v = 0;
    for (char c : p) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + unsigned(c - '0');
    }
    return v <= 65535;
}

}  // namespace

ProxyHeader parse_proxy_v1(std::string_view in) {
    ProxyHeader h;
    // every byte seen so far must agree with "PROXY " before waiting for more
    size_t common = in.size() < kPrefix.size() ? in.size() : kPrefix.size();
    if (in.substr(0, common) != kPrefix.substr(0, common)) {
        h.status = ProxyHeader::Status::invalid;
        return h;
    }
    size_t window = in.size() < kProxyV1MaxLength ? in.size() : kProxyV1MaxLength;
    size_t cr = in.substr(0, window).find("\r\n");
    if (cr == std::string_view::npos) {
        // a lone CR at the very end may still get its LF; anything else is too long or broken
        h.status = window == kProxyV1MaxLength ? ProxyHeader::Status::invalid
                                                : ProxyHeader::Status::incomplete;
        return h;
    }
    const ProxyHeader invalid{ProxyHeader::Status::invalid};
    std::string_view line = in.substr(kPrefix.size(), cr - kPrefix.size());
    if (line.find_first_of("\r\n") != std::string_view::npos) return invalid;
    size_t pos = 0;
    std::string_view proto = field(line, pos);
    h.length = cr + 2;
    if (proto == "UNKNOWN") {  // the rest of the line is ignored (the specification says so)
        h.status = ProxyHeader::Status::done;
        return h;
    }
    int family = proto == "TCP4" ? AF_INET : proto == "TCP6" ? AF_INET6 : -1;
    if (family < 0) return invalid;
    h.src_addr = field(line, pos);
    h.dst_addr = field(line, pos);
    h.src_port = field(line, pos);
    h.dst_port = field(line, pos);
    if (pos != line.size() || line.back() == ' ') return invalid;  // one space between fields
    if (!valid_address(h.src_addr, family) || !valid_address(h.dst_addr, family) ||
        !valid_port(h.src_port) || !valid_port(h.dst_port))
        return invalid;
    h.known = true;
    h.status = ProxyHeader::Status::done;
    return h;
}

}  // namespace uwsgi_http
