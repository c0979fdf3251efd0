// The one clock the core measures durations with (timeouts, harakiri, request times).
#pragma once

#include <cstdint>
#include <time.h>

namespace core {

inline int64_t monotonic_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Request times in the stats: a fast request takes well under a millisecond.
inline int64_t monotonic_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace core
