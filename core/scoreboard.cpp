#include "scoreboard.hpp"

#include <new>
#include <stdexcept>
#include <sys/mman.h>

namespace core {

static WorkerSlot *g_slots = nullptr;
static int g_count = 0;

void create_scoreboard(int workers) {
    void *mem = mmap(nullptr, sizeof(WorkerSlot) * size_t(workers + 1), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("cannot map the worker scoreboard");
    g_slots = static_cast<WorkerSlot *>(mem);
    for (int i = 0; i <= workers; ++i) new (&g_slots[i]) WorkerSlot();
    g_count = workers;
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
