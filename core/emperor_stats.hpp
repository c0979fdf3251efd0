// What the emperor knows of each vassal, and --emperor-stats: uWSGI's emperor stats document
// (core/emperor.c emperor_send_stats), one per connection.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace core {

struct Vassal {
    std::string id;       // the file name (directory monitor) or the matched path (glob)
    std::string path;     // the config file
    std::string monitor;  // the --emperor argument that found it
    pid_t pid = -1;
    int fd = -1;  // the emperor's end of the channel
    bool loyal = false, ready = false, accepting = false;
    bool stopping = false;  // told to stop, not reaped yet
    bool removed = false;   // its file is gone (or it exiled itself): never respawned
    time_t born = 0, last_mod = 0, first_run = 0, last_run = 0, cursed_at = 0;
    time_t last_loyal = 0, last_ready = 0, last_accepting = 0;
    time_t last_heartbeat = 0;  // 0: none since its (re)start, so no heartbeat is required yet
    uint64_t respawns = 0;
    int throttle_ms = 0;            // the delay of its next respawn while it dies disloyal
    uint64_t disloyal_deaths = 0;   // deaths before announcing itself (uWSGI's blacklist attempts)
    time_t first_attempt = 0, last_attempt = 0;
    int64_t started_ms = 0, next_start_ms = 0;
    uid_t uid = 0;  // --emperor-tyrant: the file's owner it runs as (else 0: the emperor's)
    gid_t gid = 0;
};

void send_emperor_stats(int fd, const std::vector<std::string> &monitors,
                        const std::map<std::string, Vassal> &vassals, bool tyrant);

}  // namespace core
