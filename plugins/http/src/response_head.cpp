#include "response_head.hpp"

#include "text.hpp"

#include <cstring>

namespace uwsgi_http {
namespace {

bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        auto comma = list.find(',');
        auto tok = trim_ows(list.substr(0, comma));
        if (iequals(tok, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

bool has_crlf(std::string_view s) {
    return std::memchr(s.data(), '\r', s.size()) || std::memchr(s.data(), '\n', s.size());
}

bool parse_u64(std::string_view s, uint64_t &v) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.empty() || s.size() > 19) return false;
    v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

void append_u64(std::string &out, uint64_t n) {
    char digits[24];
    char *end = digits + sizeof digits, *p = end;
    do *--p = static_cast<char>('0' + n % 10);
    while (n /= 10);
    out.append(p, static_cast<size_t>(end - p));
}

std::string_view view(uwsgi_str s) { return {s.ptr ? s.ptr : "", s.len}; }

}  // namespace


const char *build_response_head(std::string &out, std::string_view status,
                                const uwsgi_header *headers, size_t nheaders,
                                std::string_view extra_headers, const RequestFacts &req,
                                ResponsePlan &plan) {
    while (!status.empty() && status.front() == ' ') status.remove_prefix(1);
    while (!status.empty() && (status.back() == ' ' || status.back() == '\t'))
        status.remove_suffix(1);
    if (status.size() < 3 || status[0] < '1' || status[0] > '5' || status[1] < '0' ||
        status[1] > '9' || status[2] < '0' || status[2] > '9' ||
        (status.size() > 3 && status[3] != ' ') || has_crlf(status))
        return "invalid status line";
    int code = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');

    bool app_close = false, has_length = false, has_te = false;
    uint64_t length = 0;
    for (size_t i = 0; i < nheaders; ++i) {
        auto name = view(headers[i].name), value = view(headers[i].value);
        if (name.empty() || has_crlf(name) || has_crlf(value) ||
            name.find(':') != std::string_view::npos)
            return "invalid response header";
        if (iequals(name, "content-length")) {
            uint64_t v;
            if (!parse_u64(value, v) || (has_length && v != length))
                return "invalid Content-Length in the response";
            has_length = true;
            length = v;
        } else if (iequals(name, "transfer-encoding")) {
            has_te = true;
        } else if (iequals(name, "connection")) {
            if (has_token(value, "close")) app_close = true;
        }
    }

    plan.status = code;
    plan.content_length = length;
    bool bodyless = code < 200 || code == 204 || code == 304;
    if (req.is_head || bodyless)
        plan.framing = Framing::none;
    else if (has_te)
        plan.framing = Framing::raw;
    else if (has_length)
        plan.framing = Framing::length;
    else if (req.version >= 11)
        plan.framing = Framing::chunked;
    else
        plan.framing = Framing::close;
    plan.keep_alive = req.keep_alive && !app_close && plan.framing != Framing::close &&
                      plan.framing != Framing::raw;

    out.append(req.version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
    out.append(status.data(), 3);
    out.push_back(' ');
    if (status.size() > 4)
        out.append(status.substr(4));
    else
        out.append(reason_phrase(code));
    out.append("\r\n");
    for (size_t i = 0; i < nheaders; ++i) {
        auto name = view(headers[i].name);
        // Connection is hop-by-hop: ours says what this connection does
        if (iequals(name, "connection")) continue;
        out.append(name);
        out.append(": ");
        out.append(view(headers[i].value));
        out.append("\r\n");
    }
    out.append(extra_headers);
    if (plan.framing == Framing::chunked) out.append("Transfer-Encoding: chunked\r\n");
    if (!plan.keep_alive)
        out.append("Connection: close\r\n");
    else if (req.version < 11)
        out.append("Connection: keep-alive\r\n");
    out.append("\r\n");
    return nullptr;
}

void build_error_response(std::string &out, int status, std::string_view extra_headers) {
    auto reason = reason_phrase(status);
    out.append("HTTP/1.1 ");
    append_u64(out, static_cast<uint64_t>(status));
    out.push_back(' ');
    out.append(reason);
    out.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
    append_u64(out, reason.size() + 1);
    out.append("\r\nConnection: close\r\n");
    out.append(extra_headers);
    out.append("\r\n");
    out.append(reason);
    out.push_back('\n');
}

void append_chunk_size(std::string &out, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char digits[20];
    char *end = digits + sizeof digits, *p = end;
    do *--p = hex[len & 15];
    while (len >>= 4);
    out.append(p, static_cast<size_t>(end - p));
    out.append("\r\n");
}

}  // namespace uwsgi_http
