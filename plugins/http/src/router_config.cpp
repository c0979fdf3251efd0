#include "router_config.hpp"

#include <uwsgi/plugin.hpp>

#include <cstddef>
#include <cstring>

namespace uwsgi_http {
namespace {

bool flag(const uwsgi_host &host, const char *name) {
    const char *v = host.opt_get(name);
    return v && std::strcmp(v, "false") != 0;
}

// A whole number from lo to hi; false with the error set.
bool number(const uwsgi_host &host, const char *name, int64_t lo, int64_t hi, int64_t &out,
            std::string &error) {
    const char *s = host.opt_get(name);
    if (!s) return true;
    int64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && v <= hi; ++p) v = v * 10 + (*p - '0');
    if (p == s || *p || v < lo || v > hi) {
        error = std::string("--") + name + " " + s + ": expected a number from " +
                std::to_string(lo) + " to " + std::to_string(hi);
        return false;
    }
    out = v;
    return true;
}

// --https ADDR,CERT,KEY[,CIPHERS,CA]: the certificate and key are loaded and checked now, in the
// master, so a bad one stops start-up with the core's error.
bool load_https(const uwsgi_host &host, RouterConfig &cfg, std::string &error) {
    size_t n = host.opt_count("https");
    if (n == 0) return true;
    if (host.struct_size < offsetof(uwsgi_host, tls_close) + sizeof host.tls_close) {
        error = "--https: this core offers no TLS to plugins (it predates host->tls_server); "
                "use --https-socket or a newer core";
        return false;
    }
    for (size_t i = 0; i < n; ++i) {
        std::string value = host.opt_at("https", i);
        char reason[512];
        void *ctx = host.tls_server("https", value.c_str(), reason, sizeof reason);
        if (!ctx) {
            error = reason;
            return false;
        }
        cfg.listen.push_back({"https", value.substr(0, value.find(',')), ctx});
    }
    return true;
}

}  // namespace

bool load_router_config(const uwsgi_host &host, RouterConfig &cfg, std::string &error) {
    for (size_t i = 0, n = host.opt_count("http"); i < n; ++i)
        cfg.listen.push_back({"http", host.opt_at("http", i), nullptr});
    if (!load_https(host, cfg, error)) return false;
    for (size_t i = 0, n = host.opt_count("http-to"); i < n; ++i) cfg.to.push_back(host.opt_at("http-to", i));
    int64_t processes = cfg.processes, timeout = cfg.timeout_ms / 1000;
    if (!number(host, "http-processes", 1, 64, processes, error) ||
        !number(host, "http-timeout", 1, 86400, timeout, error))
        return false;
    cfg.processes = int(processes);
    cfg.timeout_ms = timeout * 1000;
    // uWSGI's --http-keepalive takes an optional value; any value but false turns it on
    cfg.keepalive = flag(host, "http-keepalive");
    cfg.auto_chunked = flag(host, "http-auto-chunked");
    cfg.proxy_protocol = flag(host, "http-enable-proxy-protocol");
    cfg.buffer_size = size_t(uwsgi::setting(host, "buffer-size"));
    cfg.max_vars = size_t(uwsgi::setting(host, "max-vars"));
    cfg.limit_post = uint64_t(uwsgi::setting(host, "limit-post"));
    return true;
}

}  // namespace uwsgi_http
