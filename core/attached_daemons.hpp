// uWSGI's --attach-daemon CMD and --smart-attach-daemon PIDFILE CMD: external processes the
// master starts after its workers, restarts when they die, and stops with the server.
#pragma once

#include "config.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace core {

class AttachedDaemons {
public:
    void start(const Config &c);
    // A child the master reaped: true when it was one of these (restarted when `respawn`).
    bool reaped(pid_t pid, int status, bool respawn);
    // Each master tick: a smart daemon whose pidfile names no live process is started again.
    void check();
    // Shutdown: every daemon gets SIGTERM, then SIGKILL after 5 s. Reload: the plain daemons
    // stop (the next image starts them again); smart ones keep running, watched through their
    // pidfile by the next image (as uWSGI's smart-attach-daemon).
    void stop(bool reload);
    static bool wanted(const Config &c);

private:
    struct Daemon {
        std::string command;
        std::string pidfile;  // smart daemons only
        pid_t pid = 0;        // the shell running `command`
        int64_t started_ms = 0;
    };
    void spawn(Daemon &d);
    pid_t smart_pid(const Daemon &d) const;
    std::vector<Daemon> daemons_;
};

}  // namespace core
