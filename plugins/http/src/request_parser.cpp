#include "request_parser.hpp"

#include "text.hpp"

#include <boost/beast/http/error.hpp>

#include <cstring>

namespace uwsgi_http {

namespace http = boost::beast::http;
using boost::beast::string_view;

namespace {

std::string_view sv(string_view s) { return {s.data(), s.size()}; }

// Transfer-Encoding must be exactly one "chunked" (we decode nothing else): any other coding is
// 501, a repeated or misplaced chunked is malformed.
Refusal check_transfer_encoding(std::string_view value) {
    int chunked = 0;
    bool other = false, chunked_last = false;
    while (!value.empty()) {
        auto comma = value.find(',');
        auto tok = trim_ows(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        if (tok.empty()) continue;
        auto semi = tok.find(';');  // transfer-parameters
        if (semi != std::string_view::npos) tok = trim_ows(tok.substr(0, semi));
        if (iequals(tok, "chunked")) {
            ++chunked;
            chunked_last = true;
        } else {
            other = true;
            chunked_last = false;
        }
    }
    if (other) return {501, "unsupported transfer-coding"};
    if (chunked != 1 || !chunked_last) return {400, "malformed Transfer-Encoding"};
    return {};
}

// The request line in `data` ends in " HTTP/<digit>.<digit>" CRLF. Its end is the first LF: a
// bare-LF line is malformed, whatever a pipelined request behind it looks like (the first CRLF
// may be the next request's).
bool well_formed_version(const char *data, size_t len) {
    std::string_view in(data, len);
    auto lf = in.find('\n');
    if (lf == std::string_view::npos || lf < 10 || in[lf - 1] != '\r') return false;
    auto eol = lf - 1;
    auto v = in.substr(eol - 9, 9);
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    return v.substr(0, 6) == " HTTP/" && digit(v[6]) && v[7] == '.' && digit(v[8]);
}

// An absolute-form target ("http://user:pass@host/") with userinfo: RFC 9110 4.2.4 deprecates
// it and nginx refuses it; it would otherwise reach SERVER_NAME.
bool has_userinfo(std::string_view target) {
    auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos || target.empty() || target[0] == '/') return false;
    auto authority = target.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    return authority.find('@') != std::string_view::npos;
}

// Fields that hold one value, not a list: a second one is a conflict, not something to merge.
// Content-Length even when both agree, as nginx does (Beast refuses only differing ones); Host
// and Transfer-Encoding have their own checks.
bool is_singleton_field(http::field name) {
    return name == http::field::content_type || name == http::field::content_length;
}

}  // namespace

RequestParser::RequestParser(const ParserLimits &limits, std::vector<HeaderField> &headers) {
    headers.clear();
    head_.headers = &headers;
    header_limit(limits.header_bytes);
    // "no limit" is the largest limit: Beast 1.74 compares the length against an empty optional
    // as if it were smaller than any number, so boost::none would refuse every body
    body_limit(limits.body_bytes ? limits.body_bytes : UINT64_MAX);
}

void RequestParser::refuse(int status, const char *reason, error_code &ec) {
    refusal_ = {status, reason};
    ec = http::error::bad_value;
}

size_t RequestParser::feed(const char *data, size_t len, bool &need_more, Refusal &refusal) {
    need_more = false;
    error_code ec;
    size_t used = put(boost::asio::const_buffer(data, len), ec);
    if (!ec) return used;
    if (ec == http::error::need_more) {
        need_more = true;
        return used;
    }
    if (refusal_) {
        refusal = refusal_;
    } else if (ec == http::error::header_limit) {
        refusal = {431, "request head larger than buffer-size"};
    } else if (ec == http::error::body_limit) {
        refusal = {413, "body larger than limit-post"};
    } else if (ec == http::error::bad_version) {
        // Beast refuses every version but 1.0 and 1.1 alike; a well-formed other one is 505
        refusal = well_formed_version(data, len) ? Refusal{505, "unsupported HTTP version"}
                                                 : Refusal{400, "malformed HTTP version"};
    } else if (ec == http::error::bad_method) {
        refusal = {400, "malformed method"};
    } else if (ec == http::error::bad_target) {
        refusal = {400, "malformed request-target"};
    } else if (ec == http::error::bad_field) {
        refusal = {400, "malformed header name"};
    } else if (ec == http::error::bad_value) {
        refusal = {400, "malformed header value"};
    } else if (ec == http::error::bad_content_length) {
        refusal = {400, "malformed Content-Length"};
    } else if (ec == http::error::bad_transfer_encoding) {
        refusal = {400, "conflicting Transfer-Encoding"};
    } else if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) {
        refusal = {400, "malformed chunk"};
    } else if (ec == http::error::bad_line_ending) {
        refusal = {400, "malformed line ending"};
    } else {
        refusal = {400, "malformed request"};
    }
    return used;
}

void RequestParser::on_request_impl(http::verb method, string_view method_str, string_view target,
                                    int version, error_code &ec) {
    head_.method = sv(method_str);
    head_.target = sv(target);
    head_.version = version;
    head_.is_head = method == http::verb::head;
    if (version / 10 != 1) return refuse(505, "unsupported HTTP version", ec);
    if (has_userinfo(head_.target)) return refuse(400, "userinfo in the request-target", ec);
    // HTTP/1.x with x > 1 is served as 1.1 (RFC 9110 2.5)
    if (version > 11) head_.version = 11;
}

void RequestParser::on_response_impl(int, string_view, int, error_code &ec) {
    ec = http::error::bad_method;  // never called for a request parser
}

void RequestParser::on_field_impl(http::field name, string_view name_string, string_view value,
                                  error_code &ec) {
    if (header_done_) return;  // chunked trailers are parsed and dropped
    // Beast hands obs-folded values from its own scratch buffer; RFC 9112 5.2 lets a server
    // refuse them, and refusing keeps every view inside our buffer.
    if (value.size() && (value.data() < in_begin_ || value.data() >= in_end_))
        return refuse(400, "obsolete header line folding", ec);
    // A fold whose first line is empty ("Transfer-Encoding:\r\n chunked") needs no scratch:
    // Beast's value then points into our buffer, after a line break.
    const char *name_end = name_string.data() + name_string.size();
    if (value.size() && name_end >= in_begin_ && name_end <= value.data() &&
        std::string_view(name_end, size_t(value.data() - name_end)).find('\n') !=
            std::string_view::npos)
        return refuse(400, "obsolete header line folding", ec);
    if (is_singleton_field(name)) {
        for (auto &h : *head_.headers)
            if (iequals(h.name, sv(name_string)))
                return refuse(400, "repeated single-value header", ec);
    }
    switch (name) {
    case http::field::transfer_encoding: {
        Refusal r = check_transfer_encoding(sv(value));
        if (r) return refuse(r.status, r.reason, ec);
        head_.chunked = true;
        break;
    }
    case http::field::host:
        if (saw_host_) return refuse(400, "repeated Host header", ec);
        saw_host_ = true;
        break;
    case http::field::expect:
        if (iequals(trim_ows(sv(value)), "100-continue")) head_.expect_continue = true;
        break;
    default:
        break;
    }
    head_.headers->push_back({sv(name_string), sv(value)});
}

void RequestParser::on_header_impl(error_code &ec) {
    header_done_ = true;
    // RFC 9112 6.1: chunked on HTTP/1.0 is faulty framing; the connection must close after it
    if (head_.chunked && head_.version < 11)
        return refuse(400, "Transfer-Encoding on an HTTP/1.0 request", ec);
    head_.keep_alive = keep_alive();
    if (auto cl = content_length()) {
        head_.has_content_length = true;
        head_.content_length = *cl;
    }
    // 100-continue means nothing on HTTP/1.0 or without a body
    if (head_.version < 11 || !(head_.chunked || head_.content_length > 0))
        head_.expect_continue = false;
}

void RequestParser::on_body_init_impl(boost::optional<std::uint64_t> const &, error_code &) {}

size_t RequestParser::take_body(string_view body) {
    size_t n = body.size();
    if (n > sink_cap_ - sink_len_) n = sink_cap_ - sink_len_;
    if (n) std::memcpy(sink_ + sink_len_, body.data(), n);
    sink_len_ += n;
    return n;
}

std::size_t RequestParser::on_body_impl(string_view body, error_code &) { return take_body(body); }

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view, error_code &) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code &) {
    return take_body(body);
}

void RequestParser::on_finish_impl(error_code &) {}

}  // namespace uwsgi_http
