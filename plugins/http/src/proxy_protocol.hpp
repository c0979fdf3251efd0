// The PROXY protocol v1 header (HAProxy's text form) a load balancer sends before the request:
// "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n", at most 107 bytes.
// No I/O and no allocation: the addresses are views into the input.
#pragma once

#include <cstddef>
#include <string_view>

namespace uwsgi_http {

struct ProxyHeader {
    enum class Status { incomplete, invalid, done };
    Status status = Status::incomplete;
    size_t length = 0;  // bytes of the header, CRLF included (done)
    bool known = false;  // TCP4/TCP6 (addresses set); false for UNKNOWN (keep the socket's)
    std::string_view src_addr, dst_addr, src_port, dst_port;
};

// The most a v1 header may take, CRLF included (the specification's 107).
constexpr size_t kProxyV1MaxLength = 107;

// Parses the start of `in`. incomplete: no CRLF yet within the first 107 bytes (read more);
// invalid: not a v1 header, or a malformed one (addresses must parse as their family, ports are
// decimal 0..65535 without leading zeros).
ProxyHeader parse_proxy_v1(std::string_view in);

}  // namespace uwsgi_http
