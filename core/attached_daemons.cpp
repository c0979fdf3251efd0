#include "attached_daemons.hpp"

#include "clock.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace core {

bool AttachedDaemons::wanted(const Config &c) {
    return c.has("attach-daemon") || c.has("smart-attach-daemon");
}

void AttachedDaemons::start(const Config &c) {
    for (auto &cmd : c.all("attach-daemon")) daemons_.push_back({cmd, "", 0, 0});
    for (auto &spec : c.all("smart-attach-daemon")) {
        size_t space = spec.find(' ');
        if (space == std::string::npos)
            throw ConfigError("--smart-attach-daemon '" + spec + "': give PIDFILE COMMAND");
        daemons_.push_back({spec.substr(space + 1), spec.substr(0, space), 0, 0});
    }
    for (auto &d : daemons_)
        if (d.pidfile.empty() || !smart_pid(d)) spawn(d);
}

void AttachedDaemons::spawn(Daemon &d) {
    // one that keeps dying right away is throttled, not fork-bombed
    if (d.started_ms && monotonic_ms() - d.started_ms < 1000) usleep(500 * 1000);
    pid_t pid = fork();
    if (pid < 0) {
        spdlog::error("cannot start daemon '{}': {}", d.command, strerror(errno));
        return;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);  // the master blocks them; a daemon must not
        setsid();
        execl("/bin/sh", "sh", "-c", d.command.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    d.pid = pid;
    d.started_ms = monotonic_ms();
    spdlog::info("started daemon '{}' (pid {})", d.command, pid);
}

pid_t AttachedDaemons::smart_pid(const Daemon &d) const {
    std::ifstream in(d.pidfile);
    long pid = 0;
    if (!(in >> pid) || pid <= 0) return 0;
    return kill(pid_t(pid), 0) == 0 || errno == EPERM ? pid_t(pid) : 0;
}

bool AttachedDaemons::reaped(pid_t pid, int status, bool respawn) {
    for (auto &d : daemons_) {
        if (d.pid != pid) continue;
        d.pid = 0;
        if (!d.pidfile.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            return true;  // a smart daemon's launcher that forked the daemon and left
        spdlog::warn("daemon '{}' (pid {}) {} {}", d.command, pid,
                     WIFSIGNALED(status) ? "killed by signal" : "exited with code",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (respawn && (d.pidfile.empty() || !smart_pid(d))) spawn(d);
        return true;
    }
    return false;
}

void AttachedDaemons::check() {
    for (auto &d : daemons_)
        if (!d.pidfile.empty() && !d.pid && !smart_pid(d)) {
            spdlog::warn("daemon '{}': its pidfile {} names no live process; starting it again",
                         d.command, d.pidfile);
            spawn(d);
        }
}

void AttachedDaemons::stop(bool reload) {
    std::vector<pid_t> pids;
    for (auto &d : daemons_) {
        if (!d.pidfile.empty()) {
            if (reload) continue;
            if (pid_t p = smart_pid(d)) pids.push_back(p);
        }
        if (d.pid) pids.push_back(-d.pid);  // its process group (setsid): the shell and its children
    }
    for (pid_t p : pids) kill(p, SIGTERM);
    int64_t deadline = monotonic_ms() + 5000;
    for (pid_t p : pids) {
        while (kill(p, 0) == 0 && monotonic_ms() < deadline) {
            while (waitpid(-1, nullptr, WNOHANG) > 0) {
            }
            usleep(20 * 1000);
        }
        if (kill(p, 0) == 0) kill(p, SIGKILL);
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    for (auto &d : daemons_) d.pid = 0;
}

}  // namespace core
