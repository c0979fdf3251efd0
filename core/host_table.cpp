#include "host_table.hpp"

#include "sockets.hpp"

#include "app_table.hpp"
#include "clock.hpp"
#include "connection.hpp"
#include "error_text.hpp"
#include "extra_processes.hpp"
#include "lifecycle.hpp"
#include "mules.hpp"
#include "plugin_tls.hpp"
#include "request.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "signals.hpp"
#include "spooler.hpp"
#include "stats_snapshot.hpp"
#include "user_locks.hpp"
#include "settings.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>
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
// An option's values by its name; else the values of a key as the user typed it (an alias such
// as wsgi-file, or a file's key that is no option), so uwsgi.opt can be built as uWSGI does.
std::vector<const std::string *> typed_values(const char *name) {
    std::vector<const std::string *> out;
    for (auto &[key, value] : runtime().config.entries())
        if (key == name) out.push_back(&value);
    return out;
}
size_t opt_count(const char *name) {
    const Config &c = runtime().config;
    return c.has(name) ? c.all(name).size() : typed_values(name).size();
}
const char *opt_at(const char *name, size_t i) {
    const Config &c = runtime().config;
    if (c.has(name)) {
        auto &all = c.all(name);
        return i < all.size() ? all[i].c_str() : nullptr;
    }
    auto typed = typed_values(name);
    return i < typed.size() ? typed[i]->c_str() : nullptr;
}
// Every key the user set, as typed (uWSGI's exported options), in order; repeats included.
const char *opt_name_at(size_t i) {
    auto &entries = runtime().config.entries();
    return i < entries.size() ? entries[i].first.c_str() : nullptr;
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
    if (!name || runtime().library_mode) return;
    // PR_SET_NAME names the calling thread only, and apps call this from a request thread:
    // name the process's main thread, the one ps and top show.
    std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/comm";
    if (FILE *f = fopen(path.c_str(), "w")) {
        fputs(name, f);
        fclose(f);
    } else {
        prctl(PR_SET_NAME, name, 0, 0, 0);
    }
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

// The raw socket: a body left pending for an offload thread goes out first, so what the caller
// writes or shuts down (the http plugin's lingering close) comes after it.
int conn_fd(const uwsgi_conn *c) {
    flush_pending_body(const_cast<uwsgi_conn *>(c));
    return c->fd;
}
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

const void *get_extension(const char *id) {
    if (const void *e = runtime().registry.extension(id)) return e;
    return extension_from_inactive_provider(id);
}

uint32_t opt_kind(const char *name) {
    const OptionInfo *info = name ? runtime().options.find(name) : nullptr;
    return info ? info->opt->kind : 0;
}

int worker_stats(int32_t id, uwsgi_worker_stats *out) {
    if (!out || out->struct_size < sizeof(uint32_t) || id < 1 || id > scoreboard_size())
        return UWSGI_ERROR;
    const WorkerStats w = read_worker_counters(id);
    uwsgi_worker_stats st{};
    st.struct_size = sizeof st;
    st.id = id;
    st.pid = w.pid;
    st.busy = w.busy;
    st.accepting = w.accepting;
    st.cheaped = w.cheaped;
    st.requests = w.requests;
    st.tx = w.tx;
    st.running_time = w.running_time;
    st.avg_rt = w.avg_rt;
    st.respawn_count = w.respawn_count;
    st.last_spawn = w.last_spawn;
    st.exceptions = w.exceptions;
    st.signals = w.signals;
    st.running_signal = w.running_signal;
    st.paused = w.paused;
    // a caller built against an older, shorter struct gets what fits
    uint32_t n = out->struct_size < sizeof st ? out->struct_size : uint32_t(sizeof st);
    std::memcpy(reinterpret_cast<char *>(out) + sizeof(uint32_t),
                reinterpret_cast<const char *>(&st) + sizeof(uint32_t), n - sizeof(uint32_t));
    return UWSGI_OK;
}

uint64_t host_total_requests() { return total_requests(); }
int64_t started_on() { return runtime().started_on; }
int32_t is_a_reload() { return runtime().is_a_reload ? 1 : 0; }

void set_user_harakiri(int32_t secs) {
    int id = runtime().worker_id;
    if (id < 1) return;
    worker_slot(id).user_harakiri_ms.store(secs > 0 ? monotonic_ms() + int64_t(secs) * 1000 : 0);
}

void set_accepting(int32_t accepting) {
    int id = runtime().worker_id;
    if (id >= 1) worker_slot(id).accepting.store(accepting ? 1 : 0);
}

int32_t app_register(uint8_t modifier1, const char *mountpoint, const char *chdir,
                     int64_t startup_time) {
    int id = register_app_slot(modifier1, mountpoint ? mountpoint : "", chdir ? chdir : "",
                               startup_time);
    if (id < 0) spdlog::error("cannot register app '{}': {} apps already", mountpoint ? mountpoint : "", kMaxApps);
    return id < 0 ? UWSGI_ERROR : id;
}
// As uWSGI, an app's request counts when it starts (a request sees itself in the counters).
void req_set_app(uwsgi_request *r, int32_t app_id) {
    int id = runtime().worker_id;
    r->app_id = app_id >= 0 && app_id < app_count() && id >= 1 ? app_id : -1;
    if (r->app_id >= 0) app_counters(id, app_id).requests.fetch_add(1, std::memory_order_relaxed);
}
int app_counters_of(int32_t worker_id, int32_t app_id, uint64_t *requests, uint64_t *exceptions) {
    if (worker_id < 1 || worker_id > scoreboard_size() || app_id < 0 || app_id >= app_count())
        return UWSGI_ERROR;
    const AppCounters &c = app_counters(worker_id, app_id);
    if (requests) *requests = c.requests.load(std::memory_order_relaxed);
    if (exceptions) *exceptions = c.exceptions.load(std::memory_order_relaxed);
    return UWSGI_OK;
}

uwsgi_conn *req_conn(const uwsgi_request *r) { return r->conn; }
void req_log_this(uwsgi_request *r) { r->log_this = true; }
int req_set_logvar(uwsgi_request *r, const char *k, size_t kl, const char *v, size_t vl) {
    return r->set_logvar({k, kl}, {v, vl});
}
int req_get_logvar(const uwsgi_request *r, const char *k, size_t kl, uwsgi_str *v) {
    const uwsgi_request::Var *var = r->logvar({k, kl});
    if (!var) return UWSGI_ERROR;
    *v = {var->value.data(), var->value.size()};
    return UWSGI_OK;
}

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
    else if (n == "mules") *value = mule_count();
    else if (n == "router-socket-port" && router_socket_port()) *value = router_socket_port();
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
        h.opt_kind = opt_kind;
        h.worker_stats = worker_stats;
        h.total_requests = host_total_requests;
        h.started_on = started_on;
        h.is_a_reload = is_a_reload;
        h.set_user_harakiri = set_user_harakiri;
        h.set_accepting = set_accepting;
        h.req_conn = req_conn;
        h.req_log_this = req_log_this;
        h.req_set_logvar = req_set_logvar;
        h.req_get_logvar = req_get_logvar;
        h.lock = user_lock;
        h.unlock = user_unlock;
        h.is_locked = user_is_locked;
        h.lock_count = [] { return uint32_t(user_lock_count()); };
        h.ws_handshake = [](uwsgi_request *r, const char *k, size_t kl, const char *o, size_t ol,
                            const char *p, size_t pl) {
            auto view = [](const char *s, size_t n) { return s ? std::string_view(s, n) : ""; };
            return r->ws.handshake(r, view(k, kl), view(o, ol), view(p, pl));
        };
        h.ws_recv = [](uwsgi_request *r, int32_t nb, uwsgi_str *msg, uint8_t *opcode) {
            return r->ws.recv(nb, msg, opcode);
        };
        h.ws_send = [](uwsgi_request *r, uint8_t opcode, const void *buf, size_t len) {
            return r->ws.send(opcode, buf, len);
        };
        h.register_signal = signal_register;
        h.raise_signal = signal_raise;
        h.signal_registered = signal_is_registered;
        h.signal_wait = signal_wait;
        h.add_timer = signal_add_timer;
        h.add_cron = signal_add_cron;
        h.add_file_monitor = signal_add_file_monitor;
        h.register_process = register_process_kind;
        h.process_kind = current_process_kind;
        h.mule_msg = mule_msg;
        h.mule_get_msg = mule_get_msg;
        h.in_farm = in_farm;
        h.spool = spool_task;
        h.register_spooler = register_spooler_handler;
        h.spooler_read_task = read_spool_task;
        h.spooler_count = [] { return int32_t(spooler_process_count()); };
        h.spooler_pid = spooler_pid_of;
        h.spooler_dir = spooler_dir_of;
        h.spooler_index = this_spooler_index;
        h.set_spooler_frequency = set_spooler_frequency;
        h.app_register = app_register;
        h.req_set_app = req_set_app;
        h.app_counters = app_counters_of;
        h.tls_server = plugin_tls_server;
        h.tls_accept = plugin_tls_accept;
        h.tls_recv = plugin_tls_recv;
        h.tls_send = plugin_tls_send;
        h.tls_pending = plugin_tls_pending;
        h.tls_close = plugin_tls_close;
        h.listen_socket = [](const char *option, const char *address, char *error,
                             size_t error_size) {
            try {
                return plugin_listen_socket(option ? option : "", address ? address : "");
            } catch (const std::exception &e) {
                copy_error_text(e.what(), error, error_size);
                return UWSGI_ERROR;
            }
        };
        h.mule_file = mule_file;
        return h;
    }();
    return table;
}

}  // namespace core
