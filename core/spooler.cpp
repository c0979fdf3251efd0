#include "spooler.hpp"

#include "clock.hpp"
#include "extra_processes.hpp"
#include "runtime.hpp"
#include "spool_file.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <mutex>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

// One spooler process, in shared memory: every process reads the pids (uwsgi.spooler_pids()).
struct SpoolerSlot {
    std::atomic<int32_t> pid{0};
    std::atomic<uint64_t> tasks{0};     // run by the current process (uWSGI resets it too)
    std::atomic<uint64_t> starts{0};    // respawns = starts - 1
    std::atomic<int32_t> running{0};    // 1 while a task runs
};
struct SpoolerShared {
    std::atomic<int32_t> frequency{0};  // set_spooler_frequency(); 0: --spooler-frequency
};

struct Handler {
    uwsgi_spooler_handler fn;
    void (*init)(void *);
    void *ctx;
};

struct Options {
    std::vector<std::string> dirs;      // one per spooler process (realpath)
    std::vector<std::string> external;  // --spooler-external: spool targets run elsewhere
    int frequency = 30;
    bool ordered = false;
    bool quiet = false;
    bool durable = true;  // fsync each task file and its directory (--spooler-no-fsync: off)
    std::string chdir_to;  // --spooler-chdir
    int64_t max_tasks = 0;
    int harakiri = 0;
};

Options g_opts;
SpoolerShared *g_shared = nullptr;
SpoolerSlot *g_slots = nullptr;  // spooler_process_count() of them, after g_shared
// What the processes share per spool directory (--spooler and --spooler-external, each once),
// after the slots: its group commit (tasks spooled into it at about the same moment share the
// directory's fsync) and its table of free task files (finished tasks' files reused for new ones).
struct SpoolDirShared {
    DirCommit commit;
    FreeTaskFiles free_files;
};
std::vector<std::string> g_shared_dirs;
SpoolDirShared *g_dir_shared = nullptr;
std::vector<Handler> g_handlers;  // this process's (inherited by spoolers when set before fork)
int g_index = -1;                 // this process's spooler index, once it runs
std::string g_hostname;
std::atomic<uint64_t> g_counter{0};

// the running spooler process
uint64_t g_tasks = 0;
std::atomic<bool> g_stop{false};  // the master asked it to stop: after the task in hand
int g_wake_fd = -1;               // an eventfd: stop() wakes the wait between scans
int g_inotify = -1;               // a new task in a watched directory wakes it too
bool g_saw_busy = false;          // the last scan skipped a task another process had locked
std::atomic<int64_t> g_task_started_ms{0};  // for --spooler-harakiri; 0: idle
std::string g_task_path;                    // the running task, for the harakiri line
std::mutex g_task_mutex;

std::string usable_dir(const std::string &dir, const char *option) {
    // uWSGI: a missing directory is created (rwx for the owner, rx for the group)
    if (access(dir.c_str(), R_OK | W_OK | X_OK) != 0 && mkdir(dir.c_str(), 0750) != 0) {
        int err = errno;
        throw ConfigError(fmt::format(
            "--{} {}: {}: {}; give a directory this user ({}) can read, write and enter, or "
            "create it with those rights",
            option, dir, errno == EEXIST ? "exists but is not usable" : "cannot be created",
            strerror(err), getuid()));
    }
    char real[PATH_MAX];
    if (!realpath(dir.c_str(), real))
        throw ConfigError(fmt::format("--{} {}: {}", option, dir, strerror(errno)));
    struct stat st {};
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
        throw ConfigError(fmt::format("--{} {}: not a directory", option, dir));
    return real;
}

// The --spooler (or --spooler-external) directory a task's "spooler" key names: its path as
// given to the option or resolved.
const std::string *target_dir(std::string_view wanted) {
    if (wanted.empty()) {
        if (!g_opts.dirs.empty()) return &g_opts.dirs.front();
        return g_opts.external.empty() ? nullptr : &g_opts.external.front();
    }
    std::string w(wanted);
    char real[PATH_MAX];
    std::string resolved = realpath(w.c_str(), real) ? std::string(real) : w;
    for (auto *list : {&g_opts.dirs, &g_opts.external})
        for (const auto &d : *list)
            if (d == w || d == resolved) return &d;
    return nullptr;
}

std::string log_prefix() {
    return fmt::format("[spooler {} pid: {}]", g_opts.dirs[size_t(g_index)], int(getpid()));
}

void views_of(const DecodedTask &t, std::vector<uwsgi_str> &keys, std::vector<uwsgi_str> &values) {
    for (const auto &p : t.pairs) {
        keys.push_back({p.key.data(), p.key.size()});
        values.push_back({p.value.data(), p.value.size()});
    }
}

// The shared state of a spool directory; none for a priority sub-directory (its own fsync, no
// reused files).
SpoolDirShared *shared_of(const std::string &dir) {
    for (size_t i = 0; i < g_shared_dirs.size(); ++i)
        if (g_shared_dirs[i] == dir) return &g_dir_shared[i];
    return nullptr;
}

// A finished task's file kept for a new task instead of removed; false: remove it.
bool recycled(const std::string &dir, const std::string &path, LockedTask &task) {
    SpoolDirShared *shared = shared_of(dir);
    uint64_t id = 0;
    size_t slot = 0;
    if (!shared || !recycle_task_file(shared->free_files, dir, path, id, slot)) return false;
    close(task.fd);  // its lock released before a writer may take the file
    task.fd = -1;
    offer_free_task_file(shared->free_files, id, slot);
    return true;
}

// An empty, unlocked task file: a power loss after a writer's rename reached the disk and before
// its bytes did (never a task spool() returned), or uWSGI's writer between its open and its lock
// (a moment). Removed once a minute old, with a log line; skipped until then. (uWSGI skips such
// a file forever.)
void remove_if_left_empty(const std::string &path, const struct stat &st) {
    if (st.st_mtime >= time(nullptr) - 60 || unlink(path.c_str()) != 0) return;
    spdlog::warn("{} removed the empty task file {} (left by a power loss or a crashed writer; "
                 "it held no task)",
                 log_prefix(), path);
}

// The wall clock to compare a task's mtime with: CLOCK_REALTIME, not time(). time() reads the
// coarse clock (as of the last tick, several ms behind when the CPUs idle), while the kernel
// stamps a file whose times were looked at since its last change with the precise time
// (multigrain timestamps, Linux 6.13+; the tests and the spooler stat the free task files). A
// task written in the first milliseconds of a second then looked like an `at` task of the next
// second and waited --spooler-frequency (30 s): seen in a CI run, and in the ctimes of reused
// task files (precise, between the coarse clock's ticks).
time_t wall_clock_seconds() {
    timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec;
}

// Runs one task file through the registered handlers (uWSGI's spooler_manage_task).
void manage_task(const std::string &dir, const std::string &name) {
    std::string path = dir + "/" + name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    if (st.st_mtime > wall_clock_seconds()) return;  // "at": not yet
    LockedTask task;
    TaskOpen state = open_task(path, task);
    if (state == TaskOpen::Busy) g_saw_busy = true;
    if (state == TaskOpen::Empty) remove_if_left_empty(path, st);
    if (state != TaskOpen::Ready) return;
    DecodedTask decoded;
    if (!decode_task(task.content, decoded)) {
        // as uWSGI: a task that cannot be read is removed; named in the log, never silently
        spdlog::error("{} task {} is corrupted ({} bytes, shorter than its header says or "
                      "malformed); removing it",
                      log_prefix(), path, task.content.size());
        unlink(path.c_str());
        return;
    }
    std::vector<uwsgi_str> keys, values;
    views_of(decoded, keys, values);
    if (!g_opts.quiet) spdlog::info("{} managing request {} ...", log_prefix(), path);
    int64_t started = monotonic_ms();
    {
        std::lock_guard<std::mutex> l(g_task_mutex);
        g_task_path = path;
    }
    g_task_started_ms.store(started);
    g_slots[g_index].running.store(1);
    // as uWSGI: a task runs in its directory (handlers get its file name), or --spooler-chdir
    const std::string &cwd = g_opts.chdir_to.empty() ? dir : g_opts.chdir_to;
    if (chdir(cwd.c_str()) != 0)
        spdlog::error("{} chdir {}: {}", log_prefix(), cwd, strerror(errno));
    bool handled = false;
    for (const auto &h : g_handlers) {
        int rc = h.fn(h.ctx, path.c_str(), keys.data(), values.data(), keys.size(),
                      decoded.body.data(), decoded.body.size());
        if (rc == UWSGI_SPOOL_IGNORE) continue;
        handled = true;
        ++g_tasks;
        g_slots[g_index].tasks.store(g_tasks);
        if (rc == UWSGI_SPOOL_OK) {
            if (!g_opts.quiet)
                spdlog::info("{} done with task {} after {} seconds", log_prefix(), path,
                             (monotonic_ms() - started) / 1000);
            if (!recycled(dir, path, task) && unlink(path.c_str()) != 0) {
                spdlog::critical("{} cannot remove the finished task {}: {}; stopping this "
                                 "spooler rather than running it again",
                                 log_prefix(), path, strerror(errno));
                _exit(1);
            }
        }
        break;  // SPOOL_RETRY (or any other value): kept for the next scan
    }
    g_task_started_ms.store(0);
    g_slots[g_index].running.store(0);
    if (!handled)
        spdlog::error("{} no spooler function took task {} (is uwsgi.spooler set in the "
                      "spooler process?); it stays for the next scan",
                      log_prefix(), path);
}

// The directories a spooler waits on: a task renamed in (ours), or closed after writing
// (uWSGI's writers, another instance) wakes it at once instead of at the next --spooler-frequency.
void watch(const std::string &dir) {
    if (g_inotify >= 0)
        inotify_add_watch(g_inotify, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
}

bool is_number(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Reads the pending inotify events: true when one may mean a task to run (a task's name, a new
// priority sub-directory, lost events). Temporary and free files, and a file's creation (ours
// are renamed in; uWSGI's writer locks its file before it fills it), wake no spooler.
bool task_events(int fd) {
    alignas(inotify_event) char buf[8192];
    bool wake = false;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const auto *e = reinterpret_cast<const inotify_event *>(p);
            std::string_view name = e->len ? std::string_view(e->name) : std::string_view();
            if (e->mask & IN_Q_OVERFLOW) wake = true;
            else if (e->mask & IN_ISDIR) wake = wake || is_number(name);
            else if (!(e->mask & IN_CREATE)) wake = wake || name.rfind(kSpoolFilePrefix, 0) == 0;
            p += sizeof(inotify_event) + e->len;
        }
    return wake;
}

// Between scans: until a task may have arrived, stop_spooler_process(), or `ms` passed.
void wait_for_tasks(int64_t ms) {
    int64_t deadline = monotonic_ms() + ms;
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0 || g_stop) return;
        pollfd fds[2] = {{g_wake_fd, POLLIN, 0}, {g_inotify, POLLIN, 0}};
        if (poll(fds, g_inotify >= 0 ? 2 : 1, int(left)) <= 0 || fds[0].revents) return;
        if (task_events(g_inotify)) return;
    }
}

// One pass over a directory. --spooler-ordered: names in version order (priority
// sub-directories, digits, first, lowest first; then tasks), as uWSGI's scandir. uWSGI descends
// into priority sub-directories only when ordered, so a task spooled with a priority never runs
// without --spooler-ordered; here they are scanned after the directory's own tasks then.
void scan(const std::string &dir) {
    std::vector<std::string> names, priorities;
    DIR *d = opendir(dir.c_str());
    if (!d) {
        spdlog::error("{} cannot read {}: {}", log_prefix(), dir, strerror(errno));
        return;
    }
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n.rfind(kSpoolFilePrefix, 0) == 0) names.push_back(n);
        else if (is_number(n)) priorities.push_back(n);
    }
    closedir(d);
    auto version_less = [](const std::string &a, const std::string &b) {
        return strverscmp(a.c_str(), b.c_str()) < 0;
    };
    if (g_opts.ordered) {
        std::sort(priorities.begin(), priorities.end(), version_less);
        std::sort(names.begin(), names.end(), version_less);
        for (const auto &p : priorities) {
            std::string sub = dir + "/" + p;
            struct stat st {};
            if (lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) scan(sub);
            if (g_stop) return;
        }
    }
    watch(dir);
    for (const auto &n : names) {
        manage_task(dir, n);
        if (g_stop) return;
        if (g_opts.max_tasks > 0 && int64_t(g_tasks) >= g_opts.max_tasks) return;
    }
    if (!g_opts.ordered)
        for (const auto &p : priorities) {
            std::string sub = dir + "/" + p;
            struct stat st {};
            if (lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) scan(sub);
            if (g_stop) return;
        }
}

// A writer killed between creating its temporary file and renaming it leaves the temporary
// file (never a task); it goes once it is a minute old, here and in priority sub-directories.
// So do free files (spool_recycle.hpp) a minute old: a previous server's, or lost by a crash
// (a writer that took one finds it gone and creates a file).
void remove_stale_temporaries(const std::string &dir, int depth = 0) {
    DIR *d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> subdirs;
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name, path = dir + "/" + n;
        struct stat st {};
        if (depth == 0 && is_number(n)) subdirs.push_back(path);
        bool temp = n.rfind(kSpoolTempPrefix, 0) == 0, free = n.rfind(kSpoolFreePrefix, 0) == 0;
        if ((!temp && !free) || lstat(path.c_str(), &st) != 0) continue;
        // a free file's mtime is its last task's (maybe a future `at`); its rename set ctime
        time_t changed = free ? st.st_ctime : st.st_mtime;
        if (!S_ISREG(st.st_mode) || changed >= time(nullptr) - 60 || unlink(path.c_str()) != 0)
            continue;
        if (temp)
            spdlog::warn("{} removed {}: its writer stopped before it was complete (the task "
                         "was never spooled)",
                         log_prefix(), path);
        else
            spdlog::info("{} removed {}: a finished task's file kept for reuse by a previous "
                         "run (not a task)",
                         log_prefix(), path);
    }
    closedir(d);
    for (const auto &s : subdirs) remove_stale_temporaries(s, 1);
}

// --spooler-harakiri: a task running longer than SECS kills its spooler (the master respawns
// it; the task, never finished, stays for the next scan), as uWSGI's master does.
void start_harakiri_watch() {
    if (g_opts.harakiri <= 0) return;
    std::thread([] {
        for (;;) {
            usleep(200 * 1000);
            int64_t since = g_task_started_ms.load();
            if (!since || monotonic_ms() - since <= int64_t(g_opts.harakiri) * 1000) continue;
            std::string path;
            {
                std::lock_guard<std::mutex> l(g_task_mutex);
                path = g_task_path;
            }
            spdlog::error("HARAKIRI: {} task {} ran longer than --spooler-harakiri {} s; killing "
                          "this spooler",
                          log_prefix(), path, g_opts.harakiri);
            kill(getpid(), SIGKILL);
        }
    }).detach();
}

}  // namespace

void create_spoolers(const Config &c) {
    if (!c.has("spooler") && !c.has("spooler-external")) return;
    g_opts.frequency = int(c.number("spooler-frequency", 30));
    int64_t processes = c.number("spooler-processes", 1);
    g_opts.max_tasks = c.number("spooler-max-tasks", 0);
    g_opts.harakiri = int(c.number("spooler-harakiri", 0));
    g_opts.ordered = c.flag("spooler-ordered");
    g_opts.quiet = c.flag("spooler-quiet");
    g_opts.durable = !c.flag("spooler-no-fsync");
    g_opts.chdir_to = c.value_or("spooler-chdir", "");
    if (g_opts.frequency < 1)
        throw ConfigError("--spooler-frequency must be at least 1 (seconds between scans)");
    if (processes < 1 || processes > 64)
        throw ConfigError("--spooler-processes must be 1..64 (processes per --spooler dir)");
    if (g_opts.max_tasks < 0 || g_opts.harakiri < 0)
        throw ConfigError("--spooler-max-tasks and --spooler-harakiri take a number >= 0");
    for (const auto &dir : c.all("spooler")) {
        std::string real = usable_dir(dir, "spooler");
        for (int64_t i = 0; i < processes; ++i) g_opts.dirs.push_back(real);
    }
    for (const auto &dir : c.all("spooler-external"))
        g_opts.external.push_back(usable_dir(dir, "spooler-external"));
    for (const auto *list : {&g_opts.dirs, &g_opts.external})
        for (const auto &dir : *list)
            if (std::find(g_shared_dirs.begin(), g_shared_dirs.end(), dir) == g_shared_dirs.end())
                g_shared_dirs.push_back(dir);
    size_t slots = sizeof(SpoolerShared) + sizeof(SpoolerSlot) * g_opts.dirs.size();
    constexpr size_t align = alignof(SpoolDirShared);
    slots = (slots + align - 1) / align * align;
    size_t size = slots + sizeof(SpoolDirShared) * g_shared_dirs.size();
    void *mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("cannot map the spooler table");
    g_shared = static_cast<SpoolerShared *>(mem);  // zeroed: atomics of 0
    g_slots = reinterpret_cast<SpoolerSlot *>(g_shared + 1);
    g_dir_shared = reinterpret_cast<SpoolDirShared *>(static_cast<char *>(mem) + slots);
    for (size_t i = 0; i < g_shared_dirs.size(); ++i) {
        if (!init_dir_commit(g_dir_shared[i].commit))
            throw std::runtime_error("cannot make the spooler's shared fsync lock");
        init_free_task_files(g_dir_shared[i].free_files);
    }
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    g_hostname = host;
    if (g_opts.dirs.empty()) return;  // only --spooler-external: nothing to run here
    // the master forks, respawns and stops them (extra_processes.hpp); signal target "spooler"
    static uwsgi_process_kind kind{
        sizeof(uwsgi_process_kind), 0, "spooler",
        [](void *, int32_t index) { return run_spooler_process(index - 1); },
        [](void *) { stop_spooler_process(); }, nullptr};
    kind.count = int32_t(g_opts.dirs.size());
    if (register_process_kind(&kind) != UWSGI_OK)
        throw ConfigError("cannot start the spooler processes; see the message above");
}

int spooler_process_count() { return int(g_opts.dirs.size()); }
const std::string &spooler_process_dir(int index) { return g_opts.dirs.at(size_t(index)); }

int run_spooler_process(int index) {
    g_index = index;
    g_slots[index].tasks.store(0);
    g_slots[index].running.store(0);
    g_slots[index].starts.fetch_add(1);
    g_slots[index].pid.store(getpid());
    // as uWSGI: the spooler yields the CPU to the workers
    setpriority(PRIO_PROCESS, 0, PRIO_MAX);
    g_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (g_wake_fd < 0) {
        spdlog::error("spooler {}: eventfd: {}", index, strerror(errno));
        return 1;
    }
    const std::string &dir = g_opts.dirs[size_t(index)];
    spdlog::info("spooler {} on {} (pid {}) started", index, dir, int(getpid()));
    for (const auto &h : g_handlers)
        if (h.init) h.init(h.ctx);
    remove_stale_temporaries(dir);
    start_harakiri_watch();
    while (!g_stop) {
        g_saw_busy = false;
        scan(dir);
        if (g_stop) break;
        if (g_opts.max_tasks > 0 && int64_t(g_tasks) >= g_opts.max_tasks) {
            spdlog::info("{} maximum number of tasks reached ({}) recycling ...", log_prefix(),
                         g_opts.max_tasks);
            break;
        }
        int freq = g_shared->frequency.load();
        if (freq <= 0) freq = g_opts.frequency;
        // a task skipped as locked may be a reused file a writer renamed while another spooler
        // briefly held its old lock: look again soon rather than after --spooler-frequency
        wait_for_tasks(g_saw_busy ? std::min(freq, 1) * 1000 : int64_t(freq) * 1000);
    }
    spdlog::info("{} stopped after {} task(s)", log_prefix(), g_tasks);
    return 0;
}

void stop_spooler_process() {
    g_stop = true;
    uint64_t one = 1;
    if (g_wake_fd >= 0 && write(g_wake_fd, &one, sizeof one) < 0) {
    }
}

int spool_task(const uwsgi_str *keys, const uwsgi_str *values, size_t count, const void *body,
               size_t body_len, char *task, size_t task_size) {
    if (g_opts.dirs.empty() && g_opts.external.empty()) {
        spdlog::error("[uwsgi-spooler] no spooler available: start the server with --spooler DIR");
        return UWSGI_ERROR;
    }
    std::vector<SpoolPair> pairs;
    pairs.reserve(count);
    for (size_t i = 0; i < count; ++i)
        pairs.push_back({{keys[i].ptr, keys[i].len}, {values[i].ptr, values[i].len}});
    std::string bytes;
    if (!encode_task(pairs, {static_cast<const char *>(body), body ? body_len : 0}, bytes)) {
        spdlog::error("[uwsgi-spooler] args buffer is limited to 64k, use the 'body' for bigger "
                      "values");
        return UWSGI_ELIMIT;
    }
    SpoolPlacement where = placement_of(pairs);
    const std::string *base = target_dir(where.spooler);
    if (!base) {
        spdlog::error("[uwsgi-spooler] unable to find spooler \"{}\" (give a --spooler or "
                      "--spooler-external directory)",
                      where.spooler);
        return UWSGI_ERROR;
    }
    std::string why = check_priority(where.priority);
    if (!why.empty()) {
        spdlog::error("[uwsgi-spooler] {}", why);
        return UWSGI_ERROR;
    }
    std::string dir = where.priority.empty() ? *base : *base + "/" + std::string(where.priority);
    std::string name = spool_file_name(g_hostname, getpid(), ++g_counter);
    std::string error;
    SpoolDirShared *shared = shared_of(dir);
    std::string path = write_task_file(dir, name, bytes, where.at, error, g_opts.durable,
                                       shared ? &shared->commit : nullptr,
                                       shared ? &shared->free_files : nullptr);
    if (path.empty()) {
        spdlog::error("[uwsgi-spooler] {}", error);
        return UWSGI_ERROR;
    }
    if (path.size() + 1 > task_size) {
        spdlog::error("[uwsgi-spooler] task {} written, but its name does not fit the caller's "
                      "{} bytes",
                      path, task_size);
        return UWSGI_ELIMIT;
    }
    std::memcpy(task, path.c_str(), path.size() + 1);
    if (!g_opts.quiet)
        spdlog::info("[spooler] written {} bytes to file {}", bytes.size(), path);
    return UWSGI_OK;
}

int register_spooler_handler(uwsgi_spooler_handler handler, void (*init)(void *), void *ctx) {
    if (!handler) return UWSGI_ERROR;
    g_handlers.push_back({handler, init, ctx});
    return UWSGI_OK;
}

int read_spool_task(const char *task, uwsgi_spooler_handler fn, void *ctx) {
    std::string content;
    DecodedTask decoded;
    if (!task || !fn || !read_task_file(task, content) || !decode_task(content, decoded))
        return UWSGI_ERROR;
    std::vector<uwsgi_str> keys, values;
    views_of(decoded, keys, values);
    fn(ctx, task, keys.data(), values.data(), keys.size(), decoded.body.data(),
       decoded.body.size());
    return UWSGI_OK;
}

int32_t spooler_pid_of(int32_t index) {
    if (!g_shared || index < 0 || index >= spooler_process_count()) return 0;
    return g_slots[index].pid.load();
}

const char *spooler_dir_of(int32_t index) {
    if (index < 0 || index >= spooler_process_count()) return nullptr;
    return g_opts.dirs[size_t(index)].c_str();
}

int32_t this_spooler_index() {
    int32_t index = 0;
    const char *kind = current_process_kind(&index);
    return kind && std::strcmp(kind, "spooler") == 0 ? index - 1 : -1;
}

std::vector<SpoolerFacts> spooler_facts() {
    std::vector<SpoolerFacts> out;
    for (int i = 0; g_slots && i < spooler_process_count(); ++i) {
        const SpoolerSlot &slot = g_slots[i];
        uint64_t starts = slot.starts.load();
        out.push_back({g_opts.dirs[size_t(i)], slot.pid.load(), slot.tasks.load(),
                       starts > 0 ? starts - 1 : 0, slot.running.load() != 0});
    }
    return out;
}

void set_spooler_frequency(int32_t secs) {
    if (g_shared) g_shared->frequency.store(secs > 0 ? secs : 0);
}

}  // namespace core
