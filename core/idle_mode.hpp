// --idle SECS: uWSGI's "cheap mode". After SECS seconds without a request (and none in flight)
// the master stops every worker and watches the listening sockets itself; the first connection
// brings the workers back (--cheaper N of them in cheaper mode, else --processes). With
// --die-on-idle the server shuts down instead.
#pragma once

#include "sockets.hpp"

#include <cstdint>
#include <vector>

namespace core {

class IdleMode {
public:
    enum class Step { Nothing, GoCheap, Die, WakeUp };

    IdleMode(int idle_s, bool die_on_idle) : idle_s_(idle_s), die_(die_on_idle) {}
    bool cheap() const { return cheap_; }
    // Once per master tick while serving: total_requests counts every worker's requests.
    Step check(bool any_busy, uint64_t total_requests, const std::vector<Listener> &listeners);

private:
    int idle_s_;
    bool die_;
    bool cheap_ = false;
    uint64_t last_count_ = 0;
    int64_t last_change_ms_ = 0;
};

}  // namespace core
