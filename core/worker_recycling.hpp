// Recycling workers by age and memory, as uWSGI: --max-worker-lifetime SECS (plus
// --max-worker-lifetime-delta SECS x (id - 1), so workers do not all go at once) and
// --evil-reload-on-rss MB are the master's checks; --reload-on-rss MB is the worker's own,
// after each request (reload_on_rss_reached). A worker past its lifetime or over --reload-on-rss
// finishes its requests and is respawned; one over --evil-reload-on-rss is killed (a worker too
// big may be stuck, and the master does not wait for it).
#pragma once

#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace core {

class WorkerRecycler {
public:
    // Once per master tick. pids[id] and cheaped[id] for id 1..N; returns after signalling.
    void check(const std::vector<pid_t> &pids, const std::vector<char> &cheaped);

private:
    int64_t next_memory_check_ms_ = 0;
    std::vector<pid_t> retiring_;  // per id: the pid already told to go for its age
};

// In a worker after a request: whether its rss passed --reload-on-rss (logged once, uWSGI's
// words); the caller then recycles it gracefully.
bool reload_on_rss_reached(int worker_id);

}  // namespace core
