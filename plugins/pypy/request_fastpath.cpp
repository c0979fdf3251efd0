#include "request_fastpath.hpp"

#include <uwsgi/plugin.hpp>

#include <cstdint>
#include <cstring>

namespace uwsgi_pypy {

namespace {

// Appends `part` and a NUL; false when it does not fit or holds a NUL itself.
bool append(char *buf, size_t cap, size_t &used, uwsgi_str part) {
    if (part.len + 1 > cap - used) return false;
    if (part.len) {
        if (std::memchr(part.ptr, 0, part.len)) return false;
        std::memcpy(buf + used, part.ptr, part.len);
    }
    used += part.len;
    buf[used++] = '\0';
    return true;
}

}  // namespace

int64_t pack_vars(const uwsgi_request *req, char *buf, size_t cap, size_t *keys_len,
                  int32_t *same_keys) {
    // This thread's keys of this call and of its last successful one (they swap roles when
    // they differ): fixed buffers, nothing allocated per request. Zero-initialised, so using it
    // costs no guard of a dynamic initialisation.
    struct KeyBuffers {
        char buf[2][16384];
        int last;     // the index of the last successful call's keys
        bool any;     // whether there was one
        size_t last_len;
    };
    thread_local KeyBuffers keys;
    char *now = keys.buf[1 - keys.last];
    const char *last = keys.buf[keys.last];
    const uwsgi_host &host = uwsgi::Host::get();
    size_t count = host.req_var_count(req);
    size_t used = 0, klen = 0;
    for (size_t i = 0; i < count; ++i) {
        uwsgi_str k{nullptr, 0}, v{nullptr, 0};
        if (host.req_var_at(req, i, &k, &v) != UWSGI_OK) continue;
        if (!append(buf, cap, used, v) || !append(now, sizeof keys.buf[0], klen, k)) return -1;
    }
    *keys_len = klen;
    *same_keys = keys.any && klen == keys.last_len && std::memcmp(now, last, klen) == 0;
    if (!*same_keys) {
        if (klen > cap - used) return -1;
        std::memcpy(buf + used, now, klen);
        keys.last = 1 - keys.last;
        keys.any = true;
        keys.last_len = klen;
    }
    return int64_t(used);
}

int respond(uwsgi_request *req, const char *status, size_t status_len, const char *blob,
            const uint32_t *lens, size_t nheaders, const void *body, size_t body_len,
            int32_t *failed_at) {
    const uwsgi_host &host = uwsgi::Host::get();
    // The script sends at most this many headers this way (more go through resp_start), so
    // the array lives on the stack: nothing is allocated per request.
    constexpr size_t kMax = 64;
    *failed_at = 0;
    if (nheaders > kMax) return UWSGI_ERROR;
    uwsgi_header headers[kMax];
    size_t pos = 0;
    for (size_t i = 0; i < nheaders; ++i) {
        headers[i].name = {blob + pos, lens[2 * i]};
        pos += lens[2 * i];
        headers[i].value = {blob + pos, lens[2 * i + 1]};
        pos += lens[2 * i + 1];
    }
    int rc = host.resp_start(req, status, status_len, headers, nheaders);
    if (rc != UWSGI_OK || body_len == 0) return rc;
    *failed_at = 1;
    return host.resp_write(req, body, body_len);
}

}  // namespace uwsgi_pypy
