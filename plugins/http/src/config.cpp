#include "config.hpp"

#include <cstring>
#include <string_view>

namespace uwsgi_http {
namespace {

// Accepts plain decimal numbers with an optional k/m/g suffix (powers of 1024).
bool parse_size(const char *s, uint64_t &out) {
    if (!s || !*s) return false;
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; ++p) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + static_cast<uint64_t>(*p - '0');
    }
    if (p == s) return false;
    int shift = 0;
    switch (*p) {
    case '\0': break;
    case 'k': case 'K': shift = 10; ++p; break;
    case 'm': case 'M': shift = 20; ++p; break;
    case 'g': case 'G': shift = 30; ++p; break;
    default: return false;
    }
    if (*p) return false;
    if (shift && v > (UINT64_MAX >> shift)) return false;
    out = v << shift;
    return true;
}

bool read_size(const uwsgi_host &host, const char *name, uint64_t &out, std::string &error) {
    const char *v = host.opt_get(name);
    if (!v) return true;
    if (!parse_size(v, out)) {
        error = std::string("--") + name + " " + v + ": expected a number of bytes";
        return false;
    }
    return true;
}

bool read_modifier(const uwsgi_host &host, const char *name, uint8_t &out, std::string &error) {
    uint64_t v = out;
    const char *s = host.opt_get(name);
    if (!s) return true;
    if (!parse_size(s, v) || v > 255) {
        error = std::string("--") + name + " " + s + ": expected a number from 0 to 255";
        return false;
    }
    out = static_cast<uint8_t>(v);
    return true;
}

}  // namespace

bool load_config(const uwsgi_host &host, Config &cfg, std::string &error) {
    uint64_t buffer_size = cfg.buffer_size, max_vars = cfg.max_vars;
    if (!read_size(host, "buffer-size", buffer_size, error) ||
        !read_size(host, "limit-post", cfg.limit_post, error) ||
        !read_size(host, "max-vars", max_vars, error) ||
        !read_modifier(host, "http-socket-modifier1", cfg.modifier1, error) ||
        !read_modifier(host, "http-socket-modifier2", cfg.modifier2, error))
        return false;
    if (buffer_size < 64 || buffer_size > (1u << 30)) {
        error = "--buffer-size " + std::to_string(buffer_size) + ": expected 64 bytes to 1 GiB";
        return false;
    }
    cfg.buffer_size = static_cast<size_t>(buffer_size);
    uint64_t timeout_s = 4;
    if (const char *t = host.opt_get("socket-timeout"); t && parse_size(t, timeout_s) &&
                                                        timeout_s > 0 && timeout_s < 86400)
        cfg.head_timeout_ms = static_cast<int64_t>(timeout_s) * 1000;
    cfg.max_vars = static_cast<size_t>(max_vars);

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
