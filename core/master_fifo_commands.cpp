// The master fifo's letters (master_fifo.cpp reads them) as the master's actions.
#include "master_process.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace core {

void Master::brutal_stop() {
    if (phase_ != Phase::Shutdown) on_control_signal(SIGINT);
    kill_workers("brutal stop (master fifo Q)");
}

void Master::chain_reload() {
    if (phase_ == Phase::Serving) chain_.start();
}

void Master::reload_workers(bool brutal) {
    if (phase_ != Phase::Serving) return;
    spdlog::info("{} reload of the workers requested", brutal ? "brutal" : "graceful");
    signal_workers(brutal ? SIGKILL : SIGHUP);  // each is respawned as it ends
}

// uWSGI's words, so scripts reading the log keep working.
void Master::log_stats() {
    spdlog::info("\tworkers total requests: {}", total_requests());
    for (size_t id = 1; id < pids_.size(); ++id) {
        const WorkerSlot &slot = worker_slot(int(id));
        spdlog::info("\tworker {} (pid {}) requests: {} exceptions: {}{}", id, pids_[id],
                     slot.requests.load(), slot.exceptions.load(), cheaped_[id] ? " (cheaped)" : "");
    }
}

void Master::cheaper_nudge(int delta) {
    if (!cheaper_.settings().enabled())
        spdlog::warn("master fifo '{}': needs --cheaper", delta > 0 ? '+' : '-');
    else
        cheaper_.nudge(delta);
}

// uWSGI's pause: each worker finishes what it serves and then takes no new connection until
// the next SIGTSTP (or fifo 'p'); its status is "pause" meanwhile.
void Master::pause_resume() {
    paused_ = !paused_;
    if (paused_)
        spdlog::info("*** PAUSE (press start to resume, if you do not have a joypad send "
                     "SIGTSTP) ***");
    else spdlog::info("*** (SIGTSTP received) resuming workers ***");
    // the flag first: a worker's main thread reads it when SIGTSTP arrives (worker.cpp)
    for (int id = 1; id <= scoreboard_size(); ++id) worker_slot(id).paused.store(paused_ ? 1 : 0);
    for (size_t id = 1; id < pids_.size(); ++id)
        if (pids_[id] > 0) kill(pids_[id], SIGTSTP);
}

}  // namespace core
