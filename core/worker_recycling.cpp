#include "worker_recycling.hpp"

#include "clock.hpp"
#include "scoreboard.hpp"
#include "settings.hpp"
#include "stats_snapshot.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <ctime>
#include <unistd.h>

namespace core {

void WorkerRecycler::check(const std::vector<pid_t> &pids, const std::vector<char> &cheaped) {
    const Settings &set = settings();
    retiring_.resize(pids.size(), 0);
    const int64_t now = int64_t(time(nullptr));
    // uWSGI's memory collector reads every worker's rss every 3 s for the evil checks
    const bool memory_due = set.evil_reload_on_rss && monotonic_ms() >= next_memory_check_ms_;
    if (memory_due) next_memory_check_ms_ = monotonic_ms() + 3000;
    for (size_t id = 1; id < pids.size(); ++id) {
        pid_t pid = pids[id];
        if (pid <= 0) continue;
        if (memory_due) {
            uint64_t rss = 0, vsz = 0;
            if (process_memory(pid, rss, vsz) && rss >= set.evil_reload_on_rss) {
                spdlog::warn("*** EVIL RELOAD ON WORKER {} RSS: {} (pid: {}) ***", id, rss, pid);
                kill(pid, SIGKILL);
                continue;
            }
        }
        if (!set.max_worker_lifetime_s || cheaped[id] || retiring_[id] == pid) continue;
        int64_t lifetime = now - worker_slot(int(id)).last_spawn.load();
        if (lifetime > set.max_worker_lifetime_s + int64_t(id - 1) * set.max_worker_lifetime_delta_s) {
            spdlog::info("worker {} lifetime reached, it was running for {} second(s)", id,
                         lifetime);
            retiring_[id] = pid;
            kill(pid, SIGHUP);  // graceful: it finishes its requests, the master respawns it
        }
    }
}

bool reload_on_rss_reached(int worker_id) {
    const uint64_t limit = settings().reload_on_rss;
    uint64_t rss = 0, vsz = 0;
    if (!limit || !process_memory(getpid(), rss, vsz) || rss < limit) return false;
    const int64_t age = int64_t(time(nullptr)) - worker_slot(worker_id).last_spawn.load();
    if (age < settings().min_worker_lifetime_s) return false;  // uWSGI spares young workers
    // uWSGI's line (its newer form, with the reason), worker id added
    spdlog::info("...The work of process {} is done (reload-on-rss limit reached ({} >= {})). "
                 "Seeya! (worker {})", getpid(), rss, limit, worker_id);
    return true;
}

}  // namespace core
