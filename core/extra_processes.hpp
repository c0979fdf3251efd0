// Processes the master runs besides its workers: mules, spoolers, a gateway plugin's router.
// Each kind (name, count, entry function) is registered before fork, by the core or by a plugin
// through host->register_process; the master forks them after its workers, respawns one that
// dies (throttled like workers), and stops them with the workers on shutdown and reload (the
// next image starts them again). Each process gets its own uwsgi signal pipe (signals.cpp).
#pragma once

#include "sockets.hpp"

#include <uwsgi/plugin.h>

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace core {

// host->register_process: UWSGI_OK, or UWSGI_ERROR with the reason logged.
int register_process_kind(const uwsgi_process_kind *kind);
// host->process_kind: the caller's kind and index, or nullptr in the master and in workers.
const char *current_process_kind(int32_t *index);
// serve(), before the init hooks: whether this server has a master (kinds need one).
void allow_extra_processes(bool master);

// The master's side: one per master image.
class ExtraProcesses {
public:
    explicit ExtraProcesses(const std::vector<Listener> &listeners) : listeners_(listeners) {}
    void start();  // forks every process of every kind
    // A child the master reaped: true when it was one of these (respawned when `respawn`).
    bool reaped(pid_t pid, int status, bool respawn);
    void signal_all(int sig);
    // During a reload or shutdown begun at `since_ms`: SIGKILL for each live process of `kind`
    // still there after `mercy_s` seconds (uWSGI's --mule-reload-mercy), logged once each.
    void no_mercy(const std::string &kind, int64_t since_ms, int mercy_s);
    int live() const;

private:
    struct Process {
        size_t kind;  // index in the registry
        int index;    // 1..count
        pid_t pid = 0;
        int64_t spawned_ms = 0;
        uint64_t respawns = 0;
        bool no_mercy = false;  // killed by no_mercy() (until it is reaped)
    };
    void spawn(Process &p);
    const std::vector<Listener> &listeners_;
    std::vector<Process> processes_;
};

}  // namespace core
