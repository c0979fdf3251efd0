// The PROXY protocol header a load balancer (HAProxy, AWS NLB/ELB) sends before anything else on
// a connection, naming the client it accepted:
//  - v1, text: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n", at most
//    107 bytes;
//  - v2, binary: a 12-byte signature, version/command, family, a 16-bit length, the addresses
//    and optional TLVs (ignored here).
// Both arrive in clear, also before a TLS ClientHello. No I/O and no allocation: the addresses
// are copied as text into the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace uwsgi_http {

// An address or port as text, held in place (an IPv6 address takes at most 45 characters).
struct ProxyText {
    char text[46] = {};
    uint8_t size = 0;
    operator std::string_view() const { return {text, size}; }
    bool empty() const { return size == 0; }
    bool operator==(std::string_view other) const { return std::string_view(*this) == other; }
    bool operator==(const ProxyText &other) const { return *this == std::string_view(other); }
};

struct ProxyHeader {
    // absent: the input does not start like either version's header (an HTTP request, a TLS
    // ClientHello); incomplete: it may still become one (read more); invalid: it started like
    // one and is malformed.
    enum class Status { incomplete, absent, invalid, done };
    Status status = Status::incomplete;
    int version = 0;     // 1 or 2 (done)
    size_t length = 0;   // bytes of the header, v1's CRLF and v2's TLVs included (done)
    bool known = false;  // TCP over IPv4/IPv6 (addresses set); false for v1 UNKNOWN and v2 LOCAL,
                         // UNSPEC, UNIX and UDP (keep the socket's)
    ProxyText src_addr, dst_addr, src_port, dst_port;
};

// The most a v1 header may take, CRLF included (the specification's 107).
constexpr size_t kProxyV1MaxLength = 107;
// The most a v2 header may take here, TLVs included: the specification allows 16 + 65535, but
// HAProxy and AWS NLB send well under 1 KiB (addresses take 12/36 bytes, TLVs name the SSL
// client, a unique id or the VPC endpoint); a longer one is refused rather than buffered.
constexpr size_t kProxyV2MaxLength = 4096;

// Parses the start of `in`. v1 addresses must parse as their family, ports are decimal 0..65535
// without leading zeros; a v2 header must be version 2 with a known command and family, and its
// length must hold the addresses its family names.
ProxyHeader parse_proxy_header(std::string_view in);

}  // namespace uwsgi_http
