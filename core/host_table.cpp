#include "host_table.hpp"

#include "connection.hpp"
#include "request.hpp"
#include "runtime.hpp"
#include "settings.hpp"

#include <spdlog/spdlog.h>

#include <sys/prctl.h>
#include <unistd.h>

namespace core {
namespace {

void host_log(int level, const char *plugin, const char *msg, size_t len) {
    auto lvl = level <= UWSGI_LOG_DEBUG  ? spdlog::level::debug
               : level == UWSGI_LOG_INFO ? spdlog::level::info
               : level == UWSGI_LOG_WARN ? spdlog::level::warn
                                         : spdlog::level::err;
    std::string_view text(msg, len);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (plugin && *plugin)
        spdlog::log(lvl, "[{}] {}", plugin, text);
    else
        spdlog::log(lvl, "{}", text);
}

const char *opt_get(const char *name) {
    const std::string *v = runtime().config.get(name);
    return v ? v->c_str() : nullptr;
}
size_t opt_count(const char *name) { return runtime().config.all(name).size(); }
const char *opt_at(const char *name, size_t i) {
    auto &all = runtime().config.all(name);
    return i < all.size() ? all[i].c_str() : nullptr;
}
const char *opt_name_at(size_t i) {
    auto &c = runtime().config;
    return i < c.size() ? c.name_at(i).c_str() : nullptr;
}

int32_t worker_id() { return runtime().worker_id; }
int32_t master_pid() { return runtime().master_pid; }
int32_t num_processes() { return settings().processes; }
int32_t num_threads() { return settings().threads; }

void register_app(const char *plugin, const char *description) {
    std::string line = std::string(plugin ? plugin : "?") + ": " + (description ? description : "");
    spdlog::info("app {} loaded ({})", runtime().apps.size(), line);
    runtime().apps.push_back(line);
}

void set_proc_name(const char *name) {
    // In library mode the process belongs to the host program: its name is left alone.
    if (name && !runtime().library_mode) prctl(PR_SET_NAME, name, 0, 0, 0);
}

uint8_t req_modifier1(const uwsgi_request *r) { return r->modifier1; }
uint8_t req_modifier2(const uwsgi_request *r) { return r->modifier2; }
size_t req_var_count(const uwsgi_request *r) { return r->vars.size(); }
int req_var_at(const uwsgi_request *r, size_t i, uwsgi_str *k, uwsgi_str *v) {
    if (i >= r->vars.size()) return UWSGI_ERROR;
    *k = {r->vars[i].key.data(), r->vars[i].key.size()};
    *v = {r->vars[i].value.data(), r->vars[i].value.size()};
    return UWSGI_OK;
}
int req_var(const uwsgi_request *r, const char *key, size_t klen, uwsgi_str *v) {
    for (auto &var : r->vars)
        if (var.key == std::string_view(key, klen)) {
            *v = {var.value.data(), var.value.size()};
            return UWSGI_OK;
        }
    return UWSGI_ERROR;
}
uint64_t req_id(const uwsgi_request *r) { return r->id; }
int resp_started(const uwsgi_request *r) { return r->started ? 1 : 0; }

int req_add_var(uwsgi_request *r, const char *k, size_t kl, const char *v, size_t vl) {
    return r->add_copy({k, kl}, {v, vl});
}
void req_set_modifiers(uwsgi_request *r, uint8_t m1, uint8_t m2) {
    r->modifier1 = m1;
    r->modifier2 = m2;
}

int conn_fd(const uwsgi_conn *c) { return c->fd; }
int conn_peer(const uwsgi_conn *c, uwsgi_str *addr, uint16_t *port) {
    *addr = {c->peer_addr.data(), c->peer_addr.size()};
    *port = c->peer_port;
    return UWSGI_OK;
}
int conn_local(const uwsgi_conn *c, uwsgi_str *addr, uint16_t *port) {
    *addr = {c->local_addr.data(), c->local_addr.size()};
    *port = c->local_port;
    return UWSGI_OK;
}

const void *get_extension(const char *id) { return runtime().registry.extension(id); }

// The settings plugin.h lists for host->setting, in that header's units.
int setting(const char *name, int64_t *value) {
    if (!name || !value) return UWSGI_ERROR;
    const Settings &s = settings();
    const std::string_view n = name;
    if (n == "buffer-size") *value = int64_t(s.buffer_size);
    else if (n == "max-vars") *value = int64_t(s.max_vars);
    else if (n == "limit-post") *value = s.limit_post;
    else if (n == "socket-timeout") *value = s.socket_timeout_ms / 1000;
    else if (n == "processes") *value = s.processes;
    else if (n == "threads") *value = s.threads;
    else if (n == "harakiri") *value = s.harakiri;
    else if (n == "max-requests") *value = s.max_requests;
    else if (n == "listen") *value = s.listen_backlog;
    else return UWSGI_ERROR;
    return UWSGI_OK;
}

}  // namespace

const uwsgi_host &host_table() {
    static const uwsgi_host table = [] {
        uwsgi_host h{};
        h.struct_size = sizeof(uwsgi_host);
        h.abi_major = UWSGI_ABI_MAJOR;
        h.abi_minor = UWSGI_ABI_MINOR;
        h.server_version = UWSGI_VERSION;
        h.log = host_log;
        h.opt_get = opt_get;
        h.opt_count = opt_count;
        h.opt_at = opt_at;
        h.opt_name_at = opt_name_at;
        h.worker_id = worker_id;
        h.master_pid = master_pid;
        h.num_processes = num_processes;
        h.num_threads = num_threads;
        h.reload = request_reload;
        h.stop = request_stop;
        h.register_app = register_app;
        h.set_proc_name = set_proc_name;
        h.req_modifier1 = req_modifier1;
        h.req_modifier2 = req_modifier2;
        h.req_var_count = req_var_count;
        h.req_var_at = req_var_at;
        h.req_var = req_var;
        h.req_id = req_id;
        h.req_read = req_read;
        h.resp_start = resp_start;
        h.resp_write = resp_write;
        h.resp_sendfile = resp_sendfile;
        h.resp_started = resp_started;
        h.req_add_var = req_add_var;
        h.req_set_modifiers = req_set_modifiers;
        h.conn_read = conn_read;
        h.conn_write = conn_write;
        h.conn_sendfile = conn_sendfile;
        h.conn_fd = conn_fd;
        h.conn_peer = conn_peer;
        h.conn_local = conn_local;
        h.get_extension = get_extension;
        h.setting = setting;  // ABI 1.1
        return h;
    }();
    return table;
}

}  // namespace core
