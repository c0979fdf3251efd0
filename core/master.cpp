#include "master.hpp"
#include "master_process.hpp"

#include "attached_daemons.hpp"
#include "chain_reload.hpp"
#include "cheaper.hpp"
#include "clock.hpp"
#include "control_signals.hpp"
#include "extra_processes.hpp"
#include "idle_mode.hpp"
#include "lifecycle.hpp"
#include "log_rotation.hpp"
#include "master_fifo.hpp"
#include "mules.hpp"
#include "process_options.hpp"
#include "reexec.hpp"
#include "run_files.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "signals.hpp"
#include "settings.hpp"
#include "stats_server.hpp"
#include "stats_snapshot.hpp"
#include "vassal_channel.hpp"
#include "systemd.hpp"
#include "worker.hpp"
#include "worker_recycling.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <sys/prctl.h>
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
    systemd_notify("RELOADING=1\nSTATUS=reloading\n");  // the new image says READY=1 again
    // The control signals stay blocked across execv: one that arrives now stays pending and the
    // new image takes it with sigtimedwait (unblocked, its default action would kill us).
    execv(cmd.binary.c_str(), args.data());
    spdlog::critical("reload failed: cannot execute {}: {}", cmd.binary, strerror(errno));
    _exit(1);
}

}  // namespace


void Master::spawn(int id) {
    worker_slot(id).running_signal.store(-1);  // its predecessor may have died in a handler
    pid_t pid = fork();
    if (pid < 0) {
        spdlog::error("cannot fork worker {}: {}", id, strerror(errno));
        return;
    }
    if (pid == 0) {
        int code = 0;
        // A worker never outlives its master: a master killed with SIGKILL (or its vassal
        // stopped by an emperor) must not leave workers holding the listening sockets.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != runtime().master_pid) _exit(0);
        try {
            runtime().worker_id = id;
            close_stats_server_in_worker();
            vassal_close_in_worker();
            set_process_title(runtime().config, fmt::format("worker {}", id));
            if (settings().lazy_apps) load_apps_with_hooks();
            run_post_fork_hooks();
            run_accepting_hooks();
            run_worker(id, listeners_);
        } catch (const NeedAppError &) {
            code = kExitNoApp;
        } catch (const std::exception &e) {
            spdlog::error("worker {}: {}", id, e.what());
            code = 1;
        }
        _exit(code);
    }
    bool respawn = spawned_ms_[size_t(id)] != 0;
    pids_[size_t(id)] = pid;
    // now, not only once the worker runs (after its post-fork hooks): a sibling serving
    // uwsgi.workers() meanwhile would read pid 0
    worker_slot(id).pid.store(pid);
    spawned_ms_[size_t(id)] = monotonic_ms();
    WorkerSlot &slot = worker_slot(id);
    slot.busy_since_ms.store(0);
    slot.user_harakiri_ms.store(0);
    slot.accepting.store(1);
    slot.ready.store(0);
    slot.last_spawn.store(int64_t(time(nullptr)));
    slot.delta_requests.store(0);
    if (respawn) slot.respawn_count.fetch_add(1);
    spdlog::info("spawned worker {} (pid {})", id, pid);
}

// Workers and extra processes: a reload or shutdown waits for both.
int Master::live_workers() const {
    int n = extras_.live();
    for (size_t i = 1; i < pids_.size(); ++i) n += pids_[i] > 0;
    return n;
}

// A worker with a request thread free to take a connection (the --heartbeat condition).
bool Master::a_worker_waits() const {
    for (size_t id = 1; id < pids_.size(); ++id) {
        if (pids_[id] <= 0 || !worker_slot(int(id)).ready.load()) continue;
        for (int c = 0; c < cores_per_worker(); ++c)
            if (!core_slot(int(id), c).in_request.load()) return true;
    }
    return false;
}

void Master::reap(bool respawn) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (daemons_.reaped(pid, status, respawn)) continue;
        if (extras_.reaped(pid, status, respawn)) continue;
        for (size_t id = 1; id < pids_.size(); ++id) {
            if (pids_[id] != pid) continue;
            pids_[id] = 0;
            worker_slot(int(id)).pid.store(0);
            if (WIFSIGNALED(status))
                spdlog::warn("worker {} (pid {}) killed by signal {} ({})", id, pid,
                             WTERMSIG(status), strsignal(WTERMSIG(status)));
            else if (WEXITSTATUS(status) == kExitNoApp)
                no_app_ = true;
            else
                spdlog::info("worker {} (pid {}) exited with code {}", id, pid,
                             WEXITSTATUS(status));
            if (respawn && !no_app_ && !cheaped_[id]) {
                // A worker dying right after its birth is throttled, not fork-bombed.
                if (monotonic_ms() - spawned_ms_[id] < 1000) usleep(200 * 1000);
                spdlog::info("respawning worker {}", id);
                spawn(int(id));
            }
        }
    }
}

void Master::signal_workers(int sig) {
    extras_.signal_all(sig);
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
    if (!limit) return check_user_harakiri();
    int64_t now = monotonic_ms();
    for (size_t id = 1; id < pids_.size(); ++id) {
        int64_t since = worker_slot(int(id)).busy_since_ms.load();
        if (pids_[id] > 0 && since && now - since > int64_t(limit) * 1000) {
            spdlog::error("HARAKIRI: worker {} (pid {}) stuck on a request for {} s; killing it",
                          id, pids_[id], (now - since) / 1000);
            worker_slot(int(id)).busy_since_ms.store(0);
            worker_slot(int(id)).harakiri_count.fetch_add(1);
            kill(pids_[id], SIGKILL);
        }
    }
    check_user_harakiri();
}

// uwsgi.set_user_harakiri(): the app's own deadline, enforced with or without --harakiri.
void Master::check_user_harakiri() {
    int64_t now = monotonic_ms();
    for (size_t id = 1; id < pids_.size(); ++id) {
        WorkerSlot &slot = worker_slot(int(id));
        int64_t deadline = slot.user_harakiri_ms.load();
        if (pids_[id] > 0 && deadline && now > deadline) {
            spdlog::error("HARAKIRI (user): worker {} (pid {}) passed the deadline its app set "
                          "with uwsgi.set_user_harakiri(); killing it",
                          id, pids_[id]);
            slot.user_harakiri_ms.store(0);
            slot.harakiri_count.fetch_add(1);
            kill(pids_[id], SIGKILL);
        }
    }
}

void Master::kill_workers(const char *why) {
    if (killed_) return;
    spdlog::warn("{}; killing {} worker(s)", why, live_workers());
    signal_workers(SIGKILL);
    killed_ = true;
}

// --shutdown-delay: a graceful shutdown (SIGTERM, the fifo's q, the emperor's stop) first marks
// the server not ready (/ready 503) and keeps serving, so load balancers and Kubernetes
// endpoints stop sending before the listeners close. A second TERM/INT/QUIT begins it at once.
void Master::on_control_signal(int sig) {
    if (shutdown_due_ms_) {
        if (sig == SIGHUP) {
            spdlog::info("{} during the shutdown delay: ignored", strsignal(sig));
            return;
        }
        spdlog::info("{} during the shutdown delay: shutting down now", strsignal(sig));
        shutdown_due_ms_ = 0;
        return apply_control_signal(sig == SIGQUIT ? shutdown_sig_ : sig);
    }
    const int delay = settings().shutdown_delay_s;
    if (delay > 0 && sig == SIGTERM && phase_ == Phase::Serving) {
        shutdown_due_ms_ = monotonic_ms() + int64_t(delay) * 1000;
        shutdown_sig_ = sig;
        mark_stats_draining();
        spdlog::info("shutdown requested ({}): not ready (/ready 503), still serving for {} s "
                     "(--shutdown-delay)", strsignal(sig), delay);
        return;
    }
    apply_control_signal(sig);
}

void Master::check_shutdown_delay() {
    if (!shutdown_due_ms_ || monotonic_ms() < shutdown_due_ms_) return;
    shutdown_due_ms_ = 0;
    spdlog::info("--shutdown-delay over: draining");
    apply_control_signal(shutdown_sig_);
}

void Master::apply_control_signal(int sig) {
    SignalStep step = next_step(phase_, sig);
    if (!step.changed && !step.hurry) {
        spdlog::info("{} during the {}: {}", strsignal(sig), phase_name(phase_),
                     phase_ == Phase::Shutdown ? "ignored" : "coalesced into it");
        return;
    }
    Phase was = phase_;
    phase_ = step.phase;
    if (was == Phase::Serving) {
        phase_started_ms_ = monotonic_ms();
        mercy_deadline_ms_ = phase_started_ms_ + int64_t(settings().reload_mercy) * 1000;
        killed_ = false;
    }
    if (step.changed && was != Phase::Serving)
        spdlog::info("{} during the {}: it becomes a {}", strsignal(sig), phase_name(was),
                     phase_name(phase_));
    switch (phase_) {
    case Phase::Reload:
        spdlog::info("graceful reload requested");
        signal_workers(SIGHUP);
        break;
    case Phase::BrutalReload:
        spdlog::info("brutal reload requested");
        kill_workers("brutal reload");
        break;
    case Phase::Shutdown:
        if (step.changed) {
            spdlog::info("shutdown requested ({}); waiting for workers", strsignal(sig));
            mark_stats_draining();
            signal_workers(SIGTERM);
            stop_listening(listeners_);
        }
        if (step.hurry) kill_workers(fmt::format("{} during the shutdown: hurrying it",
                                                 strsignal(sig)).c_str());
        break;
    case Phase::Serving:
        break;
    }
}

int Master::run() {
    int n = settings().processes;
    pids_.assign(size_t(n) + 1, 0);
    spawned_ms_.assign(size_t(n) + 1, 0);
    cheaped_.assign(size_t(n) + 1, 0);
    for (int id = 1; id <= n; ++id) {
        // --cheaper: only --cheaper-initial workers at first
        if (cheaper_.settings().enabled() && id > cheaper_.settings().initial) set_cheaped(id, true);
        else spawn(id);
    }
    extras_.start();
    daemons_.start(runtime().config);
    vassal_announce();

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGTSTP}) sigaddset(&set, s);
    const timespec short_tick{0, 20 * 1000 * 1000};  // while waiting for workers to finish
    for (;;) {
        // while serving: 200 ms, or less when a uwsgi signal timer is due sooner
        int64_t wait_ms = master_signal_wait_ms(200);
        const timespec tick{wait_ms / 1000, (wait_ms % 1000) * 1000 * 1000};
        int sig = sigtimedwait(&set, nullptr, phase_ == Phase::Serving ? &tick : &short_tick);
        reap(phase_ == Phase::Serving);
        if (no_app_ && phase_ == Phase::Serving) {
            spdlog::error("a worker could not load its app (--lazy-apps); shutting down");
            signal_workers(SIGTERM);
            wait_workers(settings().reload_mercy);
            return kExitNoApp;
        }
        if (phase_ == Phase::Serving) {
            check_harakiri();
            daemons_.check();
            master_signal_tick();
            recycler_.check(pids_, cheaped_);
            chain_.step(pids_, cheaped_);
            adapt_workers();
            check_idle();
            check_log_rotation(true);
            check_shutdown_delay();
            zerg_.poll();
            vassal_heartbeat(settings().heartbeat_s, a_worker_waits());
        }
        fifo_.poll(*this);
        if (is_control_signal(sig)) on_control_signal(sig);
        if (sig == SIGTSTP) pause_resume();
        if (int asked = vassal_poll_emperor()) on_control_signal(asked);
        if (phase_ == Phase::Serving) continue;
        if (live_workers() > 0) {
            extras_.no_mercy("mule", phase_started_ms_, mule_reload_mercy());
            if (monotonic_ms() >= mercy_deadline_ms_)
                kill_workers(fmt::format("workers still busy after --reload-mercy {} s",
                                         settings().reload_mercy).c_str());
            continue;
        }
        // Every worker is gone. A signal that came meanwhile still counts (a TERM turns the
        // reload into a shutdown), so none is left pending for the next image by surprise.
        phase_ = take_pending_control_signals(phase_);
        daemons_.stop(phase_ != Phase::Shutdown);
        run_shutdown_hooks();
        if (phase_ == Phase::Shutdown) {
            spdlog::info("goodbye");
            return 0;
        }
        reexec(listeners_);
    }
}

int run_master(const std::vector<Listener> &listeners) {
    Master m(listeners);
    start_stats_server(listeners);
    int code = m.run();
    stop_stats_server(true);
    return code;
}

int run_single(const std::vector<Listener> &listeners) {
    runtime().worker_id = 1;  // the single process is worker 1 in post_fork hooks too
    set_process_title(runtime().config, "worker 1");
    if (settings().lazy_apps) load_apps_with_hooks();  // serve() left them to the worker
    run_post_fork_hooks();
    run_accepting_hooks();
    WorkerExit why = run_worker(1, listeners);
    Phase phase = why == WorkerExit::Stop || why == WorkerExit::HurriedStop ? Phase::Shutdown
                  : why == WorkerExit::BrutalReload                        ? Phase::BrutalReload
                                                                           : Phase::Reload;
    // A TERM that came while the last request finished turns the reload into a shutdown.
    if (phase != Phase::Shutdown) phase = take_pending_control_signals(phase);
    if (phase != Phase::Shutdown) reexec(listeners);
    if (why == WorkerExit::HurriedStop || why == WorkerExit::BrutalReload) {
        // Request threads are still running app code: no static destructors under them.
        remove_run_files(listeners);
        spdlog::info("goodbye (shutdown hurried)");
        _exit(0);
    }
    spdlog::info("goodbye");
    return 0;
}

}  // namespace core
