// The master's side of --cheaper: what it knows of its workers handed to the algorithm
// (cheaper.cpp), and the algorithm's answer carried out (spawn cheaped slots, retire workers).
#include "master_process.hpp"

#include "clock.hpp"
#include "stats_snapshot.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace core {

// --cheaper, once a second: spawn cheaped slots or retire the oldest idle worker.
void Master::adapt_workers() {
    // uWSGI leaves the count alone while the workers are paused
    if (!cheaper_.settings().enabled() || idle_.cheap() || paused_ ||
        monotonic_ms() < next_cheaper_ms_)
        return;
    next_cheaper_ms_ = monotonic_ms() + 1000;
    std::vector<CheaperWorker> view(pids_.size());
    for (size_t id = 1; id < pids_.size(); ++id) {
        const WorkerSlot &slot = worker_slot(int(id));
        view[id] = {pids_[id], cheaped_[id] != 0, false, slot.last_spawn.load(),
                    slot.running_us.load()};
        for (int c = 0; c < cores_per_worker(); ++c)
            view[id].busy = view[id].busy || core_slot(int(id), c).in_request.load();
    }
    int change = cheaper_.decide(view, cheaper_.settings().reads_backlog() ? listen_queue(listeners_) : 0,
                                 uint64_t(monotonic_us()));
    for (size_t id = 1; id < pids_.size() && change > 0; ++id) {
        if (!cheaped_[id] || pids_[id] > 0) continue;
        set_cheaped(int(id), false);
        spdlog::info("cheaper: spawning worker {}", id);
        spawn(int(id));
        --change;
    }
    for (; change < 0; ++change) {
        int id = Cheaper::victim(view);
        if (!id) break;
        view[size_t(id)].cheaped = true;
        set_cheaped(id, true);
        spdlog::info("cheaper: stopping worker {} (pid {})", id, pids_[size_t(id)]);
        kill(pids_[size_t(id)], SIGHUP);  // it finishes its requests; reap() leaves it down
    }
}

}  // namespace core
