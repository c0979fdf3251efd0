// One cache's definition, as uWSGI 2.0 spells it: --cache2 name=N,items=K[,key=value...], or the
// legacy --cache ITEMS (with --cache-blocksize). Parsing only; no memory is touched here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cache {

struct Spec {
    std::string name;
    uint64_t items = 0;
    uint64_t blocksize = 65536;  // uWSGI's default: the largest value
    uint64_t blocks = 0;         // 0: as many as items (uWSGI); never fewer than items
    uint64_t keysize = 2048;     // uWSGI's default
    bool purge_lru = false;
    bool ignore_full = false;
    std::string store;           // file the cache is mapped from, so a restart keeps it
    uint64_t store_sync = 0;     // seconds between flushes of the store; 0: only at exit
    int64_t math_initial = 0;
    uint64_t hashsize = 0;       // buckets (rounded up to a power of two); 0: items, rounded up
    uint64_t sweep_on_full = 0;  // when full: remove expired items, at most every N seconds
    bool clear_on_full = false;  // when full (and sweep_on_full freed nothing): empty the cache
    bool no_expire = false;      // expiry times are ignored: items stay until deleted or evicted
    bool lazy_expire = false;    // expired items go when touched; the sweeper skips this cache
    bool store_delete = false;   // a store file of another geometry is replaced, not refused
};

// Parses a --cache2 value. False with `why` naming the offending key and the fix.
bool parse_cache2(std::string_view text, Spec &out, std::string &why);

// A whole number in [min, max]; false when malformed or out of range.
bool parse_number(std::string_view text, uint64_t min, uint64_t max, uint64_t &out);

}  // namespace cache
