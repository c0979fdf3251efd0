// The request-head and chunked-body parser: Boost.Beast's basic_parser with zero-copy callbacks.
// Every view it records points into the caller's input buffer, which must stay in place until the
// head has been turned into vars. Pure: no core, no I/O.
#pragma once

// Beast 1.74's parser asserts (parse_chunk_header: BOOST_ASSERT(n >= 5)) when a last chunk
// arrives a byte at a time ("0\r\n", then "\r", then "\n"), so with asserts on any client could
// abort a worker (found by test/fuzz/fuzz_http). Beast parses that input right with its asserts
// off, so they are off for Beast and back on for whatever follows.
#define BOOST_DISABLE_ASSERTS
#include <boost/beast/http/basic_parser.hpp>
#undef BOOST_DISABLE_ASSERTS
#include <boost/assert.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace uwsgi_http {

struct HeaderField {
    std::string_view name;
    std::string_view value;
};

// A refusal: the HTTP status to answer with and a short reason for the log.
struct Refusal {
    int status = 0;  // 0: none
    const char *reason = "";
    explicit operator bool() const { return status != 0; }
};

struct ParserLimits {
    uint32_t header_bytes = 0;  // --buffer-size, as the core gives it (Config)
    uint64_t body_bytes = 0;    // --limit-post, 0 = unlimited
};

// What a parsed request head says; filled by the parser callbacks.
struct RequestHead {
    std::string_view method;
    std::string_view target;
    int version = 11;  // 10 or 11
    std::vector<HeaderField> *headers = nullptr;  // storage owned by the connection, reused
    bool chunked = false;
    bool has_content_length = false;
    uint64_t content_length = 0;
    bool expect_continue = false;
    bool keep_alive = false;  // what the client asked for, by version and Connection
    bool is_head = false;
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
public:
    using error_code = boost::beast::error_code;

    // `headers` is cleared and then filled; it keeps its capacity across requests.
    RequestParser(const ParserLimits &limits, std::vector<HeaderField> &headers);

    // Feeds bytes; returns how many were consumed. `need_more` is set when the parser wants more
    // input, `refusal` when the input is bad (then stop feeding).
    size_t feed(const char *data, size_t len, bool &need_more, Refusal &refusal);

    // Where on_chunk_body/on_body put de-chunked body bytes during the next feed().
    void set_body_sink(char *out, size_t cap) {
        sink_ = out;
        sink_cap_ = cap;
        sink_len_ = 0;
    }
    size_t body_written() const { return sink_len_; }

    const RequestHead &head() const { return head_; }
    RequestHead &head() { return head_; }

    // The input range the views may point into; a value outside it came from Beast's obs-fold
    // scratch buffer (and is refused).
    void set_input_range(const char *begin, const char *end) {
        in_begin_ = begin;
        in_end_ = end;
    }

private:
    void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                         boost::beast::string_view target, int version, error_code &ec) override;
    void on_response_impl(int, boost::beast::string_view, int, error_code &ec) override;
    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, error_code &ec) override;
    void on_header_impl(error_code &ec) override;
    void on_body_init_impl(boost::optional<std::uint64_t> const &content_length,
                           error_code &ec) override;
    std::size_t on_body_impl(boost::beast::string_view body, error_code &ec) override;
    void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                              error_code &ec) override;
    std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                   error_code &ec) override;
    void on_finish_impl(error_code &ec) override;

    size_t take_body(boost::beast::string_view body);
    void refuse(int status, const char *reason, error_code &ec);

    RequestHead head_;
    Refusal refusal_;
    bool header_done_ = false;
    bool saw_host_ = false;
    const char *in_begin_ = nullptr;
    const char *in_end_ = nullptr;
    char *sink_ = nullptr;
    size_t sink_cap_ = 0;
    size_t sink_len_ = 0;
};

}  // namespace uwsgi_http
