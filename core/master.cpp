#include "master.hpp"

#include "clock.hpp"
#include "lifecycle.hpp"
#include "reexec.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "settings.hpp"
#include "worker.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

namespace core {
namespace {

void reexec(const std::vector<Listener> &listeners) {
    export_listeners(listeners);
    const Runtime &rt = runtime();
    ReexecInput in;
    in.library_mode = rt.library_mode;
    in.binary_path = rt.config.value_or("binary-path", "");
    in.binary_path_executable =
        !in.binary_path.empty() && access(in.binary_path.c_str(), X_OK) == 0;
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) in.self_exe.assign(buf, size_t(n));
    in.argv = rt.argv;
    in.host_cmdline = rt.host_cmdline;
    ExecCommand cmd = reexec_command(in);
    std::vector<char *> args;
    for (auto &a : cmd.argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    std::string line;
    for (auto &a : cmd.argv) line += (line.empty() ? "" : " ") + a;
    spdlog::info("reloading: executing {} ({})", cmd.binary, line);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    execv(cmd.binary.c_str(), args.data());
    spdlog::critical("reload failed: cannot execute {}: {}", cmd.binary, strerror(errno));
    _exit(1);
}

class Master {
public:
    explicit Master(const std::vector<Listener> &listeners) : listeners_(listeners) {}
    int run();

private:
    void spawn(int id);
    void reap(bool respawn);
    void signal_workers(int sig);
    bool wait_workers(int mercy_s);
    void check_harakiri();
    int live_workers() const;

    const std::vector<Listener> &listeners_;
    std::vector<pid_t> pids_;  // index = worker id
    std::vector<int64_t> spawned_ms_;
    bool no_app_ = false;
};

void Master::spawn(int id) {
    pid_t pid = fork();
    if (pid < 0) {
        spdlog::error("cannot fork worker {}: {}", id, strerror(errno));
        return;
    }
    if (pid == 0) {
        int code = 0;
        try {
            runtime().worker_id = id;
            if (settings().lazy_apps) {
                run_load_apps();
                check_need_app();
            }
            run_post_fork_hooks();
            run_worker(id, listeners_);
        } catch (const NeedAppError &) {
            code = kExitNoApp;
        } catch (const std::exception &e) {
            spdlog::error("worker {}: {}", id, e.what());
            code = 1;
        }
        _exit(code);
    }
    pids_[size_t(id)] = pid;
    spawned_ms_[size_t(id)] = monotonic_ms();
    worker_slot(id).busy_since_ms.store(0);
    spdlog::info("spawned worker {} (pid {})", id, pid);
}

int Master::live_workers() const {
    int n = 0;
    for (size_t i = 1; i < pids_.size(); ++i) n += pids_[i] > 0;
    return n;
}

void Master::reap(bool respawn) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t id = 1; id < pids_.size(); ++id) {
            if (pids_[id] != pid) continue;
            pids_[id] = 0;
            if (WIFSIGNALED(status))
                spdlog::warn("worker {} (pid {}) killed by signal {} ({})", id, pid,
                             WTERMSIG(status), strsignal(WTERMSIG(status)));
            else if (WEXITSTATUS(status) == kExitNoApp)
                no_app_ = true;
            else
                spdlog::info("worker {} (pid {}) exited with code {}", id, pid,
                             WEXITSTATUS(status));
            if (respawn && !no_app_) {
                // A worker dying right after its birth is throttled, not fork-bombed.
                if (monotonic_ms() - spawned_ms_[id] < 1000) usleep(200 * 1000);
                spdlog::info("respawning worker {}", id);
                spawn(int(id));
            }
        }
    }
}

void Master::signal_workers(int sig) {
    for (size_t id = 1; id < pids_.size(); ++id)
        if (pids_[id] > 0) kill(pids_[id], sig);
}

bool Master::wait_workers(int mercy_s) {
    int64_t deadline = monotonic_ms() + int64_t(mercy_s) * 1000;
    while (live_workers() > 0 && monotonic_ms() < deadline) {
        reap(false);
        if (live_workers() > 0) usleep(20 * 1000);
    }
    if (live_workers() == 0) return true;
    spdlog::warn("{} worker(s) still busy after {} s; killing them", live_workers(), mercy_s);
    signal_workers(SIGKILL);
    while (live_workers() > 0) {
        reap(false);
        usleep(10 * 1000);
    }
    return false;
}

void Master::check_harakiri() {
    int limit = settings().harakiri;
    if (!limit) return;
    int64_t now = monotonic_ms();
    for (size_t id = 1; id < pids_.size(); ++id) {
        int64_t since = worker_slot(int(id)).busy_since_ms.load();
        if (pids_[id] > 0 && since && now - since > int64_t(limit) * 1000) {
            spdlog::error("HARAKIRI: worker {} (pid {}) stuck on a request for {} s; killing it",
                          id, pids_[id], (now - since) / 1000);
            worker_slot(int(id)).busy_since_ms.store(0);
            kill(pids_[id], SIGKILL);
        }
    }
}

int Master::run() {
    int n = settings().processes;
    pids_.assign(size_t(n) + 1, 0);
    spawned_ms_.assign(size_t(n) + 1, 0);
    for (int id = 1; id <= n; ++id) spawn(id);

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD}) sigaddset(&set, s);
    const timespec tick{0, 200 * 1000 * 1000};
    for (;;) {
        int sig = sigtimedwait(&set, nullptr, &tick);
        reap(true);
        if (no_app_) {
            spdlog::error("a worker could not load its app (--lazy-apps); shutting down");
            signal_workers(SIGTERM);
            wait_workers(settings().reload_mercy);
            return kExitNoApp;
        }
        check_harakiri();
        if (sig == SIGHUP || sig == SIGQUIT) {
            bool graceful = sig == SIGHUP;
            spdlog::info("{} reload requested", graceful ? "graceful" : "brutal");
            signal_workers(graceful ? SIGHUP : SIGKILL);
            wait_workers(settings().reload_mercy);
            run_shutdown_hooks();
            reexec(listeners_);
        }
        if (sig == SIGTERM || sig == SIGINT) {
            spdlog::info("shutdown requested ({}); waiting for workers", strsignal(sig));
            signal_workers(SIGTERM);
            wait_workers(settings().reload_mercy);
            run_shutdown_hooks();
            spdlog::info("goodbye");
            return 0;
        }
    }
}

}  // namespace

int run_master(const std::vector<Listener> &listeners) {
    Master m(listeners);
    return m.run();
}

int run_single(const std::vector<Listener> &listeners) {
    runtime().worker_id = 1;  // the single process is worker 1 in post_fork hooks too
    run_post_fork_hooks();
    WorkerExit why = run_worker(1, listeners);
    if (why == WorkerExit::Reload || why == WorkerExit::BrutalReload || why == WorkerExit::Recycle)
        reexec(listeners);
    spdlog::info("goodbye");
    return 0;
}

}  // namespace core
