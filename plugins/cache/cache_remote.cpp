#include "cache_remote.hpp"

#include <uwsgi/packet.hpp>
#include <uwsgi/plugin.hpp>

#include <string>

namespace cache {

namespace {

int answer(const uwsgi_host &host, uwsgi_request *req, std::string_view value, bool with_value) {
    std::string vars;
    uwsgi::packet::append_item(vars, "status");
    uwsgi::packet::append_item(vars, "ok");
    if (with_value) {
        uwsgi::packet::append_item(vars, "size");
        uwsgi::packet::append_item(vars, std::to_string(value.size()));
    }
    std::string out;
    uwsgi::packet::append_header(out, {kRemoteModifier1, uint16_t(vars.size()), kRemoteMagic});
    out += vars;
    out += value;
    host.resp_write(req, out.data(), out.size());  // a peer gone is its own loss
    return UWSGI_OK;
}

uint64_t number(std::string_view s) {
    uint64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return 0;
        n = n * 10 + uint64_t(c - '0');
    }
    return n;
}

}  // namespace

int serve_remote(const uwsgi_host &host, uwsgi_request *req,
                 const std::function<Table *(std::string_view)> &find) {
    if (host.req_modifier2(req) != kRemoteMagic) {
        uwsgi::log(UWSGI_LOG_WARN, "cache",
                   "remote cache request with modifier2 " +
                       std::to_string(host.req_modifier2(req)) +
                       " is not supported (17: uWSGI's magic interface); connection closed");
        return UWSGI_OK;
    }
    std::string_view cmd = uwsgi::var(req, "cmd"), key = uwsgi::var(req, "key");
    Table *t = find(uwsgi::var(req, "cache"));
    if (!t) return UWSGI_OK;
    if (cmd == "get") {
        std::string value(t->spec().blocksize, '\0');
        int64_t n = t->get(key, value.data(), value.size());
        if (n < 0) return UWSGI_OK;
        value.resize(size_t(n));
        return answer(host, req, value, true);
    }
    if (cmd == "exists") return t->exists(key) ? answer(host, req, {}, false) : UWSGI_OK;
    if (cmd == "del") return t->del(key) == UWSGI_OK ? answer(host, req, {}, false) : UWSGI_OK;
    if (cmd == "clear") return t->clear() == UWSGI_OK ? answer(host, req, {}, false) : UWSGI_OK;
    if (cmd == "set" || cmd == "update") {
        uint64_t size = number(uwsgi::var(req, "size"));
        if (size == 0 || size > t->spec().blocksize) return UWSGI_OK;
        std::string value(size, '\0');
        size_t got = 0;
        while (got < size) {
            int64_t n = host.req_read(req, value.data() + got, size - got);
            if (n <= 0) return UWSGI_OK;
            got += size_t(n);
        }
        int rc = t->set(key, value, number(uwsgi::var(req, "expires")),
                        cmd == "update" ? UWSGI_CACHE_UPDATE : 0);
        return rc == UWSGI_OK ? answer(host, req, {}, false) : UWSGI_OK;
    }
    return UWSGI_OK;
}

}  // namespace cache
