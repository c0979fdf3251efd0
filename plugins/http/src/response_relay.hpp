// The router's view of a worker's answer: the worker (uwsgi protocol) writes an HTTP/1.x head and
// body and closes. The router reframes it for its client: Connection decided by the router,
// Content-Length kept, or the body chunked (--http-auto-chunked) so the client connection can
// stay open, else close-delimited. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace uwsgi_http {

struct RelayPlan {
    bool head_complete = false;
    bool bad = false;            // not an HTTP head, or too big
    size_t head_length = 0;      // bytes of the worker's head, blank line included
    bool has_length = false;     // the worker sent Content-Length
    uint64_t content_length = 0;
    bool no_body = false;        // HEAD, 1xx, 204, 304
    bool chunk = false;          // the router chunk-encodes the body
    bool keep_alive = false;     // the client connection stays open after this answer
};

struct ClientWants {
    bool keep_alive = false;  // allowed (--http-keepalive) and asked for (version, Connection)
    bool http11 = false;
    bool is_head = false;
    bool auto_chunked = false;  // --http-auto-chunked
};

// Looks for the worker's head at the start of `in` (at most `limit` bytes). When complete,
// appends the head the client gets to `out`.
RelayPlan plan_response(std::string_view in, size_t limit, const ClientWants &wants,
                        std::string &out);

// Chunk framing for one piece of body ("%zx\r\n" ... "\r\n") and the last chunk.
void append_chunk(std::string &out, std::string_view piece);
constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace uwsgi_http
