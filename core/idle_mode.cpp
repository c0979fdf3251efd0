#include "idle_mode.hpp"

#include "clock.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <poll.h>

namespace core {

// A connection waits on a listener (TCP listeners defer accept until the client spoke).
static bool connection_waiting(const std::vector<Listener> &listeners) {
    std::vector<pollfd> fds;
    for (auto &l : listeners) fds.push_back({l.fd, POLLIN, 0});
    return poll(fds.data(), nfds_t(fds.size()), 0) > 0;
}

IdleMode::Step IdleMode::check(bool any_busy, uint64_t total_requests,
                               const std::vector<Listener> &listeners) {
    if (!idle_s_) return Step::Nothing;
    const int64_t now = monotonic_ms();
    if (cheap_) {
        if (!connection_waiting(listeners)) return Step::Nothing;
        cheap_ = false;
        last_change_ms_ = now;
        last_count_ = total_requests;
        spdlog::info("cheap mode disabled: a connection came, spawning the workers");
        return Step::WakeUp;
    }
    if (!last_change_ms_ || total_requests != last_count_ || any_busy) {
        last_change_ms_ = now;
        last_count_ = total_requests;
        return Step::Nothing;
    }
    if (now - last_change_ms_ <= int64_t(idle_s_) * 1000) return Step::Nothing;
    // uWSGI's line, with its seconds of the last request and of now
    const int64_t wall = int64_t(time(nullptr));
    spdlog::info("workers have been inactive for more than {} seconds ({}-{})", idle_s_, wall,
                 wall - (now - last_change_ms_) / 1000);
    if (die_) return Step::Die;
    cheap_ = true;
    return Step::GoCheap;
}

}  // namespace core
