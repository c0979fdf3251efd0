#include "emperor.hpp"

#include "emperor_protocol.hpp"
#include "emperor_stats.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "sockets.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <map>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace core {
namespace {

bool is_vassal_file(const std::string &name) {
    for (const char *ext : {".ini", ".xml", ".yaml", ".yml"}) {
        size_t n = strlen(ext);
        if (name.size() > n && name.compare(name.size() - n, n, ext) == 0) return true;
    }
    return false;
}

// The config option that reads FILE, by its extension (uWSGI's vassal_new_argv).
const char *config_option_for(const std::string &file) {
    if (file.size() > 4 && file.compare(file.size() - 4, 4, ".xml") == 0) return "--xml";
    if (file.size() > 4 && file.compare(file.size() - 4, 4, ".ini") == 0) return "--ini";
    return "--yaml";
}

bool has_glob_chars(const std::string &s) { return s.find_first_of("*?[") != std::string::npos; }

// One monitored source: a directory (vassals named by file name, started in that directory, as
// uWSGI's dir monitor chdirs there) or a glob (vassals named by the matched path).
struct Scanner {
    std::string arg;
    bool is_glob;
};

struct Found {
    std::string path, dir;
    time_t mtime;
    const Scanner *scanner;
    uid_t uid;  // the file's owner: --emperor-tyrant runs the vassal as them
    gid_t gid;
};

// The owner of a vassal file: of the link itself with --emperor-tyrant-nofollow (uWSGI's lstat),
// else of what it points to.
void owner_of(const std::string &path, bool nofollow, const struct stat &st, Found &f) {
    f.uid = st.st_uid;
    f.gid = st.st_gid;
    struct stat lst;
    if (nofollow && lstat(path.c_str(), &lst) == 0) {
        f.uid = lst.st_uid;
        f.gid = lst.st_gid;
    }
}

std::map<std::string, Found> scan(const std::vector<Scanner> &scanners, bool nofollow) {
    std::map<std::string, Found> out;
    for (auto &s : scanners) {
        if (s.is_glob) {
            glob_t g{};
            if (glob(s.arg.c_str(), 0, nullptr, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; ++i) {
                    struct stat st;
                    std::string p = g.gl_pathv[i];
                    if (is_vassal_file(p) && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
                        owner_of(p, nofollow, st,
                                 out.emplace(p, Found{p, "", st.st_mtime, &s, 0, 0}).first->second);
                }
            globfree(&g);
            continue;
        }
        DIR *d = opendir(s.arg.c_str());
        if (!d) continue;
        while (dirent *e = readdir(d)) {
            std::string name = e->d_name;
            if (!is_vassal_file(name)) continue;
            std::string p = s.arg + "/" + name;
            struct stat st;
            if (stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
                owner_of(p, nofollow, st,
                         out.emplace(name, Found{p, s.arg, st.st_mtime, &s, 0, 0}).first->second);
        }
        closedir(d);
    }
    return out;
}

class Emperor {
public:
    explicit Emperor(const Config &c);
    int run();

private:
    void start(Vassal &v);
    void stop(Vassal &v, char how);
    void rescan();
    void reap();
    void read_vassal(Vassal &v);
    void start_due();
    void curse_overdue();
    void kill_silent();
    void become_owner(const Vassal &v) const;
    bool tyrant_refuses(const std::string &id, const Found &f);
    std::vector<std::string> vassal_argv(const Vassal &v) const;
    std::vector<std::string> scanner_args() const {
        std::vector<std::string> out;
        for (auto &s : scanners_) out.push_back(s.arg);
        return out;
    }

    std::vector<Scanner> scanners_;
    std::vector<std::string> vassal_set_;
    std::map<std::string, Vassal> vassals_;  // by id
    std::map<std::string, std::string> dirs_;  // id -> directory to start in ("" : stay)
    int freq_s_, throttle_ms_, max_throttle_ms_, curse_tolerance_s_, mercy_s_;
    int heartbeat_s_;  // --emperor-required-heartbeat
    bool tyrant_, tyrant_nofollow_, tyrant_initgroups_;  // --emperor-tyrant and its options
    std::map<std::string, time_t> refused_;  // tyrant: root-owned files said once per mtime
    int stats_fd_ = -1;
    int signal_fd_ = -1;
    int64_t stopping_since_ms_ = 0;
    std::string self_exe_;
};

Emperor::Emperor(const Config &c)
    : freq_s_(std::max(1, int(c.number("emperor-freq", 3)))),
      throttle_ms_(int(c.number("emperor-throttle", 1000))),
      max_throttle_ms_(int(c.number("emperor-max-throttle", 180000))),
      curse_tolerance_s_(int(c.number("emperor-curse-tolerance", 30))),
      mercy_s_(int(c.number("reload-mercy", 30))),
      heartbeat_s_(int(c.number("emperor-required-heartbeat", 30))),
      tyrant_(c.flag("emperor-tyrant")),
      tyrant_nofollow_(c.flag("emperor-tyrant-nofollow")),
      tyrant_initgroups_(c.flag("emperor-tyrant-initgroups")) {
    if (tyrant_ && geteuid() != 0)
        throw ConfigError("--emperor-tyrant runs each vassal as the owner of its file: the "
                          "Emperor must run as root (or drop --emperor-tyrant)");
    if (heartbeat_s_ < 1)
        throw ConfigError(fmt::format("--emperor-required-heartbeat {}: must be at least 1 "
                                      "(seconds a vassal that sends heartbeats may stay silent)",
                                      heartbeat_s_));
    for (auto &arg : c.all("emperor")) {
        if (!has_glob_chars(arg)) {
            struct stat st;
            if (stat(arg.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                throw ConfigError(fmt::format(
                    "--emperor {}: not a directory ({}); give the folder of the vassals' config "
                    "files, or a glob such as '/etc/uwsgi/vassals/*.ini'",
                    arg, errno ? strerror(errno) : "a file"));
        }
        scanners_.push_back({arg, has_glob_chars(arg)});
    }
    for (auto &kv : c.all("vassals-set")) {
        if (kv.find('=') == std::string::npos || kv[0] == '=')
            throw ConfigError(fmt::format("--vassals-set {}: expected KEY=VALUE (an option for "
                                          "every vassal, e.g. --vassals-set master=true)",
                                          kv));
        vassal_set_.push_back(kv);
    }
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    self_exe_ = n > 0 ? std::string(buf, size_t(n)) : "uwsgi";
    self_exe_ = c.value_or("binary-path", self_exe_);
    if (const std::string *addr = c.get("emperor-stats")) {
        stats_fd_ = listen_on("emperor-stats", *addr, 16);
        spdlog::info("*** Emperor stats server enabled on {} ***", *addr);
    }
}

std::vector<std::string> Emperor::vassal_argv(const Vassal &v) const {
    std::vector<std::string> argv{self_exe_};
    for (auto &kv : vassal_set_) {
        argv.push_back("--set");
        argv.push_back(kv);
    }
    argv.push_back(config_option_for(v.path));
    argv.push_back(v.path);
    return argv;
}

void Emperor::start(Vassal &v) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        spdlog::error("[emperor] cannot start vassal {}: socketpair: {}", v.id, strerror(errno));
        v.next_start_ms = monotonic_ms() + throttle_ms_;
        return;
    }
    std::vector<std::string> argv = vassal_argv(v);
    std::string dir = dirs_[v.id];
    pid_t pid = fork();
    if (pid < 0) {
        spdlog::error("[emperor] cannot fork vassal {}: {}", v.id, strerror(errno));
        close(sv[0]);
        close(sv[1]);
        v.next_start_ms = monotonic_ms() + throttle_ms_;
        return;
    }
    if (pid == 0) {
        // A vassal never outlives its emperor, even one killed with SIGKILL.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) _exit(1);
        fcntl(sv[1], F_SETFD, 0);  // the vassal's end survives exec (and the vassal's reloads)
        setenv(emperor_msg::kFdEnv, std::to_string(sv[1]).c_str(), 1);
        unsetenv("UWSGI_RELOADS");
        unsetenv("NOTIFY_SOCKET");
        unsetenv("UWSGI_INHERITED_SOCKETS");
        // UWSGI_VASSAL_X=... in the emperor's environment becomes UWSGI_X=... for the vassal
        std::vector<std::string> renamed;
        for (char **e = environ; *e; ++e)
            if (strncmp(*e, "UWSGI_VASSAL_", 13) == 0 && strchr(*e, '='))
                renamed.push_back(*e);
        for (auto &kv : renamed) {
            size_t eq = kv.find('=');
            unsetenv(kv.substr(0, eq).c_str());
            setenv(("UWSGI_" + kv.substr(13, eq - 13)).c_str(), kv.substr(eq + 1).c_str(), 1);
        }
        if (!dir.empty() && chdir(dir.c_str()) != 0) _exit(1);
        if (tyrant_) become_owner(v);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<char *> args;
        for (auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execv(self_exe_.c_str(), args.data());
        fprintf(stderr, "[emperor] cannot execute %s: %s\n", self_exe_.c_str(), strerror(errno));
        _exit(1);
    }
    close(sv[1]);
    v.fd = sv[0];
    v.pid = pid;
    v.loyal = v.ready = v.accepting = false;
    v.last_heartbeat = 0;
    v.stopping = false;
    v.cursed_at = 0;
    v.last_run = time(nullptr);
    if (!v.first_run) v.first_run = v.last_run;
    v.started_ms = monotonic_ms();
    v.next_start_ms = 0;
    spdlog::info("[emperor] vassal {} started (pid {})", v.id, pid);
}

// --emperor-tyrant, in the vassal's child before exec: uWSGI's order (gid, groups, uid).
void Emperor::become_owner(const Vassal &v) const {
    fprintf(stderr, "[emperor-tyrant] dropping privileges to %d %d for instance %s\n",
            int(v.uid), int(v.gid), v.id.c_str());
    bool ok = setgid(v.gid) == 0;
    if (ok && tyrant_initgroups_) {
        // the owner's supplementary groups, by name (its number when it has no passwd entry)
        const passwd *pw = getpwuid(v.uid);
        std::string name = pw ? pw->pw_name : std::to_string(v.uid);
        ok = initgroups(name.c_str(), pw ? pw->pw_gid : v.gid) == 0;
    } else if (ok) {
        ok = setgroups(0, nullptr) == 0;
    }
    ok = ok && setuid(v.uid) == 0;
    if (!ok) {
        fprintf(stderr, "[emperor-tyrant] cannot become %d:%d for %s: %s\n", int(v.uid),
                int(v.gid), v.id.c_str(), strerror(errno));
        _exit(1);
    }
}

// uWSGI's rule: a tyrant never runs a vassal as root (uid or gid 0).
bool Emperor::tyrant_refuses(const std::string &id, const Found &f) {
    if (!tyrant_ || (f.uid != 0 && f.gid != 0)) return false;
    auto [it, fresh] = refused_.emplace(id, f.mtime);
    if (fresh || it->second != f.mtime)
        spdlog::error("[emperor-tyrant] invalid permissions for vassal {} (owned by {}:{}; give "
                      "the file a non-root owner and group)", id, f.uid, f.gid);
    it->second = f.mtime;
    return true;
}

void Emperor::stop(Vassal &v, char how) {
    if (v.pid <= 0 || v.stopping) return;
    if (send(v.fd, &how, 1, MSG_NOSIGNAL) != 1)
        spdlog::warn("[emperor] cannot tell vassal {} to stop: {}", v.id, strerror(errno));
    v.stopping = true;
    v.cursed_at = time(nullptr);
    spdlog::info("[emperor] stop the uwsgi instance {}", v.id);
}

void Emperor::rescan() {
    std::map<std::string, Found> found = scan(scanners_, tyrant_nofollow_);
    for (auto it = refused_.begin(); it != refused_.end();)
        it = found.count(it->first) ? std::next(it) : refused_.erase(it);
    for (auto &[id, f] : found) {
        auto it = vassals_.find(id);
        if (it == vassals_.end()) {
            if (tyrant_refuses(id, f)) continue;
            refused_.erase(id);
            Vassal v;
            v.id = id;
            v.path = f.path;
            v.monitor = f.scanner->arg;
            v.uid = f.uid;
            v.gid = f.gid;
            v.born = v.last_mod = f.mtime;
            dirs_[id] = f.dir;
            start(vassals_.emplace(id, std::move(v)).first->second);
            continue;
        }
        Vassal &v = it->second;
        if (tyrant_ && !v.removed && (f.uid != v.uid || f.gid != v.gid)) {
            // uWSGI: stopped; the next scan starts it again as the new owner
            spdlog::warn("!!! permissions of file {} changed. stopping the instance... !!!", id);
            v.removed = true;  // reap() forgets it, then the next scan starts it afresh
            if (v.pid > 0) {
                stop(v, emperor_msg::kStop);
            } else {
                dirs_.erase(id);
                vassals_.erase(it);
            }
            continue;
        }
        if (v.removed || f.mtime == v.last_mod) continue;
        v.last_mod = f.mtime;
        if (v.pid <= 0) continue;  // waiting for its (throttled) respawn: that reads the new file
        char reload = emperor_msg::kReload;
        if (send(v.fd, &reload, 1, MSG_NOSIGNAL) != 1) {
            spdlog::warn("[emperor] cannot tell vassal {} to reload: {}", v.id, strerror(errno));
            continue;
        }
        v.respawns++;
        v.last_run = time(nullptr);
        v.ready = v.accepting = false;
        spdlog::info("[emperor] reload the uwsgi instance {}", v.id);
    }
    for (auto &[id, v] : vassals_) {
        if (found.count(id) || v.removed) continue;
        v.removed = true;
        if (v.pid > 0) stop(v, emperor_msg::kStop);
    }
}

void Emperor::read_vassal(Vassal &v) {
    char buf[64];
    ssize_t n = recv(v.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {  // its master is gone (the process is reaped by reap())
        close(v.fd);
        v.fd = -1;
        return;
    }
    for (ssize_t i = 0; i < n; ++i) {
        switch (buf[i]) {
        case emperor_msg::kLoyal:
            v.loyal = true;
            v.last_loyal = time(nullptr);
            v.throttle_ms = 0;  // off the blacklist
            v.disloyal_deaths = 0;
            spdlog::info("[emperor] vassal {} is now loyal", v.id);
            break;
        case emperor_msg::kSpawned:
            v.ready = true;
            v.last_ready = time(nullptr);
            break;
        case emperor_msg::kAccepting:
            v.accepting = true;
            v.last_accepting = time(nullptr);
            spdlog::info("[emperor] vassal {} is ready to accept requests", v.id);
            break;
        case emperor_msg::kHeartbeat:
            v.last_heartbeat = time(nullptr);
            break;
        case emperor_msg::kVoluntaryStop:
            v.removed = true;  // until its file changes, like uWSGI's emperor_stop
            stop(v, emperor_msg::kStop);
            break;
        default:
            break;
        }
    }
}

void Emperor::reap() {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (auto it = vassals_.begin(); it != vassals_.end(); ++it) {
            Vassal &v = it->second;
            if (v.pid != pid) continue;
            if (v.fd >= 0) close(v.fd);
            v.fd = -1;
            v.pid = -1;
            std::string how = WIFSIGNALED(status)
                                  ? fmt::format("killed by signal {}", WTERMSIG(status))
                                  : fmt::format("exit code {}", WEXITSTATUS(status));
            if (v.removed || stopping_since_ms_) {
                spdlog::info("[emperor] removed uwsgi instance {} ({})", v.id, how);
                dirs_.erase(v.id);
                vassals_.erase(it);
                break;
            }
            if (WIFEXITED(status) && WEXITSTATUS(status) == emperor_msg::kExileCode) {
                spdlog::info("[emperor] vassal {} exiled itself ({}): not respawned", v.id, how);
                v.removed = true;
                break;
            }
            // A vassal that dies before announcing itself is throttled a little more each time
            // (uWSGI's blacklist), up to --emperor-max-throttle; a loyal one comes back at once.
            int delay = 0;
            if (!v.loyal) {
                v.throttle_ms = std::min(v.throttle_ms + throttle_ms_, max_throttle_ms_);
                delay = v.throttle_ms;
                v.disloyal_deaths++;
                v.last_attempt = time(nullptr);
                if (!v.first_attempt) v.first_attempt = v.last_attempt;
            }
            spdlog::warn("[emperor] vassal {} (pid {}) died ({}); respawning it{}", v.id, pid,
                         how, delay ? fmt::format(" in {} ms (throttled)", delay) : "");
            v.next_start_ms = monotonic_ms() + delay;
            v.respawns++;
            break;
        }
    }
}

void Emperor::start_due() {
    int64_t now = monotonic_ms();
    for (auto &[id, v] : vassals_)
        if (v.pid <= 0 && !v.removed && v.next_start_ms && now >= v.next_start_ms) start(v);
}

void Emperor::curse_overdue() {
    time_t now = time(nullptr);
    for (auto &[id, v] : vassals_)
        if (v.pid > 0 && v.stopping && now - v.cursed_at >= curse_tolerance_s_) {
            spdlog::warn("[emperor] vassal {} (pid {}) still running {} s after being told to "
                         "stop: killing it",
                         v.id, v.pid, curse_tolerance_s_);
            kill(v.pid, SIGKILL);
            v.cursed_at = now;
        }
}

// uWSGI's heartbeat check: a vassal that sent a heartbeat (--heartbeat) and then none for
// --emperor-required-heartbeat seconds is blocked (every worker stuck): SIGKILL, and reap()
// respawns it. One that never sent one is not watched.
void Emperor::kill_silent() {
    time_t now = time(nullptr);
    for (auto &[id, v] : vassals_)
        if (v.pid > 0 && !v.stopping && v.last_heartbeat > 0 &&
            v.last_heartbeat + heartbeat_s_ < now) {
            spdlog::warn("[emperor] vassal {} sent no heartbeat in last {} seconds, brutally "
                         "respawning it...", v.id, heartbeat_s_);
            v.last_heartbeat = 0;
            kill(v.pid, SIGKILL);
        }
}

int Emperor::run() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGCHLD, SIGHUP}) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) throw ConfigError(fmt::format("signalfd: {}", strerror(errno)));
    spdlog::info("*** starting uWSGI Emperor ***");
    int64_t next_scan_ms = 0;
    for (;;) {
        int64_t now = monotonic_ms();
        if (!stopping_since_ms_ && now >= next_scan_ms) {
            rescan();
            next_scan_ms = now + int64_t(freq_s_) * 1000;
        }
        if (stopping_since_ms_) {
            bool any = false;
            for (auto &[id, v] : vassals_) any |= v.pid > 0;
            if (!any) break;
            if (now - stopping_since_ms_ >= int64_t(mercy_s_) * 1000)
                for (auto &[id, v] : vassals_)
                    if (v.pid > 0) {
                        spdlog::warn("[emperor] NO MERCY for vassal {} !!!", v.id);
                        kill(v.pid, SIGKILL);
                    }
        }
        std::vector<pollfd> fds{{signal_fd_, POLLIN, 0}};
        if (stats_fd_ >= 0) fds.push_back({stats_fd_, POLLIN, 0});
        std::vector<Vassal *> polled;
        for (auto &[id, v] : vassals_)
            if (v.fd >= 0) {
                fds.push_back({v.fd, POLLIN, 0});
                polled.push_back(&v);
            }
        poll(fds.data(), fds.size(), 200);
        signalfd_siginfo si;
        while (read(signal_fd_, &si, sizeof si) == ssize_t(sizeof si)) {
            int sig = int(si.ssi_signo);
            if (sig == SIGCHLD) continue;
            if (sig == SIGHUP) {  // uWSGI's emperor ignores it; a rescan is what one expects
                spdlog::info("[emperor] SIGHUP: rescanning the vassals");
                next_scan_ms = 0;
                continue;
            }
            if (stopping_since_ms_) {
                spdlog::info("[emperor] *** RAGNAROK ALREADY EVOKED ***");
                continue;
            }
            spdlog::info("[emperor] *** RAGNAROK EVOKED *** ({})", strsignal(sig));
            stopping_since_ms_ = monotonic_ms();
            for (auto &[id, v] : vassals_) stop(v, emperor_msg::kStop);
        }
        size_t i = 1;
        if (stats_fd_ >= 0 && (fds[i++].revents & POLLIN)) {
            int c = accept4(stats_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) {
                send_emperor_stats(c, scanner_args(), vassals_, tyrant_);
                close(c);
            }
        }
        for (size_t k = 0; k < polled.size(); ++k)
            if (fds[i + k].revents) read_vassal(*polled[k]);
        if (!stopping_since_ms_) kill_silent();
        reap();
        if (!stopping_since_ms_) start_due();
        curse_overdue();
    }
    spdlog::info("The Emperor is buried.");
    return 0;
}

}  // namespace

bool emperor_wanted(const Config &config) { return config.has("emperor"); }

int run_emperor(const Config &config) {
    Emperor e(config);
    return e.run();
}

}  // namespace core
