#include "lifecycle.hpp"

#include "config_hooks.hpp"
#include "host_table.hpp"
#include "runtime.hpp"
#include "settings.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>

namespace core {

namespace {

// A plugin activated on demand during another plugin's init is initialised at once, so the
// init loop must not run it again.
std::vector<const LoadedPlugin *> g_initialized;
// Why a plugin initialised on demand (inside another plugin's init) failed: fatal as soon as
// the outer init returns, like any init failure (it used to be logged and the server served on).
std::string g_deferred_failure;

void init_pending() {
    // By index: an init may activate more plugins (extension_from_inactive_provider).
    auto &active = runtime().registry.active();
    for (size_t i = 0; i < active.size(); ++i) {
        const LoadedPlugin *p = active[i];
        if (std::find(g_initialized.begin(), g_initialized.end(), p) != g_initialized.end())
            continue;
        g_initialized.push_back(p);
        if (p->desc->init && p->desc->init(&host_table()) != 0)
            throw ConfigError(fmt::format("plugin {} ({}) failed to initialise; see the messages "
                                          "above",
                                          p->desc->name, p->path));
        if (!g_deferred_failure.empty()) throw ConfigError(std::exchange(g_deferred_failure, {}));
    }
}

}  // namespace

void run_init_hooks() { init_pending(); }

const void *extension_from_inactive_provider(const char *id) {
    Runtime &rt = runtime();
    if (rt.serving || g_initialized.empty()) return nullptr;
    try {
        const LoadedPlugin *p = rt.registry.activate_provider(id);
        if (!p) return nullptr;
        spdlog::info("plugin {} {} active ({}): it provides {}, which another plugin asked for",
                     p->desc->name, p->desc->version, p->path, id);
        init_pending();
    } catch (const std::exception &e) {
        spdlog::error("cannot activate the plugin that provides {}: {}", id, e.what());
        if (g_deferred_failure.empty()) g_deferred_failure = e.what();
        return nullptr;
    }
    return rt.registry.extension(id);
}

void run_load_apps() {
    for (auto *p : runtime().registry.active())
        if (p->desc->load_apps && p->desc->load_apps() < 0)
            throw ConfigError(fmt::format("plugin {} failed to load its app; see the messages "
                                          "above",
                                          p->desc->name));
}

void check_need_app() {
    if (!runtime().apps.empty()) return;
    if (settings().need_app) {
        spdlog::error("no app loaded. exiting (use --need-app=false to serve anyway)");
        throw NeedAppError{};
    }
    spdlog::warn("no app loaded; serving anyway (--need-app=false)");
}

void load_apps_with_hooks() {
    run_config_hooks(runtime().config, "pre-app");
    run_load_apps();
    check_need_app();
    run_config_hooks(runtime().config, "post-app");
}

void run_accepting_hooks() {
    try {
        run_config_hooks(runtime().config, "accepting");
    } catch (const ConfigError &e) {
        spdlog::error("worker {}: {}", runtime().worker_id, e.what());
    }
}

void run_post_fork_hooks() {
    for (auto *p : runtime().registry.active())
        if (p->desc->post_fork) p->desc->post_fork();
}

void run_thread_init_hooks() {
    for (auto *p : runtime().registry.active())
        if (p->desc->thread_init) p->desc->thread_init();
}

void run_shutdown_hooks() {
    for (auto *p : runtime().registry.active())
        if (p->desc->shutdown) p->desc->shutdown();
}

}  // namespace core
