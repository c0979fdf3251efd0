// C++ conveniences over plugin.h for plugins written in C++. Not part of the ABI: everything
// here is inline and compiles into the plugin, so the core never sees a C++ type.
#pragma once

#include <uwsgi/plugin.h>

#include <charconv>
#include <string_view>

namespace uwsgi {

inline std::string_view view(uwsgi_str s) { return {s.ptr, s.len}; }
inline uwsgi_str str(std::string_view s) { return {s.data(), s.size()}; }

// The host table a plugin received in init(); one per plugin image.
class Host {
public:
    static void set(const uwsgi_host *h) { instance() = h; }
    static const uwsgi_host &get() { return *instance(); }

private:
    static const uwsgi_host *&instance() {
        static const uwsgi_host *h = nullptr;
        return h;
    }
};

inline void log(int level, const char *plugin, std::string_view msg) {
    Host::get().log(level, plugin, msg.data(), msg.size());
}

// The value of a request var, empty when absent.
inline std::string_view var(const uwsgi_request *req, std::string_view key) {
    uwsgi_str v{nullptr, 0};
    if (Host::get().req_var(req, key.data(), key.size(), &v) != UWSGI_OK) return {};
    return view(v);
}

// The core's effective value of a setting (ABI 1.1 host->setting): "buffer-size", "limit-post",
// "socket-timeout", "max-vars", ... as listed in plugin.h. 0 for a name this core does not know.
inline int64_t setting(const uwsgi_host &host, const char *name) {
    int64_t v = 0;
    return host.setting(name, &v) == UWSGI_OK ? v : 0;
}
inline int64_t setting(const char *name) { return setting(Host::get(), name); }

// Answers a complete small response: `status` ("404 Not Found"), a Content-Type, and `body` with
// its Content-Length counted here. The one writer of short answers (errors, plain text) for the
// plugins and the core alike; allocates nothing. UWSGI_OK or the failing host call's code.
inline int respond(const uwsgi_host &host, uwsgi_request *req, std::string_view status,
                   std::string_view body, std::string_view content_type = "text/plain") {
    char length[24];
    auto counted = std::to_chars(length, length + sizeof length, body.size());
    uwsgi_header headers[] = {
        {str("Content-Type"), str(content_type)},
        {str("Content-Length"), str({length, size_t(counted.ptr - length)})},
    };
    int r = host.resp_start(req, status.data(), status.size(), headers, 2);
    if (r != UWSGI_OK || body.empty()) return r;
    return host.resp_write(req, body.data(), body.size());
}

// The standard reason phrase of an HTTP status code ("Unknown" when unknown), for protocols that
// complete a status line the app gave as a bare code.
inline std::string_view reason_phrase(int code) {
    switch (code) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 103: return "Early Hints";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non-Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 207: return "Multi-Status";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 418: return "I'm a teapot";
        case 421: return "Misdirected Request";
        case 422: return "Unprocessable Content";
        case 425: return "Too Early";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 451: return "Unavailable For Legal Reasons";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        case 507: return "Insufficient Storage";
        case 511: return "Network Authentication Required";
        default: return "Unknown";
    }
}

// The numeric code at the start of a status line such as "200 OK" (0 when there is none).
inline int status_code(std::string_view status) {
    int code = 0;
    size_t i = 0;
    for (; i < status.size() && i < 3 && status[i] >= '0' && status[i] <= '9'; ++i)
        code = code * 10 + (status[i] - '0');
    return i == 3 ? code : 0;
}

}  // namespace uwsgi
