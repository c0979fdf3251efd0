#include "cheaper.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <climits>

namespace core {

CheaperSettings CheaperSettings::from(const Config &c, int processes) {
    using Algo = CheaperSettings::Algo;
    CheaperSettings s;
    const std::string algo = c.value_or("cheaper-algo", "spare");
    static const std::pair<const char *, CheaperSettings::Algo> kAlgos[] = {
        {"spare", Algo::Spare},   {"spare2", Algo::Spare2},     {"backlog", Algo::Backlog},
        {"manual", Algo::Manual}, {"busyness", Algo::Busyness},
    };
    bool known = false;
    for (auto &[name, value] : kAlgos)
        if (algo == name) {
            s.algo = value;
            known = true;
        }
    if (!known)
        // uWSGI falls back to spare with a log line; a typo should not silently change policy.
        throw ConfigError(fmt::format("--cheaper-algo {}: unknown cheaper algorithm (this server "
                                      "has: spare, spare2, backlog, manual, busyness)", algo));
    if (s.algo == Algo::Busyness) s.busyness_settings = BusynessSettings::from(c);
    int64_t count = c.number("cheaper", 0);
    if (count < 0)
        throw ConfigError(fmt::format("invalid cheaper value: must be at least 0, got {}", count));
    if (count == 0) return s;  // uWSGI: --cheaper 0 is no cheaper mode
    if (count >= processes)
        throw ConfigError(fmt::format("invalid cheaper value: must be lower than processes "
                                      "(--cheaper {} with --processes {}: raise --processes)",
                                      count, processes));
    s.min_workers = int(count);
    int64_t initial = c.number("cheaper-initial", 0);
    if (initial == 0) {
        initial = count;
    } else if (initial < count) {
        spdlog::warn("warning: invalid cheaper-initial value ({}), must be equal or higher than "
                     "cheaper ({}), using {} as initial number of workers", initial, count, count);
        initial = count;
    } else if (initial > processes) {
        spdlog::warn("warning: invalid cheaper-initial value ({}), must be lower or equal than "
                     "worker count ({}), using {} as initial number of workers", initial,
                     processes, processes);
        initial = processes;
    }
    s.initial = int(initial);
    int64_t idle = c.number("cheaper-idle", 10);
    if (idle < 1 || idle > INT_MAX)
        throw ConfigError(fmt::format("invalid cheaper-idle value ({}): must be at least 1 "
                                      "(seconds with too many idle workers before spare2 "
                                      "retires one)", idle));
    s.idle = int(idle);
    int64_t step = c.number("cheaper-step", 1);
    int64_t overload = c.number("cheaper-overload", 3);
    if (step < 1 || step > INT_MAX)
        throw ConfigError(fmt::format("invalid cheaper-step value ({}): must be at least 1", step));
    if (overload < 1 || overload > INT_MAX)
        // uWSGI divides by it (idle_count % cheaper_overload): 0 would crash its master
        throw ConfigError(fmt::format("invalid cheaper-overload value ({}): must be at least 1",
                                      overload));
    s.step = int(step);
    s.overload = int(overload);
    return s;
}

int Cheaper::victim(const std::vector<CheaperWorker> &workers) {
    int oldest = 0;
    int64_t oldest_spawn = INT64_MAX;
    for (size_t i = 1; i < workers.size(); ++i) {
        const CheaperWorker &w = workers[i];
        if (w.pid > 0 && !w.cheaped && !w.busy && w.last_spawn < oldest_spawn) {
            oldest_spawn = w.last_spawn;
            oldest = int(i);
        }
    }
    return oldest;
}

Cheaper::Cheaper(const CheaperSettings &s) : s_(s) {
    if (s_.enabled() && s_.algo == CheaperSettings::Algo::Busyness) busyness_.emplace(s_.busyness_settings, s_.overload, s_.step,
                                                       s_.min_workers);
}

int Cheaper::decide(const std::vector<CheaperWorker> &workers, uint64_t backlog,
                    uint64_t now_us) {
    if (fifo_delta_ != 0) {
        int d = fifo_delta_;
        fifo_delta_ = 0;
        return d;
    }
    switch (s_.algo) {
    case CheaperSettings::Algo::Spare2: return spare2(workers);
    case CheaperSettings::Algo::Backlog: return this->backlog(workers, backlog);
    case CheaperSettings::Algo::Manual: return 0;  // uWSGI's: the fifo's `+`/`-` only
    case CheaperSettings::Algo::Busyness: return busyness_->decide(workers, backlog, now_us);
    case CheaperSettings::Algo::Spare: break;
    }
    return spare(workers);
}

namespace {

struct Census {
    int idle = 0, busy = 0, cheaped_free = 0;  // cheaped_free: slots that may be spawned
    int active() const { return idle + busy; }
};

Census count(const std::vector<CheaperWorker> &workers) {
    Census n;
    for (size_t i = 1; i < workers.size(); ++i) {
        const CheaperWorker &w = workers[i];
        if (w.pid > 0 && !w.cheaped) ++(w.busy ? n.busy : n.idle);
        if (w.cheaped && w.pid == 0) ++n.cheaped_free;
    }
    return n;
}

}  // namespace

// uWSGI's "spare2" (core/master_utils.c), for large workloads: it spawns *before* every worker
// is busy and retires slowly.
// - fewer idle workers than --cheaper N: spawn min(--cheaper-step, N - idle, cheaped slots);
// - exactly N idle: stable;
// - more: after --cheaper-idle such seconds in a row, retire one.
int Cheaper::spare2(const std::vector<CheaperWorker> &workers) {
    Census n = count(workers);
    if (n.idle < s_.min_workers) {
        spare2_idle_count_ = 0;
        return std::min({s_.min_workers - n.idle, n.cheaped_free, s_.step});
    }
    if (n.idle == s_.min_workers) {
        spare2_idle_count_ = 0;
        return 0;
    }
    if (++spare2_idle_count_ < s_.idle) return 0;
    spare2_idle_count_ = 0;
    return -1;
}

// uWSGI's "backlog" (Linux): connections waiting in the listen queues above --cheaper-overload
// spawn up to --cheaper-step workers, each second; below it, one worker above --cheaper N
// retires each second; exactly at it, nothing changes.
int Cheaper::backlog(const std::vector<CheaperWorker> &workers, uint64_t queued) const {
    Census n = count(workers);
    if (queued > uint64_t(s_.overload)) return std::min(n.cheaped_free, s_.step);
    if (queued < uint64_t(s_.overload) && n.active() > s_.min_workers) return -1;
    return 0;
}

// uWSGI's "spare" algorithm (core/master_utils.c), one call a second:
// - every active worker busy: overload_count grows (and idle_count resets); one idle: it shrinks;
// - overload_count reaching --cheaper-overload: spawn up to --cheaper-step cheaped workers;
// - overload_count at 0: with exactly one idle worker nothing changes ("1 spare worker");
//   otherwise idle_count grows and every --cheaper-overload idle seconds one worker above
//   --cheaper is cheaped.
int Cheaper::spare(const std::vector<CheaperWorker> &workers) {
    Census n = count(workers);
    const int active = n.active(), busy = n.busy, cheaped_free = n.cheaped_free;
    if (active > 0 && busy == active) {
        ++overload_count_;
        idle_count_ = 0;
    } else if (overload_count_ > 0) {
        --overload_count_;
    }
    if (overload_count_ >= uint64_t(s_.overload)) {
        overload_count_ = 0;
        return std::min(cheaped_free, s_.step);
    }
    if (overload_count_ != 0) return 0;
    if (active > busy && active - busy == 1) return 0;
    ++idle_count_;
    if (active > s_.min_workers && idle_count_ % uint64_t(s_.overload) == 0) return -1;
    return 0;
}

}  // namespace core
