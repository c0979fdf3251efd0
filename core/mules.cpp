#include "mules.hpp"

#include "extra_processes.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

std::vector<std::string> g_specs;  // per mule id - 1: its --mule value ("" signal-only)

// A signal-only mule: its signal thread runs the handlers; the main thread only waits.
int run_mule(void *, int32_t id) {
    spdlog::info("mule {} ready (signal-only)", id);
    for (;;) pause();
}

}  // namespace

void register_mules(const Config &c) {
    for (auto &spec : c.all("mule")) g_specs.push_back(spec);
    if (const std::string *n = c.get("mules")) {
        int count = 0;
        try {
            count = std::stoi(*n);
        } catch (const std::exception &) {
            count = -1;
        }
        if (count < 0 || count > 1000)
            throw ConfigError("--mules " + *n + ": give a number of mules, 0..1000");
        for (int i = 0; i < count; ++i) g_specs.emplace_back();
    }
    if (g_specs.empty()) return;
    static uwsgi_process_kind kind{sizeof(uwsgi_process_kind), 0, "mule", run_mule, nullptr,
                                   nullptr};
    kind.count = int32_t(g_specs.size());
    if (register_process_kind(&kind) != UWSGI_OK)
        throw ConfigError("cannot start the mules; see the message above");
}

}  // namespace core
