#include "response_relay.hpp"

#include <cstdio>
#include <strings.h>

namespace uwsgi_http {
namespace {

bool name_is(std::string_view name, std::string_view want) {
    return name.size() == want.size() && strncasecmp(name.data(), want.data(), want.size()) == 0;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

}  // namespace

RelayPlan plan_response(std::string_view in, size_t limit, const ClientWants &wants,
                        std::string &out) {
    RelayPlan p;
    size_t end = in.substr(0, limit).find("\r\n\r\n");
    if (end == std::string_view::npos) {
        p.bad = in.size() >= limit || (in.size() >= 5 && in.substr(0, 5) != "HTTP/");
        return p;
    }
    p.head_length = end + 4;
    std::string_view head = in.substr(0, end);
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
        p.bad = true;
        return p;
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (status_line[i] < '0' || status_line[i] > '9') {
            p.bad = true;
            return p;
        }
        status = status * 10 + (status_line[i] - '0');
    }
    p.no_body = wants.is_head || status < 200 || status == 204 || status == 304;
    // the client gets the version the router speaks
    out.append("HTTP/1.1");
    out.append(status_line.substr(8));
    out.append("\r\n");
    bool worker_chunked = false;
    std::string_view rest = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
    while (!rest.empty()) {
        size_t e = rest.find("\r\n");
        std::string_view line = rest.substr(0, e);
        rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
        if (name_is(name, "Connection") || name_is(name, "Keep-Alive")) continue;  // ours
        if (name_is(name, "Content-Length")) {
            uint64_t v = 0;
            bool ok = !value.empty();
            for (char c : value) {
                if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) ok = false;
                else v = v * 10 + uint64_t(c - '0');
            }
            if (!ok || p.has_length) {
                p.bad = true;
                return p;
            }
            p.has_length = true;
            p.content_length = v;
        }
        if (name_is(name, "Transfer-Encoding")) worker_chunked = true;  // passed through raw
        out.append(line);
        out.append("\r\n");
    }
    p.chunk = !p.no_body && !p.has_length && !worker_chunked && wants.auto_chunked &&
              wants.http11;
    if (p.chunk) out.append("Transfer-Encoding: chunked\r\n");
    // a body that only the worker's close delimits ends the client connection too
    p.keep_alive = wants.keep_alive && (p.no_body || p.has_length || p.chunk);
    out.append(p.keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    p.head_complete = true;
    return p;
}

void append_chunk(std::string &out, std::string_view piece) {
    if (piece.empty()) return;
    char size[24];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    out.append(size, size_t(n));
    out.append(piece);
    out.append("\r\n");
}

}  // namespace uwsgi_http
