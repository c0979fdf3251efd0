#include "pypy_layout.hpp"

#include <uwsgi/plugin.hpp>

#include <vector>

#include "pypy_api.h"
#include <uwsgi/cache.h>
#include <uwsgi/rpc.h>

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

// Every struct and field the setup script's cdef reports, generated from the headers with the
// script's own list (gen_setup.py), so the two sides check the same things.
#define LAYOUT_SIZE(S, R) {"sizeof " #S, sizeof(S), Rule::R},
#define LAYOUT_FIELD(S, F, R) {#S "." #F, offsetof(S, F), Rule::R},
const Entry kEntries[] = {
#include "pypy_layout_fields.inc"
};
#undef LAYOUT_SIZE
#undef LAYOUT_FIELD

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
