// The master process's state and its jobs, shared by the files that implement them (private
// to the core): master.cpp (fork, respawn, harakiri, control signals, the tick loop),
// master_fifo_commands.cpp (the fifo's letters), cheaper_master.cpp (--cheaper) and
// idle_mode_master.cpp (--idle).
#pragma once

#include "attached_daemons.hpp"
#include "chain_reload.hpp"
#include "cheaper.hpp"
#include "control_signals.hpp"
#include "extra_processes.hpp"
#include "idle_mode.hpp"
#include "master_fifo.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "settings.hpp"
#include "sockets.hpp"
#include "worker_recycling.hpp"
#include "zerg.hpp"

#include <csignal>
#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace core {

class Master : public MasterControl {
public:
    explicit Master(const std::vector<Listener> &listeners)
        : listeners_(listeners),
          cheaper_(settings().cheaper),
          fifo_(runtime().config),
          extras_(listeners) {}
    int run();

    // the master fifo's commands (master_fifo.hpp)
    void graceful_reload() override { on_control_signal(SIGHUP); }
    void brutal_reload() override { on_control_signal(SIGQUIT); }
    void graceful_stop() override { on_control_signal(SIGTERM); }
    void brutal_stop() override;
    void chain_reload() override;
    void reload_workers(bool brutal) override;
    void log_stats() override;
    void cheaper_nudge(int delta) override;
    void pause_resume() override;

private:
    void adapt_workers();
    void check_idle();
    void set_cheaped(int id, bool cheaped) {
        cheaped_[size_t(id)] = cheaped;
        worker_slot(id).cheaped.store(cheaped);
    }
    void spawn(int id);
    void reap(bool respawn);
    void signal_workers(int sig);
    bool wait_workers(int mercy_s);
    void check_harakiri();
    void check_user_harakiri();
    int live_workers() const;
    bool a_worker_waits() const;
    void on_control_signal(int sig);  // through --shutdown-delay
    void apply_control_signal(int sig);
    void check_shutdown_delay();
    void kill_workers(const char *why);

    Phase phase_ = Phase::Serving;
    int64_t mercy_deadline_ms_ = 0;  // when a reload or shutdown stops waiting for workers
    int64_t phase_started_ms_ = 0;   // when the reload or shutdown began (--mule-reload-mercy)
    bool killed_ = false;            // the workers of this reload or shutdown got SIGKILL
    bool paused_ = false;            // SIGTSTP / fifo 'p': workers take no new connection
    int64_t shutdown_due_ms_ = 0;    // --shutdown-delay: when the delayed shutdown begins; 0: none
    int shutdown_sig_ = 0;           // the signal that asked for it

    const std::vector<Listener> &listeners_;
    std::vector<pid_t> pids_;  // index = worker id
    std::vector<int64_t> spawned_ms_;
    std::vector<char> cheaped_;  // index = worker id: retired by --cheaper, not respawned
    bool no_app_ = false;
    AttachedDaemons daemons_;
    Cheaper cheaper_;
    int64_t next_cheaper_ms_ = 0;
    MasterFifo fifo_;
    IdleMode idle_{settings().idle_s, settings().die_on_idle};
    WorkerRecycler recycler_;
    ChainReload chain_;
    ExtraProcesses extras_;  // mules, spoolers, gateways: stopped and reloaded with the workers
    ZergServer zerg_{runtime().config, listeners_};  // --zerg-server
};


}  // namespace core
