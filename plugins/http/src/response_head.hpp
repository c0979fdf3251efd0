// Response framing decisions and head serialisation. Pure: writes into a caller's buffer.
#pragma once

#include <uwsgi/plugin.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace uwsgi_http {

// How the body of a response is delimited on the wire.
enum class Framing : uint8_t {
    length,   // the app's Content-Length
    chunked,  // Transfer-Encoding: chunked added by us (HTTP/1.1)
    close,    // no length: the end of the connection ends the body (HTTP/1.0)
    raw,      // the app sent its own Transfer-Encoding: passed through, then close
    none,     // HEAD, 1xx, 204, 304: no body bytes at all
};

// What the response writer needs to know about the request.
struct RequestFacts {
    int version = 11;
    bool is_head = false;
    bool keep_alive = false;  // the client allows it
};

struct ResponsePlan {
    int status = 0;
    Framing framing = Framing::close;
    uint64_t content_length = 0;  // Framing::length
    bool keep_alive = false;
};

// "200" -> "OK"; an unknown code -> "Unknown".
using uwsgi::reason_phrase;

// Appends the status line and headers to `out` and decides the framing. `extra_headers` are
// complete "Name: value\r\n" lines (--add-header). Returns a static error text when the app's
// status or headers cannot be sent (bad status, CR/LF in a header, bad Content-Length) and leaves
// `out` unchanged then; nullptr on success.
const char *build_response_head(std::string &out, std::string_view status,
                                const uwsgi_header *headers, size_t nheaders,
                                std::string_view extra_headers, const RequestFacts &req,
                                ResponsePlan &plan);

// A complete plain-text error answer that closes the connection.
void build_error_response(std::string &out, int status, std::string_view extra_headers);

// "<hex len>\r\n"
void append_chunk_size(std::string &out, size_t len);

}  // namespace uwsgi_http
