// uWSGI's "busyness" cheaper algorithm (its cheaper_busyness plugin, built in here): every
// --cheaper-overload seconds the average share of that time the active workers spent in requests
// decides. Above --cheaper-busyness-max: spawn up to --cheaper-step. Below
// --cheaper-busyness-min: cheap one worker once overload x multiplier seconds passed since the
// last action (the multiplier grows by --cheaper-busyness-penalty when a cheaped worker had to
// come back soon). A listen queue over --cheaper-busyness-backlog-alert, or non-empty for
// --cheaper-busyness-backlog-nonzero seconds, spawns "emergency" workers at once.
#pragma once

#include "config.hpp"

#include <cstdint>
#include <vector>

namespace core {

struct CheaperWorker;

struct BusynessSettings {
    uint64_t max = 50, min = 25;  // percent
    uint64_t multiplier = 10, penalty = 2;
    bool verbose = false;
    uint64_t backlog_alert = 33, backlog_multiplier = 3, backlog_step = 1;
    uint64_t backlog_nonzero_s = 60;
    static BusynessSettings from(const Config &c);  // refuses min >= max and percents over 100
};

class BusynessAlgo {
public:
    BusynessAlgo(const BusynessSettings &s, int overload_s, int step, int min_workers);
    // Called once a second; now_us monotonic. Returns workers to spawn (> 0) or cheap (< 0).
    int decide(const std::vector<CheaperWorker> &workers, uint64_t backlog, uint64_t now_us);

private:
    void set_next_cheap_time(uint64_t now_us);
    void decrease_multiplier();
    int spawn_emergency(const std::vector<CheaperWorker> &workers, uint64_t backlog,
                        uint64_t now_us);
    int cheaped_free(const std::vector<CheaperWorker> &workers, uint64_t most) const;

    BusynessSettings s_;
    uint64_t period_us_;
    int step_;
    int min_workers_;
    uint64_t multiplier_;
    uint64_t last_check_us_ = 0;
    uint64_t next_cheap_us_ = 0;
    uint64_t last_cheaped_us_ = 0;
    int last_action_ = 0;  // 1 spawned, 2 cheaped
    int emergency_ = 0;
    uint64_t tolerance_ = 0;
    bool backlog_nonzero_ = false;
    uint64_t backlog_nonzero_since_us_ = 0;
    std::vector<uint64_t> last_running_us_;
    std::vector<uint64_t> was_busy_;
};

}  // namespace core
