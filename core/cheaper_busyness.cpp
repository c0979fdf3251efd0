#include "cheaper_busyness.hpp"

#include "cheaper.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace core {

BusynessSettings BusynessSettings::from(const Config &c) {
    BusynessSettings s;
    auto read = [&](const char *name, uint64_t fallback, uint64_t lowest, uint64_t highest) {
        int64_t v = c.number(name, int64_t(fallback));
        if (v < int64_t(lowest) || uint64_t(v) > highest)
            throw ConfigError(fmt::format("--{} {}: must be between {} and {}", name, v, lowest,
                                          highest));
        return uint64_t(v);
    };
    s.max = read("cheaper-busyness-max", 50, 1, 100);
    s.min = read("cheaper-busyness-min", 25, 0, 99);
    // uWSGI takes min >= max, and then spawns and cheaps in turn; say so instead
    if (s.min >= s.max)
        throw ConfigError(fmt::format("--cheaper-busyness-min {} must be lower than "
                                      "--cheaper-busyness-max {}", s.min, s.max));
    s.multiplier = read("cheaper-busyness-multiplier", 10, 1, 1000000);
    s.penalty = read("cheaper-busyness-penalty", 2, 1, 1000000);
    s.verbose = c.flag("cheaper-busyness-verbose");
    s.backlog_alert = read("cheaper-busyness-backlog-alert", 33, 1, 1u << 30);
    s.backlog_multiplier = read("cheaper-busyness-backlog-multiplier", 3, 1, 1000000);
    s.backlog_step = read("cheaper-busyness-backlog-step", 1, 1, 1u << 20);
    s.backlog_nonzero_s = read("cheaper-busyness-backlog-nonzero", 60, 1, 1u << 30);
    return s;
}

BusynessAlgo::BusynessAlgo(const BusynessSettings &s, int overload_s, int step, int min_workers)
    : s_(s), period_us_(uint64_t(overload_s) * 1000000), step_(step), min_workers_(min_workers),
      multiplier_(s.multiplier) {
    spdlog::info("[busyness] settings: min={}%, max={}%, overload={}, multiplier={}, respawn "
                 "penalty={}", s_.min, s_.max, overload_s, s_.multiplier, s_.penalty);
    spdlog::info("[busyness] backlog alert is set to {} request(s), step is {}", s_.backlog_alert,
                 s_.backlog_step);
}

void BusynessAlgo::set_next_cheap_time(uint64_t now_us) {
    // with emergency workers running they go after backlog_multiplier periods, not multiplier
    next_cheap_us_ = now_us + period_us_ * (emergency_ > 0 ? s_.backlog_multiplier : multiplier_);
}

void BusynessAlgo::decrease_multiplier() {
    if (multiplier_ > s_.multiplier) {
        --multiplier_;
        spdlog::info("[busyness] decreasing cheaper multiplier to {}", multiplier_);
    }
}

int BusynessAlgo::cheaped_free(const std::vector<CheaperWorker> &workers, uint64_t most) const {
    uint64_t n = 0;
    for (size_t i = 1; i < workers.size() && n < most; ++i)
        n += workers[i].cheaped && workers[i].pid == 0;
    return int(n);
}

int BusynessAlgo::spawn_emergency(const std::vector<CheaperWorker> &workers, uint64_t backlog,
                                  uint64_t now_us) {
    multiplier_ = s_.multiplier;
    last_action_ = 1;
    int n = cheaped_free(workers, s_.backlog_step);
    set_next_cheap_time(now_us);
    if (n > 0) {
        emergency_ += n;
        spdlog::info("[busyness] {} requests in listen queue, spawning {} emergency worker(s) "
                     "({})!", backlog, n, emergency_);
    } else {
        spdlog::info("[busyness] {} requests in listen queue but we are already started maximum "
                     "number of workers ({})", backlog, workers.size() - 1);
    }
    return n;
}

int BusynessAlgo::decide(const std::vector<CheaperWorker> &workers, uint64_t backlog,
                         uint64_t now_us) {
    last_running_us_.resize(workers.size(), 0);
    was_busy_.resize(workers.size(), 0);
    if (!last_check_us_) {
        last_check_us_ = now_us;
        set_next_cheap_time(now_us);
    }
    int active = 0, total = int(workers.size()) - 1;
    for (size_t i = 1; i < workers.size(); ++i) {
        if (workers[i].pid > 0 && !workers[i].cheaped) {
            ++active;
            was_busy_[i] += workers[i].busy;
        } else {
            was_busy_[i] = 0;
        }
    }
    if (now_us - last_check_us_ >= period_us_) {
        last_check_us_ = now_us;
        uint64_t sum = 0;
        for (size_t i = 1; i < workers.size(); ++i) {
            const CheaperWorker &w = workers[i];
            uint64_t ran = w.running_us - std::min(w.running_us, last_running_us_[i]);
            last_running_us_[i] = w.running_us;
            if (w.pid <= 0 || w.cheaped) continue;
            uint64_t percent = std::min<uint64_t>(100, ran * 100 / period_us_);
            // busy at every look but no request finished: requests longer than the period
            if (ran == 0 && was_busy_[i] > 0) percent = 100;
            was_busy_[i] = 0;
            sum += percent;
            if (s_.verbose && active > 1)
                spdlog::info("[busyness] worker nr {} {}s average busyness is at {}%", i,
                             period_us_ / 1000000, percent);
        }
        uint64_t avg = active ? sum / uint64_t(active) : 0;
        const uint64_t period_s = period_us_ / 1000000;
        if (s_.verbose)
            spdlog::info("[busyness] {}s average busyness of {} worker(s) is at {}%", period_s,
                         active, avg);
        if (avg > s_.max) {
            tolerance_ = 0;
            int n = cheaped_free(workers, uint64_t(step_));
            if (n > 0) {
                last_action_ = 1;
                if ((now_us - last_cheaped_us_) / period_us_ <= multiplier_) {
                    multiplier_ += s_.penalty;
                    spdlog::info("[busyness] worker(s) respawned to fast, increasing cheaper "
                                 "multiplier to {} (+{})", multiplier_, s_.penalty);
                } else {
                    decrease_multiplier();
                }
                set_next_cheap_time(now_us);
                spdlog::info("[busyness] {}s average busyness is at {}%, will spawn {} new "
                             "worker(s)", period_s, avg, n);
            } else {
                spdlog::info("[busyness] {}s average busyness is at {}% but we already started "
                             "maximum number of workers available with current limits ({})",
                             period_s, avg, active);
            }
            return n;
        }
        if (backlog > s_.backlog_alert && active < total)
            return spawn_emergency(workers, backlog, now_us);
        if (avg < s_.min) {
            if (active == 1) return 0;
            tolerance_ = 0;
            if (active > min_workers_ && now_us >= next_cheap_us_) {
                if (last_action_ == 2) decrease_multiplier();
                set_next_cheap_time(now_us);
                spdlog::info("[busyness] {}s average busyness is at {}%, cheap one of {} running "
                             "workers", period_s, avg, active);
                last_cheaped_us_ = now_us;
                last_action_ = 2;
                if (emergency_ > 0) --emergency_;
                return -1;
            }
            return 0;
        }
        if (active == 1) return 0;
        if (emergency_ > 0) --emergency_;
        // between min and max: three such periods in a row reset the cheap timer; fewer only
        // push it back, so a short spike does not count as idle time
        if (++tolerance_ >= 3) set_next_cheap_time(now_us);
        else next_cheap_us_ += period_us_;
        return 0;
    }
    if (backlog > s_.backlog_alert && active < total)
        return spawn_emergency(workers, backlog, now_us);
    if (backlog > 0) {
        if (!backlog_nonzero_) {
            backlog_nonzero_ = true;
            backlog_nonzero_since_us_ = now_us;
        } else if ((now_us - backlog_nonzero_since_us_) / 1000000 >= s_.backlog_nonzero_s) {
            spdlog::info("[busyness] backlog was non-zero for {} second(s), spawning new "
                         "worker(s)", (now_us - backlog_nonzero_since_us_) / 1000000);
            backlog_nonzero_since_us_ = now_us;
            return spawn_emergency(workers, backlog, now_us);
        }
    } else {
        backlog_nonzero_ = false;
    }
    return 0;
}

}  // namespace core
