#include "proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace uwsgi_http {
namespace {

// "PROXY" followed by anything but a space is a malformed header, not an HTTP request
constexpr std::string_view kV1Prefix = "PROXY";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV2FixedLength = 16;  // signature, version/command, family, length

// Whether every byte of `in` agrees with `prefix` so far.
bool agrees(std::string_view in, std::string_view prefix) {
    size_t common = in.size() < prefix.size() ? in.size() : prefix.size();
    return in.substr(0, common) == prefix.substr(0, common);
}

ProxyHeader invalid_header() {
    ProxyHeader h;
    h.status = ProxyHeader::Status::invalid;
    return h;
}

void set_text(ProxyText &t, std::string_view s) {
    std::memcpy(t.text, s.data(), s.size());  // callers checked it fits
    t.size = uint8_t(s.size());
}

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

ProxyHeader parse_v1(std::string_view in) {
    ProxyHeader h;
    if (in.size() == kV1Prefix.size()) return h;  // incomplete
    if (in[kV1Prefix.size()] != ' ') return invalid_header();
    size_t window = in.size() < kProxyV1MaxLength ? in.size() : kProxyV1MaxLength;
    size_t cr = in.substr(0, window).find("\r\n");
    if (cr == std::string_view::npos) {
        // a lone CR at the very end may still get its LF; anything else is too long or broken
        h.status = window == kProxyV1MaxLength ? ProxyHeader::Status::invalid
                                                : ProxyHeader::Status::incomplete;
        return h;
    }
    const ProxyHeader invalid = invalid_header();
    std::string_view line = in.substr(kV1Prefix.size() + 1, cr - kV1Prefix.size() - 1);
    if (line.find_first_of("\r\n") != std::string_view::npos) return invalid;
    size_t pos = 0;
    std::string_view proto = field(line, pos);
    h.version = 1;
    h.length = cr + 2;
    if (proto == "UNKNOWN") {  // the rest of the line is ignored (the specification says so)
        h.status = ProxyHeader::Status::done;
        return h;
    }
    int family = proto == "TCP4" ? AF_INET : proto == "TCP6" ? AF_INET6 : -1;
    if (family < 0) return invalid;
    std::string_view src = field(line, pos), dst = field(line, pos);
    std::string_view sport = field(line, pos), dport = field(line, pos);
    if (pos != line.size() || line.back() == ' ') return invalid;  // one space between fields
    if (!valid_address(src, family) || !valid_address(dst, family) || !valid_port(sport) ||
        !valid_port(dport))
        return invalid;
    set_text(h.src_addr, src);
    set_text(h.dst_addr, dst);
    set_text(h.src_port, sport);
    set_text(h.dst_port, dport);
    h.known = true;
    h.status = ProxyHeader::Status::done;
    return h;
}

void address_text(ProxyText &t, int family, const unsigned char *bin) {
    inet_ntop(family, bin, t.text, sizeof t.text);
    t.size = uint8_t(std::strlen(t.text));
}

void port_text(ProxyText &t, const unsigned char *be) {
    unsigned v = unsigned(be[0]) << 8 | be[1];
    char digits[5];
    int n = 0;
    do {
        digits[n++] = char('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; ++i) t.text[i] = digits[n - 1 - i];
    t.size = uint8_t(n);
}

ProxyHeader parse_v2(std::string_view in) {
    ProxyHeader h;
    if (in.size() < kV2FixedLength) return h;  // incomplete
    const auto *b = reinterpret_cast<const unsigned char *>(in.data());
    const ProxyHeader invalid = invalid_header();
    const unsigned version = b[12] >> 4, command = b[12] & 0xf;
    const unsigned family = b[13] >> 4, transport = b[13] & 0xf;
    const size_t length = kV2FixedLength + (size_t(b[14]) << 8 | b[15]);
    if (version != 2 || command > 1 || family > 3 || transport > 2) return invalid;
    if (length > kProxyV2MaxLength) return invalid;
    // the addresses each family takes: AF_INET 2x4 + 2x2, AF_INET6 2x16 + 2x2, AF_UNIX 2x108
    static constexpr size_t kAddressBytes[] = {0, 12, 36, 216};
    if (command == 1 && length - kV2FixedLength < kAddressBytes[family]) return invalid;
    if (in.size() < length) return h;  // incomplete
    h.version = 2;
    h.length = length;
    h.status = ProxyHeader::Status::done;
    // LOCAL (the balancer's own health check), UNSPEC, UNIX and UDP keep the socket's addresses
    if (command != 1 || transport != 1 || (family != 1 && family != 2)) return h;
    const unsigned char *a = b + kV2FixedLength;
    const int af = family == 1 ? AF_INET : AF_INET6;
    const size_t size = family == 1 ? 4 : 16;
    address_text(h.src_addr, af, a);
    address_text(h.dst_addr, af, a + size);
    port_text(h.src_port, a + 2 * size);
    port_text(h.dst_port, a + 2 * size + 2);
    h.known = true;
    return h;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view in) {
    ProxyHeader h;
    if (in.empty()) return h;  // incomplete
    // the two versions differ in their first byte ('P', '\r'); each byte seen so far must agree
    // with the one its first byte names before waiting for more
    const bool v2 = in[0] == kV2Signature[0];
    if (!agrees(in, v2 ? kV2Signature : kV1Prefix)) {
        h.status = ProxyHeader::Status::absent;
        return h;
    }
    if (in.size() < (v2 ? kV2Signature : kV1Prefix).size()) return h;  // incomplete
    return v2 ? parse_v2(in) : parse_v1(in);
}

}  // namespace uwsgi_http
