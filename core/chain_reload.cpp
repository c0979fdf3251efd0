#include "chain_reload.hpp"

#include "scoreboard.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace core {

void ChainReload::start() {
    if (next_) {
        spdlog::info("chain reload already running (at worker {})", next_);
        return;
    }
    spdlog::info("chain reload starting");
    next_ = 1;
    cursed_ = 0;
}

void ChainReload::step(const std::vector<pid_t> &pids, const std::vector<char> &cheaped) {
    while (next_) {
        if (next_ >= pids.size()) {
            next_ = 0;
            spdlog::info("chain reloading complete");
            return;
        }
        pid_t pid = pids[next_];
        if (cursed_) {
            if (pid == cursed_) return;  // still finishing its requests
            // replaced (or cheaped meanwhile): wait until the new one serves
            if (pid > 0 && !worker_slot(int(next_)).ready.load()) return;
            cursed_ = 0;
            ++next_;
            continue;
        }
        if (pid > 0 && !cheaped[next_]) {
            spdlog::info("chain next victim is worker {}", next_);
            cursed_ = pid;
            kill(pid, SIGHUP);
            return;
        }
        ++next_;
    }
}

}  // namespace core
