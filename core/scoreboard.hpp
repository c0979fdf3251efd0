// Per-worker counters shared between the master and its workers (an anonymous shared mapping
// made before fork), so the master can enforce --harakiri without asking the workers anything
// and any process can report every worker's statistics (uwsgi.workers()).
#pragma once

#include <atomic>
#include <cstdint>
#include <sys/types.h>

namespace core {

struct WorkerSlot {
    std::atomic<int64_t> busy_since_ms{0};  // 0: idle
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> delta_requests{0};   // since the last spawn
    std::atomic<uint64_t> harakiri_count{0};   // times the master killed it for --harakiri
    std::atomic<int32_t> pid{0};
    std::atomic<int32_t> accepting{1};
    std::atomic<uint64_t> tx{0};               // response bytes
    std::atomic<uint64_t> running_us{0};       // time spent serving requests
    std::atomic<uint64_t> exceptions{0};       // requests whose handler failed
    std::atomic<uint64_t> signals{0};          // uwsgi signals handled
    std::atomic<uint64_t> respawn_count{0};
    std::atomic<int64_t> last_spawn{0};        // unix time
    std::atomic<int64_t> user_harakiri_ms{0};  // monotonic deadline set by the app; 0: none
    std::atomic<int32_t> ready{0};    // its request threads wait for connections (chain reload)
    std::atomic<int32_t> cheaped{0};  // retired by --cheaper (stats status "cheap")
    std::atomic<int32_t> running_signal{-1};  // the uwsgi signal whose handler runs now, or -1
    std::atomic<int32_t> paused{0};  // the master paused the workers (SIGTSTP, fifo 'p')
};

// One request thread ("core" in uWSGI's stats), written by that thread only: a cache line
// each, so threads of a worker never write the same line on the request path.
struct alignas(64) CoreSlot {
    std::atomic<uint64_t> requests{0};
    std::atomic<int32_t> in_request{0};
    std::atomic<uint64_t> read_errors{0};   // requests that could not be read (malformed, timed out)
    std::atomic<uint64_t> write_errors{0};  // responses cut short (client gone, handler failed midway)
    std::atomic<uint64_t> static_requests{0};     // static files answered 200/206 (as uWSGI)
    std::atomic<uint64_t> offloaded_requests{0};  // bodies handed to an offload thread
};

void create_scoreboard(int workers, int threads);
int scoreboard_size();               // the number of workers
WorkerSlot &worker_slot(int worker_id);  // 1..N
CoreSlot &core_slot(int worker_id, int core);  // core 0..threads-1
int cores_per_worker();
uint64_t average_response_us(const WorkerSlot &slot);  // the mean over every request served
uint64_t total_requests();           // every worker's, summed

}  // namespace core
