#include "lifecycle.hpp"

#include "host_table.hpp"
#include "runtime.hpp"
#include "settings.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace core {

void run_init_hooks() {
    for (auto *p : runtime().registry.active())
        if (p->desc->init && p->desc->init(&host_table()) != 0)
            throw ConfigError(fmt::format("plugin {} ({}) failed to initialise; see the messages "
                                          "above",
                                          p->desc->name, p->path));
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
