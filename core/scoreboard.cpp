#include "scoreboard.hpp"

#include "shared_memory.hpp"

namespace core {

static WorkerSlot *g_slots = nullptr;
static int g_count = 0;
static CoreSlot *g_cores = nullptr;
static int g_threads = 0;

void create_scoreboard(int workers, int threads) {
    g_cores = shared_array<CoreSlot>(size_t(workers + 1) * size_t(threads), "worker scoreboard");
    g_threads = threads;
    g_slots = shared_array<WorkerSlot>(size_t(workers + 1), "worker scoreboard");
    g_count = workers;
}

CoreSlot &core_slot(int worker_id, int core) {
    if (worker_id < 0 || worker_id > g_count) worker_id = 0;
    if (core < 0 || core >= g_threads) core = 0;
    return g_cores[size_t(worker_id) * size_t(g_threads) + size_t(core)];
}

int cores_per_worker() { return g_threads; }

// uWSGI keeps (avg + rt) / 2, which weighs the last request as half of everything; the mean is
// what an operator expects and what host->worker_stats reports too.
uint64_t average_response_us(const WorkerSlot &slot) {
    uint64_t n = slot.requests.load(std::memory_order_relaxed);
    return n ? slot.running_us.load(std::memory_order_relaxed) / n : 0;
}

int scoreboard_size() { return g_count; }

uint64_t total_requests() {
    uint64_t n = 0;
    for (int i = 1; i <= g_count; ++i) n += g_slots[i].requests.load(std::memory_order_relaxed);
    return n;
}

WorkerSlot &worker_slot(int worker_id) {
    return g_slots[worker_id >= 0 && worker_id <= g_count ? worker_id : 0];
}

}  // namespace core
