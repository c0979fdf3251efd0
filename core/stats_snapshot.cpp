#include "stats_snapshot.hpp"

#include "app_table.hpp"
#include "clock.hpp"
#include "request_window.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "settings.hpp"
#include "user_locks.hpp"

#include <uwsgi/cache.h>

#include <climits>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace core {

bool process_memory(pid_t pid, uint64_t &rss, uint64_t &vsz) {
    // open/read into the stack, not stdio: --reload-on-rss and --memory-report read this after
    // every request, and the request path allocates nothing
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", int(pid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    char *end = nullptr;
    unsigned long long size = strtoull(buf, &end, 10);
    if (end == buf) return false;
    char *resident_at = end;
    unsigned long long resident = strtoull(resident_at, &end, 10);
    if (end == resident_at) return false;
    uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
    vsz = size * page;
    rss = resident * page;
    return true;
}

// Connections completed by the kernel and not yet accepted: for a listening TCP socket Linux
// reports the accept queue's length in tcpi_unacked (what uWSGI reads too). UNIX listeners have
// no such figure and count 0.
static uint64_t accept_queue(const Listener &l) {
    if (!l.unix_path.empty()) return 0;
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(l.fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
    return info.tcpi_unacked;
}

uint64_t listen_queue(const std::vector<Listener> &listeners) {
    uint64_t n = 0;
    for (auto &l : listeners) n += accept_queue(l);
    return n;
}

WorkerStats read_worker_counters(int id) {
    const WorkerSlot &s = worker_slot(id);
    WorkerStats w;
    w.id = id;
    w.pid = s.pid.load();
    w.accepting = s.accepting.load();
    w.busy = s.busy_since_ms.load() != 0;
    w.cheaped = s.cheaped.load() != 0;
    w.paused = s.paused.load() != 0;
    w.running_signal = s.running_signal.load();
    w.requests = s.requests.load();
    w.delta_requests = s.delta_requests.load();
    w.exceptions = s.exceptions.load();
    w.harakiri_count = s.harakiri_count.load();
    w.signals = s.signals.load();
    w.running_time = s.running_us.load();
    w.last_spawn = s.last_spawn.load();
    w.respawn_count = s.respawn_count.load();
    w.tx = s.tx.load();
    w.avg_rt = average_response_us(s);
    return w;
}

std::string worker_status(const WorkerStats &w) {
    if (w.cheaped) return "cheap";
    if (w.paused && !w.busy) return "pause";
    if (w.running_signal >= 0) return "sig" + std::to_string(w.running_signal);
    return w.busy ? "busy" : "idle";
}

// The request a core serves now, read from its request window; the start turned from the
// monotonic clock the worker stamps into unix seconds.
static void read_request_in_flight(int worker_id, int core, CoreStats &out) {
    const RequestWindow *window = request_window(worker_id, core);
    RequestWindow::InFlight req;
    if (!window || !window->read(req)) return;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    const int64_t now_ms = int64_t(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
    out.in_flight = true;
    out.vars = std::move(req.vars);
    out.request_start = (now_ms - (monotonic_ms() - req.start_ms)) / 1000;
}

static WorkerStats worker_stats(int id) {
    WorkerStats w = read_worker_counters(id);
    // uWSGI fills rss/vsz only with --memory-report; they are always true here.
    if (w.pid > 0 && !process_memory(w.pid, w.rss, w.vsz)) w.pid = 0;
    for (int c = 0; c < cores_per_worker(); ++c) {
        const CoreSlot &cs = core_slot(id, c);
        CoreStats core;
        core.id = c;
        core.requests = cs.requests.load();
        core.read_errors = cs.read_errors.load();
        core.write_errors = cs.write_errors.load();
        core.static_requests = cs.static_requests.load();
        core.offloaded_requests = cs.offloaded_requests.load();
        core.in_request = cs.in_request.load();
        read_request_in_flight(id, c, core);
        w.cores.push_back(std::move(core));
    }
    for (int a = 0; a < app_count(); ++a) {
        const AppInfo &info = app_info(a);
        const AppCounters &c = app_counters(id, a);
        w.apps.push_back({a, info.modifier1, info.mountpoint, info.chdir, info.startup_time,
                          c.requests.load(), c.exceptions.load()});
    }
    return w;
}

// The caches through the cache plugin's extension: the same shared memory every worker uses.
std::vector<CacheStats> read_caches() {
    std::vector<CacheStats> out;
    auto *api = static_cast<const uwsgi_cache_api *>(
        runtime().registry.extension(UWSGI_CACHE_EXTENSION));
    if (!api) return out;
    for (int32_t id = 0;; ++id) {
        uwsgi_cache_info info{};
        info.struct_size = sizeof info;
        if (api->info(id, &info) != UWSGI_OK) break;
        out.push_back({info.name ? info.name : "", info.hashsize, info.keysize, info.max_items,
                       info.blocksize, info.items, info.hits, info.misses, info.full});
    }
    return out;
}

StatsSnapshot take_stats_snapshot(const std::vector<Listener> &listeners) {
    StatsSnapshot s;
    s.version = UWSGI_VERSION;
    s.pid = getpid();
    s.uid = getuid();
    s.gid = getgid();
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) s.cwd = cwd;
    for (auto &l : listeners) {
        SocketStats so{l.address, l.protocol ? l.protocol->name : "uwsgi", accept_queue(l),
                       uint64_t(settings().listen_backlog)};
        s.listen_queue += so.queue;
        s.sockets.push_back(so);
    }
    for (int i = 0; i < user_lock_count(); ++i)
        s.locks.push_back({"user " + std::to_string(i), user_lock_holder(uint32_t(i))});
    s.caches = read_caches();
    for (int id = 1; id <= scoreboard_size(); ++id) {
        s.workers.push_back(worker_stats(id));
        s.load += s.workers.back().busy;  // workers busy on a request right now
    }
    s.spoolers = spooler_facts();
    return s;
}

}  // namespace core
