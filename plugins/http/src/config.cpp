#include "config.hpp"

#include <uwsgi/plugin.hpp>

#include <cstring>
#include <string_view>

namespace uwsgi_http {
namespace {

// A modifier: a plain decimal number from 0 to 255.
bool read_modifier(const uwsgi_host &host, const char *name, uint8_t &out, std::string &error) {
    const char *s = host.opt_get(name);
    if (!s) return true;
    unsigned v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && v <= 255; ++p) v = v * 10 + unsigned(*p - '0');
    if (p == s || *p || v > 255) {
        error = std::string("--") + name + " " + s + ": expected a number from 0 to 255";
        return false;
    }
    out = static_cast<uint8_t>(v);
    return true;
}

// --http-body-timeout SECS: a whole number of seconds, 0 for no limit.
bool read_body_timeout(const uwsgi_host &host, int64_t &out_ms, std::string &error) {
    const char *s = host.opt_get("http-body-timeout");
    if (!s) return true;
    int64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && v <= 86400; ++p) v = v * 10 + (*p - '0');
    if (p == s || *p || v > 86400) {
        error = std::string("--http-body-timeout ") + s +
                ": expected seconds from 0 (no limit) to 86400";
        return false;
    }
    out_ms = v * 1000;
    return true;
}

}  // namespace

bool load_config(const uwsgi_host &host, Config &cfg, std::string &error) {
    if (!read_modifier(host, "http-socket-modifier1", cfg.modifier1, error) ||
        !read_modifier(host, "http-socket-modifier2", cfg.modifier2, error) ||
        !read_body_timeout(host, cfg.body_timeout_ms, error))
        return false;
    // The core's effective limits: it parsed and bounded them already.
    cfg.buffer_size = static_cast<size_t>(uwsgi::setting(host, "buffer-size"));
    cfg.limit_post = static_cast<uint64_t>(uwsgi::setting(host, "limit-post"));
    cfg.max_vars = static_cast<size_t>(uwsgi::setting(host, "max-vars"));
    cfg.head_timeout_ms = uwsgi::setting(host, "socket-timeout") * 1000;

    const char *proxy = host.opt_get("enable-proxy-protocol");
    cfg.proxy_protocol = proxy && std::strcmp(proxy, "false") != 0;

    cfg.extra_headers.clear();
    size_t n = host.opt_count("add-header");
    for (size_t i = 0; i < n; ++i) {
        const char *h = host.opt_at("add-header", i);
        std::string_view line = h ? h : "";
        auto colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos ||
            line.find_first_of("\r\n") != std::string_view::npos ||
            line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
            error = "--add-header \"" + std::string(line) + "\": expected \"Name: value\"";
            return false;
        }
        cfg.extra_headers.append(line);
        cfg.extra_headers.append("\r\n");
    }
    return true;
}

}  // namespace uwsgi_http
