// Per-worker counters shared between the master and its workers (an anonymous shared mapping
// made before fork), so the master can enforce --harakiri without asking the workers anything.
#pragma once

#include <atomic>
#include <cstdint>
#include <sys/types.h>

namespace core {

struct WorkerSlot {
    std::atomic<int64_t> busy_since_ms{0};  // 0: idle
    std::atomic<uint64_t> requests{0};
    std::atomic<int32_t> pid{0};
};

void create_scoreboard(int workers);
WorkerSlot &worker_slot(int worker_id);  // 1..N

}  // namespace core
