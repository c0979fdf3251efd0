#include "request.hpp"

#include "offload.hpp"

#include <uwsgi/plugin.hpp>

#include <cstring>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

// Fixed, so setting a log variable never allocates.
static constexpr size_t kMaxLogvars = 32;

void uwsgi_request::configure(size_t buffer_size, size_t max_vars_, Storage storage) {
    max_vars = max_vars_;
    arena_size = arena_size_for(buffer_size);
    if (!storage.vars) {
        own_vars_.resize(max_vars);
        own_arena_.resize(arena_size);
        storage = {own_vars_.data(), own_arena_.data()};
    }
    vars.assign(storage.vars, max_vars);
    arena = storage.arena;
    logvars.reserve(kMaxLogvars);
}

void uwsgi_request::reset(uwsgi_conn *c, uint64_t request_id) {
    conn = c;
    modifier1 = modifier2 = 0;
    vars.clear();
    arena_used = 0;
    id = request_id;
    status = 0;
    bytes_sent = 0;
    header_count = body_writes = 0;
    head_bytes = 0;
    started = false;
    log_this = false;
    via = Via::none;
    app_id = -1;
    logvars.clear();
    ws.reset();
}

int uwsgi_request::add_view(std::string_view key, std::string_view value) {
    if (vars.size() >= max_vars) {
        spdlog::warn("request has more than --max-vars {} vars; refused", max_vars);
        return UWSGI_ELIMIT;
    }
    vars.push_back({key, value});
    return UWSGI_OK;
}

bool uwsgi_request::copy_pair(std::string_view key, std::string_view value, Var &out) {
    if (arena_used + key.size() + value.size() > arena_size) return false;
    char *k = arena + arena_used;
    // an empty view may have no data pointer, and memcpy from nullptr is undefined even for 0
    if (!key.empty()) std::memcpy(k, key.data(), key.size());
    char *v = k + key.size();
    if (!value.empty()) std::memcpy(v, value.data(), value.size());
    arena_used += key.size() + value.size();
    out = {{k, key.size()}, {v, value.size()}};
    return true;
}

int uwsgi_request::add_copy(std::string_view key, std::string_view value) {
    Var copy;
    if (!copy_pair(key, value, copy)) {
        spdlog::warn("request vars exceed the space --buffer-size allows; refused");
        return UWSGI_ELIMIT;
    }
    return add_view(copy.key, copy.value);
}

char *uwsgi_request::reserve(size_t n) {
    if (arena_used + n > arena_size) return nullptr;
    char *p = arena + arena_used;
    arena_used += n;
    return p;
}

const uwsgi_request::Var *uwsgi_request::logvar(std::string_view key) const {
    for (auto &v : logvars)
        if (v.key == key) return &v;
    return nullptr;
}

int uwsgi_request::set_logvar(std::string_view key, std::string_view value) {
    const Var *old = logvar(key);
    if (!old && logvars.size() >= kMaxLogvars) {
        spdlog::warn("more than {} log variables in one request; {} ignored", kMaxLogvars, key);
        return UWSGI_ELIMIT;
    }
    Var copy;
    if (!copy_pair(key, value, copy)) {
        spdlog::warn("log variable {} does not fit in the request's space; ignored", key);
        return UWSGI_ELIMIT;
    }
    if (old) *const_cast<Var *>(old) = copy;
    else logvars.push_back(copy);
    return UWSGI_OK;
}

std::string_view uwsgi_request::var(std::string_view key) const {
    for (auto &v : vars)
        if (v.key == key) return v.value;
    return {};
}

namespace core {

int resp_start(uwsgi_request *req, const char *status, size_t status_len,
               const uwsgi_header *headers, size_t nheaders) {
    if (req->started) {
        spdlog::error("response already started; a second start_response is ignored");
        return UWSGI_ERROR;
    }
    int code = uwsgi::status_code({status, status_len});
    if (code >= 100 && code < 200) {
        // 1xx is informational, never a final answer: the client would wait for the real one
        // (or take the body for the next response). Refused; the core answers 500.
        spdlog::error("refused the app's final status '{}': a 1xx status is not a final answer",
                      std::string_view(status, status_len));
        return UWSGI_ERROR;
    }
    req->started = true;
    req->status = code;
    req->header_count = uint32_t(nheaders);
    req->head_bytes = status_len + 4;  // " STATUS\r\n" after the protocol, "\r\n" at the end
    for (size_t i = 0; i < nheaders; ++i)
        req->head_bytes += headers[i].name.len + headers[i].value.len + 4;  // ": ", "\r\n"
    uwsgi_conn *c = req->conn;
    return c->protocol->write_head(c->state, req, {status, status_len}, headers, nheaders);
}

int resp_write(uwsgi_request *req, const void *buf, size_t len) {
    uwsgi_conn *c = req->conn;
    int r = c->protocol->write_body(c->state, req, buf, len);
    ++req->body_writes;
    if (r == UWSGI_OK) req->bytes_sent += len;
    return r;
}

int resp_sendfile(uwsgi_request *req, int fd, int64_t offset, int64_t count) {
    if (count < 0) {  // to the end of the file
        struct stat st;
        if (fstat(fd, &st) != 0) return UWSGI_ERROR;
        count = st.st_size > offset ? st.st_size - offset : 0;
    }
    uwsgi_conn *c = req->conn;
    if (count > 0) req->via = uwsgi_request::Via::sendfile;  // as uWSGI: also when framed below
    if (c->protocol->sendfile) {
        // --offload-threads: static files and wsgi.file_wrapper alike (as uWSGI), when the
        // protocol sends the file itself; the connection leaves the body pending (offload.hpp)
        c->offload_sendfile = core::offload_available() && !c->tls;
        int r = c->protocol->sendfile(c->state, req, fd, offset, count);
        c->offload_sendfile = false;
        if (r == UWSGI_OK) req->bytes_sent += uint64_t(count);
        if (r != 1) return r;
    }
    // Through the protocol's framing (chunked, HEAD) when it cannot send the file itself.
    char buf[65536];
    while (count != 0) {
        size_t want = count < 0 || count > int64_t(sizeof buf) ? sizeof buf : size_t(count);
        ssize_t n = pread(fd, buf, want, offset);
        if (n < 0) return UWSGI_ERROR;
        if (n == 0) break;
        if (int r = resp_write(req, buf, size_t(n)); r != UWSGI_OK) return r;
        offset += n;
        if (count > 0) count -= n;
    }
    return UWSGI_OK;
}

int64_t req_read(uwsgi_request *req, void *buf, size_t len) {
    uwsgi_conn *c = req->conn;
    return c->protocol->read_body(c->state, req, buf, len);
}

}  // namespace core
