// What the stats server reports, read at once from the scoreboard, the listeners and /proc: one
// snapshot rendered as uWSGI's JSON (stats_json) or as Prometheus text (stats_prometheus).
#pragma once

#include "sockets.hpp"
#include "spooler.hpp"

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace core {

struct CoreStats {
    int id = 0;
    uint64_t requests = 0, read_errors = 0, write_errors = 0;
    uint64_t static_requests = 0, offloaded_requests = 0;
    int in_request = 0;
    // The request in flight (request_window.hpp): its vars as "KEY=VALUE" and when it started
    // (unix seconds); none while idle.
    bool in_flight = false;
    std::vector<std::string> vars;
    int64_t request_start = 0;
};

// One app as uWSGI's stats list it under each worker.
struct AppStats {
    int id = 0, modifier1 = 0;
    std::string mountpoint, chdir;
    int64_t startup_time = 0;
    uint64_t requests = 0, exceptions = 0;
};

struct WorkerStats {
    int id = 0;
    pid_t pid = 0;
    int accepting = 0;
    bool busy = false;
    bool cheaped = false;
    bool paused = false;
    int running_signal = -1;  // the uwsgi signal whose handler runs now, or -1
    uint64_t requests = 0, delta_requests = 0, exceptions = 0, harakiri_count = 0, signals = 0;
    uint64_t rss = 0, vsz = 0;  // bytes
    uint64_t running_time = 0;  // microseconds
    int64_t last_spawn = 0;     // unix time
    uint64_t respawn_count = 0, tx = 0, avg_rt = 0;
    std::vector<CoreStats> cores;
    std::vector<AppStats> apps;
};

struct SocketStats {
    std::string name, proto;
    uint64_t queue = 0, max_queue = 0;
};

struct LockStats {
    std::string name;
    pid_t holder = 0;
};

// One cache of the cache plugin (uwsgi.cache/1), as uWSGI's stats list it.
struct CacheStats {
    std::string name;
    uint64_t hashsize = 0, keysize = 0, max_items = 0, blocksize = 0;
    uint64_t items = 0, hits = 0, miss = 0, full = 0;
};

struct StatsSnapshot {
    std::string version, cwd;
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    uint64_t listen_queue = 0, load = 0;
    std::vector<LockStats> locks;
    std::vector<CacheStats> caches;
    std::vector<SocketStats> sockets;
    std::vector<WorkerStats> workers;
    std::vector<SpoolerFacts> spoolers;
};

// One worker's scoreboard counters (no memory, no cores): also what host->worker_stats returns.
WorkerStats read_worker_counters(int id);

// uWSGI's status of a worker, in its order: "cheap", "pause" (paused and not busy), "sigN"
// (running the handler of uwsgi signal N), "busy", "idle".
std::string worker_status(const WorkerStats &w);

StatsSnapshot take_stats_snapshot(const std::vector<Listener> &listeners);

// Connections waiting in the listeners' accept queues (uWSGI's "backlog").
uint64_t listen_queue(const std::vector<Listener> &listeners);

// A process's resident and virtual size in bytes from /proc/PID/statm; false when it is gone.
bool process_memory(pid_t pid, uint64_t &rss, uint64_t &vsz);

}  // namespace core
