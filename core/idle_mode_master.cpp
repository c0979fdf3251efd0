// The master's side of --idle (idle_mode.cpp decides): stopping every worker, bringing them
// back, or stopping the server.
#include "master_process.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace core {

// --idle: all workers stop when nothing happens; a connection brings them back.
void Master::check_idle() {
    if (paused_) return;  // paused workers serve nothing: that is not idleness
    bool busy = false;
    for (size_t id = 1; id < pids_.size(); ++id)
        for (int c = 0; c < cores_per_worker() && pids_[id] > 0; ++c)
            busy = busy || core_slot(int(id), c).in_request.load();
    switch (idle_.check(busy, total_requests(), listeners_)) {
    case IdleMode::Step::Nothing:
        return;
    case IdleMode::Step::Die:
        return graceful_stop();
    case IdleMode::Step::GoCheap:
        for (size_t id = 1; id < pids_.size(); ++id) {
            set_cheaped(int(id), true);
            if (pids_[id] > 0) kill(pids_[id], SIGTERM);  // graceful; reap() leaves them down
        }
        spdlog::info("cheap mode enabled: waiting for socket connection...");
        return;
    case IdleMode::Step::WakeUp: {
        const int needed = cheaper_.settings().enabled() ? cheaper_.settings().min_workers
                                                         : int(pids_.size()) - 1;
        for (int id = 1; id <= needed; ++id) {
            set_cheaped(id, false);
            if (pids_[size_t(id)] <= 0) spawn(id);
        }
        return;
    }
    }
}

}  // namespace core
