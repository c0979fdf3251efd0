#include "signals.hpp"

#include "config.hpp"
#include "lifecycle.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "settings.hpp"

#include "clock.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <ctime>
#include <sstream>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

constexpr int kMaxTimers = 64, kMaxCrons = 64, kMaxMonitors = 64;
constexpr size_t kMaxTarget = 63, kMaxPath = 255;

struct Entry {
    int32_t registered;  // 0/1
    int32_t wid;         // the process that registered it (0: the master, before fork)
    char target[kMaxTarget + 1];
};
struct Timer {
    uint8_t sig;
    int64_t interval_ms, iterations, done;  // iterations 0: for ever
    int64_t next_ms;                        // 0: not armed yet (the master arms it)
};
struct Cron {
    uint8_t sig;
    int32_t fields[5];  // minute, hour, day, month, weekday
};
struct Monitor {
    uint8_t sig;
    int32_t wd;  // -1: not watched yet (the master adds the watch)
    char path[kMaxPath + 1];
};

// In an anonymous shared mapping made before fork: every process registers here, the master
// acts on it. `mutex` is robust: a worker dying mid-registration does not wedge the table.
struct Shared {
    pthread_mutex_t mutex;
    Entry entries[256];
    Timer timers[kMaxTimers];
    int32_t ntimers;
    Cron crons[kMaxCrons];
    int32_t ncrons;
    Monitor monitors[kMaxMonitors];
    int32_t nmonitors;
};

struct Handler {
    uwsgi_signal_handler fn = nullptr;
    void *ctx = nullptr;
};

Shared *g_shared = nullptr;
Handler g_handlers[256];  // this process's: inherited by workers when set before fork
int g_workers = 0;
int g_to_master[2] = {-1, -1};   // workers write [1], the master reads [0]
int g_any_worker[2] = {-1, -1};  // the master writes [0], the first free worker reads [1]
std::vector<int> g_worker_pipe;  // per worker id: master end [2*id], worker end [2*id+1]
// Extra process kinds (extra_processes.cpp): a pipe read by the first free one of the kind and
// one per process, made before fork like the workers'.
struct KindPipes {
    std::string name;
    int count;
    int any[2];
    std::vector<int> each;  // per index 1..count: master end [2*i], process end [2*i+1]
};
std::vector<KindPipes> g_kinds;
int g_inotify = -1;              // the master's
int64_t g_last_cron_minute = -1;

// signal_wait(): the last signal this process's signal thread handled
std::mutex g_wait_mutex;
std::condition_variable g_wait_cv;
uint64_t g_received_count = 0;
int g_last_received = -1;

// never destroyed: a worker that abandons its threads exits with this one still running
std::thread *g_thread = nullptr;
int g_stop_fd = -1;
SignalObserver g_observer;

struct Locked {
    Locked() {
        if (pthread_mutex_lock(&g_shared->mutex) == EOWNERDEAD)
            pthread_mutex_consistent(&g_shared->mutex);
    }
    ~Locked() { pthread_mutex_unlock(&g_shared->mutex); }
};

const KindPipes *find_kind(const std::string &name) {
    for (auto &k : g_kinds)
        if (k.name == name) return &k;
    return nullptr;
}

// "NAME", "NAMEs" or "NAMEN" of an extra process kind: the kind, and the index (0: any, -1:
// each). nullptr when the target names no kind.
const KindPipes *kind_target(const std::string &t, int &index) {
    for (auto &k : g_kinds) {
        if (t.rfind(k.name, 0) != 0) continue;
        std::string rest = t.substr(k.name.size());
        if (rest.empty()) index = 0;
        else if (rest == "s") index = -1;
        else if (rest.find_first_not_of("0123456789") == std::string::npos) index = std::stoi(rest);
        else continue;
        return &k;
    }
    return nullptr;
}

bool is_master_process() {
    return runtime().worker_id == 0 && runtime().process_kind.empty();
}

bool need_master(const char *what) {
    if (g_shared) return true;
    spdlog::error("{}: uwsgi signals need a master process; add --master", what);
    return false;
}

// The targets of uWSGI this server has; mules and the spooler come with their processes.
bool valid_target(const std::string &t, std::string &why) {
    if (t.empty() || t == "worker" || t == "worker0" || t == "workers" || t == "active-workers")
        return true;
    if (t.rfind("worker", 0) == 0) {
        std::string n = t.substr(6);
        bool digits = !n.empty() && n.find_first_not_of("0123456789") == std::string::npos;
        if (digits && std::stoi(n) >= 1 && std::stoi(n) <= g_workers) return true;
        why = "no worker " + n + " (workers are 1.." + std::to_string(g_workers) + ")";
        return false;
    }
    int index = 0;
    if (const KindPipes *k = kind_target(t, index)) {
        if (index <= k->count) return true;
        why = "no " + k->name + " " + std::to_string(index) + " (they are 1.." +
              std::to_string(k->count) + ")";
        return false;
    }
    if (t == "spooler" || t == "mules" || t.rfind("mule", 0) == 0) {
        why = "this server runs no " + std::string(t == "spooler" ? "spooler" : "mules");
        return false;
    }
    why = "unknown signal target (use '', worker, workerN, workers or active-workers)";
    return false;
}

void send(int fd, uint8_t sig, const char *to) {
    if (write(fd, &sig, 1) != 1)
        spdlog::error("could not deliver signal {} to {}: {}", sig, to,
                      errno == EAGAIN ? "its queue is full" : strerror(errno));
}

// The master: where a raised signal goes.
void route(uint8_t sig) {
    Entry e;
    {
        Locked l;
        e = g_shared->entries[sig];
    }
    if (!e.registered) {
        spdlog::warn("signal {} raised but no handler is registered for it", sig);
        return;
    }
    std::string t = e.target;
    int index = 0;
    if (const KindPipes *k = kind_target(t, index)) {
        if (index == 0) return send(k->any[0], sig, t.c_str());
        for (int i = 1; i <= k->count; ++i)
            if (index < 0 || index == i)
                send(k->each[size_t(2 * i)], sig, (k->name + std::to_string(i)).c_str());
        return;
    }
    if (t.empty() || t == "worker" || t == "worker0") return send(g_any_worker[0], sig, "a worker");
    bool active_only = t == "active-workers";
    if (t == "workers" || active_only) {
        for (int id = 1; id <= g_workers; ++id) {
            if (active_only && (worker_slot(id).pid.load() <= 0 || !worker_slot(id).accepting))
                continue;
            send(g_worker_pipe[size_t(2 * id)], sig, ("worker " + std::to_string(id)).c_str());
        }
        return;
    }
    int id = std::stoi(t.substr(6));
    send(g_worker_pipe[size_t(2 * id)], sig, t.c_str());
}

// uWSGI's cron fields: N exact, -1 any, -N every N (value % N == 0).
bool cron_field_matches(int32_t field, int value) {
    if (field >= 0) return field == value;
    if (field == -1) return true;
    return value % -field == 0;
}

// minute, hour, day of month, month, weekday against the local time
bool cron_matches(const int32_t f[5], const struct tm &tm) {
    return cron_field_matches(f[0], tm.tm_min) && cron_field_matches(f[1], tm.tm_hour) &&
           cron_field_matches(f[2], tm.tm_mday) && cron_field_matches(f[3], tm.tm_mon + 1) &&
           cron_field_matches(f[4], tm.tm_wday);
}

// --cron / --unique-cron "MIN HOUR DAY MONTH WEEKDAY COMMAND": the master runs COMMAND with
// /bin/sh; a unique one is skipped while its previous run is still alive.
struct CommandCron {
    int32_t fields[5];
    std::string command;
    bool unique;
    pid_t last_pid = 0;
};
std::vector<CommandCron> g_command_crons;

CommandCron parse_command_cron(const std::string &spec, bool unique) {
    CommandCron c{{}, "", unique};
    std::istringstream in(spec);
    for (auto &f : c.fields)
        if (!(in >> f))
            throw ConfigError("--" + std::string(unique ? "unique-cron" : "cron") + " '" + spec +
                              "': give MINUTE HOUR DAY MONTH WEEKDAY COMMAND (-1 for any, -N "
                              "for every N)");
    std::getline(in >> std::ws, c.command);
    if (c.command.empty())
        throw ConfigError("--cron '" + spec + "': no command after the five time fields");
    return c;
}

void run_command_cron(CommandCron &c) {
    if (c.unique && c.last_pid > 0 && kill(c.last_pid, 0) == 0) {
        spdlog::info("--unique-cron: '{}' is still running (pid {}); skipped", c.command,
                     c.last_pid);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execl("/bin/sh", "sh", "-c", c.command.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    if (pid < 0) spdlog::error("cron: cannot fork for '{}': {}", c.command, strerror(errno));
    else spdlog::info("cron: running '{}' (pid {})", c.command, pid);
    c.last_pid = pid;
}

void fire_crons() {
    time_t now = time(nullptr);
    int64_t minute = int64_t(now) / 60;
    if (minute == g_last_cron_minute) return;
    g_last_cron_minute = minute;
    struct tm tm;
    localtime_r(&now, &tm);
    std::vector<uint8_t> due;
    {
        Locked l;
        for (int i = 0; i < g_shared->ncrons; ++i)
            if (cron_matches(g_shared->crons[i].fields, tm)) due.push_back(g_shared->crons[i].sig);
    }
    for (uint8_t sig : due) route(sig);
    for (auto &c : g_command_crons)
        if (cron_matches(c.fields, tm)) run_command_cron(c);
}

void fire_timers() {
    int64_t now = monotonic_ms();
    std::vector<uint8_t> due;
    {
        Locked l;
        for (int i = 0; i < g_shared->ntimers; ++i) {
            Timer &t = g_shared->timers[i];
            if (t.iterations && t.done >= t.iterations) continue;
            if (!t.next_ms) t.next_ms = now + t.interval_ms;  // armed now
            if (now < t.next_ms) continue;
            due.push_back(t.sig);
            ++t.done;
            // the schedule stays fixed: a late turn does not push every later one back
            t.next_ms += t.interval_ms;
            if (t.next_ms <= now) t.next_ms = now + t.interval_ms;
        }
    }
    for (uint8_t sig : due) route(sig);
}

void fire_monitors() {
    if (g_inotify < 0) {
        g_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (g_inotify < 0) return;
    }
    {
        Locked l;
        for (int i = 0; i < g_shared->nmonitors; ++i) {
            Monitor &m = g_shared->monitors[i];
            if (m.wd != -1) continue;
            m.wd = inotify_add_watch(g_inotify, m.path,
                                     IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE |
                                         IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM |
                                         IN_MOVED_TO | IN_CLOSE_WRITE);
            if (m.wd < 0) {
                spdlog::error("file monitor for signal {}: cannot watch {}: {}", m.sig, m.path,
                              strerror(errno));
                m.wd = -2;  // given up
            }
        }
    }
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    while ((n = read(g_inotify, buf, sizeof buf)) > 0) {
        std::vector<uint8_t> due;
        for (char *p = buf; p < buf + n;) {
            auto *ev = reinterpret_cast<inotify_event *>(p);
            Locked l;
            for (int i = 0; i < g_shared->nmonitors; ++i)
                if (g_shared->monitors[i].wd == ev->wd) due.push_back(g_shared->monitors[i].sig);
            p += sizeof(inotify_event) + ev->len;
        }
        for (uint8_t sig : due) route(sig);
    }
}

// --touch-reload / --touch-workers-reload: a change of a file's mtime (or its appearance).
struct Touched {
    std::string path;
    struct timespec mtime {};
    bool workers_only;
};
std::vector<Touched> g_touched;

void check_touched() {
    for (auto &t : g_touched) {
        struct stat st {};
        if (stat(t.path.c_str(), &st) != 0) continue;
        if (st.st_mtim.tv_sec == t.mtime.tv_sec && st.st_mtim.tv_nsec == t.mtime.tv_nsec) continue;
        t.mtime = st.st_mtim;
        if (t.workers_only) {
            spdlog::info("{} touched (--touch-workers-reload): reloading the workers", t.path);
            for (int id = 1; id <= g_workers; ++id)
                if (pid_t pid = worker_slot(id).pid.load(); pid > 0) kill(pid, SIGHUP);
        } else {
            spdlog::info("{} touched (--touch-reload): graceful reload", t.path);
            kill(getpid(), SIGHUP);
        }
    }
}

std::string process_name() {
    const Runtime &rt = runtime();
    if (!rt.process_kind.empty()) return rt.process_kind + " " + std::to_string(rt.process_index);
    return "worker " + std::to_string(rt.worker_id);
}

void run_handler(uint8_t sig) {
    const Handler &h = g_handlers[sig];
    if (!h.fn) {
        spdlog::error("{}: signal {} has no handler in this process (register it in the "
                      "master, before fork, or in this process)",
                      process_name(), sig);
        return;
    }
    const int id = runtime().worker_id;
    // while it runs, the worker's status is "sigN", as uWSGI shows it
    if (id >= 1) worker_slot(id).running_signal.store(sig, std::memory_order_relaxed);
    if (g_observer.before) g_observer.before(sig);
    h.fn(h.ctx, sig);
    if (g_observer.after) g_observer.after(sig);
    if (id >= 1) {
        worker_slot(id).running_signal.store(-1, std::memory_order_relaxed);
        worker_slot(id).signals.fetch_add(1, std::memory_order_relaxed);
    }
    {
        std::lock_guard<std::mutex> lock(g_wait_mutex);
        ++g_received_count;
        g_last_received = sig;
    }
    g_wait_cv.notify_all();
}

// own_fd: this process's pipe; any_fd: the one it shares with its kind (or the workers)
void signal_thread_main(int own_fd, int any_fd) {
    run_thread_init_hooks();  // e.g. attaches the thread to PyPy
    pollfd fds[3] = {{own_fd, POLLIN, 0}, {any_fd, POLLIN, 0}, {g_stop_fd, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[2].revents) return;
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            uint8_t sig;
            // the shared pipe: another worker may have taken the byte first
            if (read(fds[i].fd, &sig, 1) == 1) run_handler(sig);
        }
    }
}

int make_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
}

}  // namespace

void create_signals(int workers, bool master) {
    g_workers = workers;
    for (auto &opt : {"touch-reload", "touch-workers-reload"})
        for (auto &path : runtime().config.all(opt)) {
            Touched t{path, {}, std::string(opt) == "touch-workers-reload"};
            struct stat st {};
            if (stat(path.c_str(), &st) == 0) t.mtime = st.st_mtim;
            g_touched.push_back(t);
        }
    g_last_cron_minute = int64_t(time(nullptr)) / 60;  // the first check is at the next minute
    for (auto &spec : runtime().config.all("cron"))
        g_command_crons.push_back(parse_command_cron(spec, false));
    for (auto &spec : runtime().config.all("unique-cron"))
        g_command_crons.push_back(parse_command_cron(spec, true));
    if (!master) return;  // the options above imply --master (settings.cpp)
    void *mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("cannot map the signal table");
    g_shared = static_cast<Shared *>(mem);  // zeroed by mmap
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&g_shared->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    g_worker_pipe.assign(size_t(2 * (workers + 1)), -1);
    bool ok = make_pair(g_to_master) == 0 && make_pair(g_any_worker) == 0;
    for (int id = 1; id <= workers; ++id) ok = ok && make_pair(&g_worker_pipe[size_t(2 * id)]) == 0;
    if (!ok) throw std::runtime_error(std::string("cannot create the signal pipes: ") +
                                      strerror(errno));
    // --timer / --rbtimer "SIGNAL SECONDS": raised by the master for an app's handler
    for (auto &opt : {"timer", "rbtimer"})
        for (auto &spec : runtime().config.all(opt)) {
            std::istringstream in(spec);
            int sig = -1;
            int64_t secs = 0;
            if (!(in >> sig >> secs) || sig < 0 || sig > 255 || secs <= 0)
                throw ConfigError("--" + std::string(opt) + " '" + spec +
                                  "': give SIGNAL (0..255) SECONDS (> 0)");
            signal_add_timer(uint8_t(sig), secs * 1000, 0);
        }
}

int signal_register(uint8_t sig, const char *target, uwsgi_signal_handler fn, void *ctx) {
    if (!need_master("register_signal")) return UWSGI_ERROR;
    std::string t = target ? target : "", why;
    if (t.size() > kMaxTarget || !valid_target(t, why)) {
        spdlog::error("register_signal {}: target '{}': {}", sig, t, why.empty() ? "too long" : why);
        return UWSGI_ERROR;
    }
    if (!fn) return UWSGI_ERROR;
    int wid = runtime().worker_id;
    {
        Locked l;
        Entry &e = g_shared->entries[sig];
        if (e.registered && is_master_process()) {
            spdlog::error("register_signal {}: already registered (the master cannot re-register "
                          "a signal)",
                          sig);
            return UWSGI_ERROR;
        }
        std::memcpy(e.target, t.c_str(), t.size() + 1);
        e.wid = wid;
        e.registered = 1;
    }
    g_handlers[sig] = {fn, ctx};
    spdlog::info("signal {} registered ({}, target {})", sig,
                 is_master_process() ? "master" : process_name(),
                 t.empty() ? "default: any worker" : t);
    return UWSGI_OK;
}

int signal_raise(uint8_t sig) {
    if (!need_master("signal")) return UWSGI_ERROR;
    if (is_master_process()) {
        route(sig);
        return UWSGI_OK;
    }
    if (write(g_to_master[1], &sig, 1) != 1) {
        spdlog::error("signal {}: cannot reach the master: {}", sig, strerror(errno));
        return UWSGI_ERROR;
    }
    return UWSGI_OK;
}

int signal_is_registered(uint8_t sig) {
    if (!g_shared) return 0;
    Locked l;
    return g_shared->entries[sig].registered ? 1 : 0;
}

int signal_wait(int32_t sig, int32_t timeout_ms) {
    std::unique_lock<std::mutex> lock(g_wait_mutex);
    uint64_t seen = g_received_count;
    auto arrived = [&] { return g_received_count != seen && (sig < 0 || g_last_received == sig); };
    auto again = [&] {
        if (g_received_count != seen && !arrived()) seen = g_received_count;  // another number
        return arrived();
    };
    if (timeout_ms < 0) g_wait_cv.wait(lock, again);
    else if (!g_wait_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), again))
        return UWSGI_ERROR;
    return g_last_received;
}

int signal_add_timer(uint8_t sig, int64_t interval_ms, int64_t iterations) {
    if (!need_master("add_timer")) return UWSGI_ERROR;
    if (interval_ms <= 0 || iterations < 0) {
        spdlog::error("timer for signal {}: the interval must be positive", sig);
        return UWSGI_ERROR;
    }
    Locked l;
    if (g_shared->ntimers >= kMaxTimers) {
        spdlog::error("timer for signal {}: at most {} timers", sig, kMaxTimers);
        return UWSGI_ERROR;
    }
    g_shared->timers[g_shared->ntimers++] = {sig, interval_ms, iterations, 0, 0};
    return UWSGI_OK;
}

int signal_add_cron(uint8_t sig, int minute, int hour, int day, int month, int weekday) {
    if (!need_master("add_cron")) return UWSGI_ERROR;
    Locked l;
    if (g_shared->ncrons >= kMaxCrons) {
        spdlog::error("cron for signal {}: at most {} cron entries", sig, kMaxCrons);
        return UWSGI_ERROR;
    }
    g_shared->crons[g_shared->ncrons++] = {sig, {minute, hour, day, month, weekday}};
    return UWSGI_OK;
}

int signal_add_file_monitor(uint8_t sig, const char *path) {
    if (!need_master("add_file_monitor")) return UWSGI_ERROR;
    struct stat st {};
    if (!path || strlen(path) > kMaxPath || stat(path, &st) != 0) {
        spdlog::error("file monitor for signal {}: cannot watch {}: {}", sig, path ? path : "",
                      path && strlen(path) > kMaxPath ? "path too long" : strerror(errno));
        return UWSGI_ERROR;
    }
    Locked l;
    if (g_shared->nmonitors >= kMaxMonitors) {
        spdlog::error("file monitor for signal {}: at most {} file monitors", sig, kMaxMonitors);
        return UWSGI_ERROR;
    }
    Monitor &m = g_shared->monitors[g_shared->nmonitors++];
    m.sig = sig;
    m.wd = -1;
    std::memcpy(m.path, path, strlen(path) + 1);
    return UWSGI_OK;
}

void master_signal_tick() {
    check_touched();
    if (!g_shared) return;
    uint8_t buf[256];
    ssize_t n;
    while ((n = read(g_to_master[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; ++i) route(buf[i]);
    fire_timers();
    fire_crons();
    fire_monitors();
}

int64_t master_signal_wait_ms(int64_t longest_ms) {
    if (!g_shared) return longest_ms;
    int64_t now = monotonic_ms(), wait = longest_ms;
    Locked l;
    for (int i = 0; i < g_shared->ntimers; ++i) {
        const Timer &t = g_shared->timers[i];
        if (t.next_ms && !(t.iterations && t.done >= t.iterations))
            wait = std::min(wait, std::max<int64_t>(t.next_ms - now, 1));
    }
    return wait;
}

void add_signal_targets(const std::string &kind, int count) {
    if (!g_shared) return;
    KindPipes k{kind, count, {-1, -1}, std::vector<int>(size_t(2 * (count + 1)), -1)};
    bool ok = make_pair(k.any) == 0;
    for (int i = 1; i <= count; ++i) ok = ok && make_pair(&k.each[size_t(2 * i)]) == 0;
    if (!ok) throw std::runtime_error("cannot create the signal pipes of the " + kind + ": " +
                                      strerror(errno));
    g_kinds.push_back(std::move(k));
}

namespace {
void start_signal_thread(int own_fd, int any_fd) {
    g_stop_fd = eventfd(0, EFD_CLOEXEC);
    g_thread = new std::thread(signal_thread_main, own_fd, any_fd);
}
}  // namespace

void start_worker_signal_thread(int worker_id) {
    if (!g_shared) return;
    start_signal_thread(g_worker_pipe[size_t(2 * worker_id + 1)], g_any_worker[1]);
}

void start_process_signal_thread(const std::string &kind, int index) {
    const KindPipes *k = g_shared ? find_kind(kind) : nullptr;
    if (!k) return;
    start_signal_thread(k->each[size_t(2 * index + 1)], k->any[1]);
}

void observe_signal_handlers(SignalObserver observer) { g_observer = observer; }

void stop_worker_signal_thread() {
    if (!g_thread) return;
    uint64_t one = 1;
    if (write(g_stop_fd, &one, sizeof one) < 0) spdlog::error("cannot stop the signal thread");
    g_thread->join();
    delete g_thread;
    g_thread = nullptr;
    close(g_stop_fd);
}

}  // namespace core
