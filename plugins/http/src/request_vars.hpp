// Turns a parsed request head into the CGI/WSGI vars uWSGI produces. Pure: vars go to a callback.
#pragma once

#include "request_parser.hpp"

#include <string>
#include <string_view>

namespace uwsgi_http {

// The connection's addresses, as text, computed once per connection.
struct ConnAddrs {
    std::string_view remote_addr, remote_port;
    std::string_view local_addr, local_port;
};

// Reused per-connection scratch space (capacity kept, so no allocation after the first request).
struct VarsScratch {
    std::string path;   // decoded PATH_INFO
    std::string key;    // HTTP_NAME
    std::string value;  // joined repeated headers
    std::string protocol;
    void reserve(size_t n) {
        path.reserve(n);
        key.reserve(n);
        value.reserve(n);
        protocol.reserve(16);
    }
};

// Same shape as host->req_add_var, with the request as ctx. Non-zero return stops the build.
using AddVarFn = int (*)(void *ctx, const char *key, size_t key_len, const char *value,
                         size_t value_len);

// Emits every var of `head`. Returns a refusal (400 bad target, 431 more than max_vars vars) or
// an empty one on success; a failing add_var gives {500, ...}.
Refusal build_vars(const RequestHead &head, const ConnAddrs &addrs, size_t max_vars,
                   VarsScratch &scratch, AddVarFn add_var, void *ctx);

// Helpers exposed for tests.
// "HTTP_" + upper-case name with '-' -> '_'; CONTENT_LENGTH / CONTENT_TYPE for those two.
void header_var_name(std::string_view header, std::string &out);
// SERVER_NAME from a Host value: the port is cut off, an IPv6 literal keeps its brackets.
std::string_view host_without_port(std::string_view host);

}  // namespace uwsgi_http
