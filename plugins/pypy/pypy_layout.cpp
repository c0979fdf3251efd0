#include "pypy_layout.hpp"

#include <uwsgi/plugin.hpp>

#include <vector>

#include "pypy_api.h"

namespace uwsgi_pypy {

namespace {

enum class Rule {
    exact,        // must match
    exact_needed, // must match and must be reported
    at_most,      // the script's struct may be an older, shorter prefix
};

struct Entry {
    const char *what;
    size_t value;
    Rule rule;
};

#define FIELD(S, F, R) {#S "." #F, offsetof(S, F), Rule::R}

const Entry kEntries[] = {
    {"sizeof uwsgi_str", sizeof(uwsgi_str), Rule::exact},
    FIELD(uwsgi_str, ptr, exact),
    FIELD(uwsgi_str, len, exact),
    {"sizeof uwsgi_header", sizeof(uwsgi_header), Rule::exact},
    FIELD(uwsgi_header, name, exact),
    FIELD(uwsgi_header, value, exact),

    {"sizeof uwsgi_host", sizeof(uwsgi_host), Rule::at_most},
    FIELD(uwsgi_host, struct_size, exact),
    FIELD(uwsgi_host, abi_major, exact),
    FIELD(uwsgi_host, abi_minor, exact),
    FIELD(uwsgi_host, server_version, exact),
    FIELD(uwsgi_host, log, exact),
    FIELD(uwsgi_host, opt_get, exact),
    FIELD(uwsgi_host, opt_count, exact),
    FIELD(uwsgi_host, opt_at, exact),
    FIELD(uwsgi_host, opt_name_at, exact),
    FIELD(uwsgi_host, worker_id, exact),
    FIELD(uwsgi_host, master_pid, exact),
    FIELD(uwsgi_host, num_processes, exact),
    FIELD(uwsgi_host, num_threads, exact),
    FIELD(uwsgi_host, reload, exact),
    FIELD(uwsgi_host, stop, exact),
    FIELD(uwsgi_host, register_app, exact),
    FIELD(uwsgi_host, set_proc_name, exact),
    FIELD(uwsgi_host, req_modifier1, exact),
    FIELD(uwsgi_host, req_modifier2, exact),
    FIELD(uwsgi_host, req_var_count, exact),
    FIELD(uwsgi_host, req_var_at, exact),
    FIELD(uwsgi_host, req_var, exact),
    FIELD(uwsgi_host, req_id, exact),
    FIELD(uwsgi_host, req_read, exact),
    FIELD(uwsgi_host, resp_start, exact),
    FIELD(uwsgi_host, resp_write, exact),
    FIELD(uwsgi_host, resp_sendfile, exact),
    FIELD(uwsgi_host, resp_started, exact),
    FIELD(uwsgi_host, req_add_var, exact),
    FIELD(uwsgi_host, req_set_modifiers, exact),
    FIELD(uwsgi_host, conn_read, exact),
    FIELD(uwsgi_host, conn_write, exact),
    FIELD(uwsgi_host, conn_sendfile, exact),
    FIELD(uwsgi_host, conn_fd, exact),
    FIELD(uwsgi_host, conn_peer, exact),
    FIELD(uwsgi_host, conn_local, exact),
    FIELD(uwsgi_host, get_extension, exact),

    {"sizeof uwsgi_pypy_api", sizeof(uwsgi_pypy_api), Rule::exact_needed},
    FIELD(uwsgi_pypy_api, struct_size, exact_needed),
    FIELD(uwsgi_pypy_api, version, exact_needed),
    FIELD(uwsgi_pypy_api, check_layout, exact_needed),
    FIELD(uwsgi_pypy_api, host, exact_needed),
    FIELD(uwsgi_pypy_api, plugin_name, exact_needed),
    FIELD(uwsgi_pypy_api, setup_origin, exact_needed),
    FIELD(uwsgi_pypy_api, library_mode, exact_needed),
    FIELD(uwsgi_pypy_api, reserved, exact_needed),
    FIELD(uwsgi_pypy_api, load_apps, exact_needed),
    FIELD(uwsgi_pypy_api, post_fork, exact_needed),
    FIELD(uwsgi_pypy_api, request, exact_needed),
};

#undef FIELD

constexpr size_t kCount = sizeof kEntries / sizeof kEntries[0];
bool g_seen[kCount];
std::vector<std::string> g_errors;

void fail(const std::string &msg) {
    g_errors.push_back(msg);
    uwsgi::log(UWSGI_LOG_ERROR, "pypy", "layout mismatch: " + msg);
}

}  // namespace

extern "C" int check_layout(const char *what, size_t value) {
    if (!what) return -1;
    std::string w = what;
    for (size_t i = 0; i < kCount; ++i) {
        const Entry &e = kEntries[i];
        if (w != e.what) continue;
        g_seen[i] = true;
        bool ok = e.rule == Rule::at_most ? value <= e.value : value == e.value;
        if (ok) return 0;
        fail(w + " is " + std::to_string(value) + " in the setup script's cdef but " +
             std::to_string(e.value) + " in the plugin");
        return -1;
    }
    fail(w + " is in the setup script's cdef but unknown to the plugin");
    return -1;
}

void layout_reset() {
    for (bool &s : g_seen) s = false;
    g_errors.clear();
}

bool layout_has_errors() { return !g_errors.empty(); }

std::string layout_verdict() {
    std::string out;
    for (const auto &e : g_errors) out += (out.empty() ? "" : "; ") + e;
    bool any_seen = false;
    for (bool s : g_seen) any_seen = any_seen || s;
    if (!any_seen && out.empty())
        return "it never called check_layout(); it is not a setup script for uwsgi_pypy_api "
               "version " + std::to_string(UWSGI_PYPY_API_VERSION);
    for (size_t i = 0; i < kCount; ++i) {
        if (kEntries[i].rule == Rule::exact_needed && !g_seen[i])
            out += std::string(out.empty() ? "" : "; ") + kEntries[i].what +
                   " was not reported by the setup script's cdef";
    }
    return out;
}

}  // namespace uwsgi_pypy
