// --cheaper: adaptive worker count (uWSGI's "cheaper" subsystem). The master keeps between
// --cheaper N and --processes workers alive and asks the algorithm once a second whether to
// spawn or to retire ("cheap") some. uWSGI's algorithms (cheaper.cpp has their rules): spare
// (the default), spare2 (keeps N idle workers, --cheaper-idle), backlog (the listen queue
// against --cheaper-overload), manual (only the fifo moves the count), and busyness, uWSGI's
// cheaper_busyness plugin (cheaper_busyness.hpp); `+` and `-` on the master fifo move the
// count by hand with any of them, as in uWSGI.
#pragma once

#include "cheaper_busyness.hpp"
#include "config.hpp"

#include <cstdint>
#include <optional>
#include <sys/types.h>
#include <vector>

namespace core {

struct CheaperSettings {
    int min_workers = 0;   // --cheaper; 0: off, every worker always runs
    int initial = 0;       // --cheaper-initial (defaults to --cheaper)
    int step = 1;          // --cheaper-step: most workers spawned at one overload
    int overload = 3;      // --cheaper-overload: busy seconds before spawning / idle before cheaping
    int idle = 10;         // --cheaper-idle: idle seconds before spare2 retires a worker
    enum class Algo { Spare, Spare2, Backlog, Manual, Busyness };
    Algo algo = Algo::Spare;  // --cheaper-algo
    BusynessSettings busyness_settings;
    // The algorithm reads the listeners' accept queues (the master measures them only then).
    bool reads_backlog() const { return algo == Algo::Busyness || algo == Algo::Backlog; }

    // Reads and checks the options against --processes: bad values stop start-up with uWSGI's
    // words (and the fix); out-of-range --cheaper-initial is clamped with uWSGI's warning.
    static CheaperSettings from(const Config &c, int processes);
    bool enabled() const { return min_workers > 0; }
};

// What the master knows of one worker slot (1..N) when the algorithm runs.
struct CheaperWorker {
    pid_t pid = 0;          // 0: no process
    bool cheaped = false;   // retired by the algorithm (not respawned)
    bool busy = false;      // a request thread is in a request
    int64_t last_spawn = 0; // unix time
    uint64_t running_us = 0;  // time spent in requests since the server started
};

class Cheaper {
public:
    explicit Cheaper(const CheaperSettings &s);
    const CheaperSettings &settings() const { return s_; }

    // Once a second: how many workers to spawn (> 0) or to cheap (< 0). workers[0] is unused;
    // backlog: connections waiting in the listen queues; now_us: a monotonic clock.
    int decide(const std::vector<CheaperWorker> &workers, uint64_t backlog = 0,
               uint64_t now_us = 0);
    // The fifo's `+` / `-`: applied at the next decision instead of the algorithm.
    void nudge(int delta) { fifo_delta_ += delta; }
    // The worker to cheap: the oldest idle active one (uWSGI's choice), 0 when none.
    static int victim(const std::vector<CheaperWorker> &workers);

private:
    int spare(const std::vector<CheaperWorker> &workers);
    int spare2(const std::vector<CheaperWorker> &workers);
    int backlog(const std::vector<CheaperWorker> &workers, uint64_t queued) const;

    CheaperSettings s_;
    std::optional<BusynessAlgo> busyness_;
    int fifo_delta_ = 0;
    uint64_t overload_count_ = 0;
    uint64_t idle_count_ = 0;
    int spare2_idle_count_ = 0;
};

}  // namespace core
