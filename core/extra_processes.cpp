#include "extra_processes.hpp"

#include "clock.hpp"
#include "lifecycle.hpp"
#include "process_options.hpp"
#include "runtime.hpp"
#include "signals.hpp"
#include "stats_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace core {
namespace {

struct Kind {
    std::string name;
    uwsgi_process_kind def;  // name points into `name`
};
std::vector<Kind> g_kinds;
bool g_master_wanted = false;  // set by serve() through allow_extra_processes()

bool valid_name(const std::string &n) {
    return !n.empty() && n.size() <= 32 &&
           n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
               std::string::npos &&
           n.rfind("worker", 0) != 0 && n.rfind("active-workers", 0) != 0 &&
           n.find_last_of("0123456789") != n.size() - 1;  // "NAMEN" must stay readable
}

// In the child: SIGTERM, SIGINT, SIGHUP and SIGQUIT (the master's shutdown and reload) end the
// process, through the kind's stop() when it has one. They stay blocked (as in every process of
// this server) and are taken here, so the kind's code never runs in a signal handler.
void watch_control_signals(const uwsgi_process_kind &k) {
    std::thread([k] {
        sigset_t set;
        sigemptyset(&set);
        for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&set, s);
        int sig = 0;
        while (sigwait(&set, &sig) != 0) {
        }
        if (!k.stop) _exit(0);
        k.stop(k.ctx);
    }).detach();
}

}  // namespace

int register_process_kind(const uwsgi_process_kind *k) {
    if (!k || k->struct_size < sizeof(uwsgi_process_kind) || !k->name || !k->run) {
        spdlog::error("register_process: give a uwsgi_process_kind with its struct_size, name "
                      "and run function");
        return UWSGI_ERROR;
    }
    std::string name = k->name;
    const Runtime &rt = runtime();
    if (rt.serving || rt.worker_id != 0 || !rt.process_kind.empty()) {
        spdlog::error("register_process {}: only during init or load_apps in the master, before "
                      "fork",
                      name);
        return UWSGI_ERROR;
    }
    if (!g_master_wanted) {
        spdlog::error("register_process {}: extra processes need a master process; add --master",
                      name);
        return UWSGI_ERROR;
    }
    if (!valid_name(name) || k->count < 1 || k->count > 1000) {
        spdlog::error("register_process '{}' x {}: the name must be letters, digits, '-' or '_' "
                      "not ending in a digit nor starting with 'worker', the count 1..1000",
                      name, k->count);
        return UWSGI_ERROR;
    }
    for (auto &existing : g_kinds)
        if (existing.name == name) {
            spdlog::error("register_process {}: that kind is already registered", name);
            return UWSGI_ERROR;
        }
    add_signal_targets(name, k->count);
    g_kinds.push_back({name, *k});
    spdlog::info("extra process kind {} registered: {} process(es)", name, k->count);
    return UWSGI_OK;
}

const char *current_process_kind(int32_t *index) {
    const Runtime &rt = runtime();
    if (rt.process_kind.empty()) return nullptr;
    if (index) *index = rt.process_index;
    return rt.process_kind.c_str();
}

void allow_extra_processes(bool master) { g_master_wanted = master; }

void ExtraProcesses::start() {
    for (size_t k = 0; k < g_kinds.size(); ++k)
        for (int i = 1; i <= g_kinds[k].def.count; ++i) processes_.push_back({k, i});
    for (auto &p : processes_) spawn(p);
}

void ExtraProcesses::spawn(Process &p) {
    // one that dies right after its birth is throttled, not fork-bombed (as workers are)
    if (p.spawned_ms && monotonic_ms() - p.spawned_ms < 1000) usleep(200 * 1000);
    Kind &kind = g_kinds[p.kind];
    pid_t pid = fork();
    if (pid < 0) {
        spdlog::error("cannot fork {} {}: {}", kind.name, p.index, strerror(errno));
        return;
    }
    if (pid == 0) {
        int code = 1;
        try {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // a master gone for good takes them along
            Runtime &rt = runtime();
            rt.process_kind = kind.name;
            rt.process_index = p.index;
            close_stats_server_in_worker();
            for (auto &l : listeners_) close(l.fd);  // they serve no request
            set_process_title(rt.config, fmt::format("{} {}", kind.name, p.index));
            watch_control_signals(kind.def);
            // before post_fork: an app's post_fork hook may be a mule's whole life (uWSGI's
            // @mule decorators loop there), and its signals must still be handled
            start_process_signal_thread(kind.name, p.index);
            run_post_fork_hooks();
            code = kind.def.run(kind.def.ctx, p.index);
        } catch (const std::exception &e) {
            spdlog::error("{} {}: {}", kind.name, p.index, e.what());
        }
        _exit(code);
    }
    if (p.spawned_ms) ++p.respawns;
    p.pid = pid;
    p.spawned_ms = monotonic_ms();
    spdlog::info("spawned {} {} (pid {})", kind.name, p.index, pid);
}

bool ExtraProcesses::reaped(pid_t pid, int status, bool respawn) {
    for (auto &p : processes_) {
        if (p.pid != pid) continue;
        p.pid = 0;
        p.no_mercy = false;
        const std::string &name = g_kinds[p.kind].name;
        if (WIFSIGNALED(status))
            spdlog::warn("{} {} (pid {}) killed by signal {} ({})", name, p.index, pid,
                         WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            spdlog::info("{} {} (pid {}) exited with code {}", name, p.index, pid,
                         WEXITSTATUS(status));
        if (respawn) {
            spdlog::info("respawning {} {}", name, p.index);
            spawn(p);
        }
        return true;
    }
    return false;
}

void ExtraProcesses::signal_all(int sig) {
    for (auto &p : processes_)
        if (p.pid > 0) kill(p.pid, sig);
}

void ExtraProcesses::no_mercy(const std::string &kind, int64_t since_ms, int mercy_s) {
    if (mercy_s <= 0 || monotonic_ms() - since_ms < int64_t(mercy_s) * 1000) return;
    for (auto &p : processes_) {
        if (p.pid <= 0 || p.no_mercy || g_kinds[p.kind].name != kind) continue;
        spdlog::warn("{} {} (pid: {}) is taking too much time to die...NO MERCY !!! (more "
                     "than --{}-reload-mercy {} s)",
                     kind, p.index, p.pid, kind, mercy_s);
        kill(p.pid, SIGKILL);
        p.no_mercy = true;
    }
}

int ExtraProcesses::live() const {
    int n = 0;
    for (auto &p : processes_) n += p.pid > 0;
    return n;
}

}  // namespace core
