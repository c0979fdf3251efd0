#include "mules.hpp"

#include "clock.hpp"
#include "extra_processes.hpp"
#include "runtime.hpp"
#include "signals.hpp"

#include <uwsgi/plugin.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <mutex>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

// A message queue: a SOCK_SEQPACKET socketpair made before fork (as uWSGI's), so every process
// can write [0] and the mules read [1]; one packet is one message, the queue bounded by the
// buffers' bytes (a datagram socketpair would hold only net.unix.max_dgram_qlen messages).
struct Queue {
    int fds[2] = {-1, -1};
};

struct Farm {
    std::string name;
    std::vector<int> mules;  // ids
    Queue queue;
};

std::vector<std::string> g_specs;  // per mule id - 1: its --mule value ("" signal-only)
std::vector<Queue> g_queues;       // per mule id - 1
Queue g_shared_queue;              // read by the first free mule
std::vector<Farm> g_farms;
size_t g_msg_size = 65536;         // --mule-msg-size: the largest message
size_t g_recv_size = 65536;        // --mule-msg-recv-size: a signal-only mule's buffer
int g_harakiri = 0;                // --mule-harakiri: seconds a signal handler may run
int g_reload_mercy = 60;           // --mule-reload-mercy

// In a mule: the signal its signal thread runs now, since when (0: none), for --mule-harakiri.
std::atomic<int64_t> g_signal_started_ms{0};
std::atomic<int> g_running_signal{-1};
std::once_flag g_harakiri_watch;
// In a mule: signals handled (its signal thread) and those a mule_get_msg already returned for
std::atomic<uint64_t> g_signals_handled{0};
std::atomic<uint64_t> g_signals_seen{0};

// The bytes a queue's socket buffer is asked for. Every queued message is charged its kernel
// buffer (a 4 KiB message about 8.5 KiB), so a buffer of --mule-msg-size bytes (what uWSGI sets
// when the option is given; without it uWSGI keeps the kernel's 208 KiB) held 15 messages of
// 4 KiB and senders met a full queue 1.5 times as often as on uWSGI (measured with ss -xm:
// tb131072 here, tb212992 there). Room for at least 4 of the largest messages and never below
// 256 KiB (the kernel doubles it, net.core.wmem_max caps it); pages are taken only while
// messages wait.
size_t queue_bytes() { return std::max<size_t>(4 * g_msg_size, 256 * 1024); }

void make_queue(Queue &q) {
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, q.fds) != 0)
        throw std::runtime_error(std::string("cannot create a mule message queue: ") +
                                 strerror(errno));
    int size = int(std::min<size_t>(queue_bytes(), INT32_MAX / 2));
    for (int fd : q.fds) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
}

int my_mule_id() {
    const Runtime &rt = runtime();
    return rt.process_kind == "mule" ? rt.process_index : 0;
}

bool farm_has(const Farm &f, int id) {
    for (int m : f.mules)
        if (m == id) return true;
    return false;
}

// The queues mule `id` reads: its own and the shared one, then its farms' when `farms`, or
// only its farms' when `farms_only`.
std::vector<pollfd> queues_of(int id, bool farms, bool farms_only) {
    std::vector<pollfd> fds;
    if (!farms_only) {
        fds.push_back({g_queues[size_t(id - 1)].fds[1], POLLIN, 0});
        fds.push_back({g_shared_queue.fds[1], POLLIN, 0});
    }
    if (farms || farms_only)
        for (auto &f : g_farms)
            if (farm_has(f, id)) fds.push_back({f.queue.fds[1], POLLIN, 0});
    return fds;
}

// The next message of any of `fds`: tried at once (a busy queue costs no poll), else waited
// for. A buffer smaller than --mule-msg-size has the message's size read first, so a message
// over it stays queued (uWSGI cuts it); a buffer that fits every message takes it in one recv.
// With `signals_fd` >= 0 (the first of `fds`), a handled signal ends the wait: UWSGI_EPEER.
int64_t receive(std::vector<pollfd> &fds, void *buf, size_t len, int timeout_ms,
                int signals_fd = -1) {
    const bool may_not_fit = len < g_msg_size;
    for (;;) {
        // a counter first: a busy queue costs no syscall for the signals check
        uint64_t seen = g_signals_seen.load();
        if (signals_fd >= 0 && g_signals_handled.load() > seen &&
            g_signals_seen.compare_exchange_strong(seen, seen + 1)) {
            uint64_t one = 0;
            if (read(signals_fd, &one, sizeof one) < 0) {  // the semaphore's matching count
            }
            return UWSGI_EPEER;
        }
        for (auto &p : fds) {
            if (p.fd == signals_fd) continue;
            if (may_not_fit) {
                ssize_t size = recv(p.fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
                if (size < 0) continue;  // empty, or another mule took it
                if (size_t(size) > len) {
                    spdlog::error("mule {}: a message of {} bytes is over the buffer of {} "
                                  "bytes; it stays queued (pass a larger buffer_size)",
                                  my_mule_id(), size, len);
                    return UWSGI_ELIMIT;
                }
            }
            ssize_t got = recv(p.fd, buf, len, MSG_DONTWAIT);
            if (got >= 0) return got;
        }
        int n = poll(fds.data(), fds.size(), timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return UWSGI_ERROR;
        if (n == 0) return UWSGI_EPEER;  // timed out
    }
}

// A mule's count of the signals its signal thread handled, as an eventfd mule_get_msg can poll
// (one read per signal: a semaphore). Made in the mule on first use, never in the master.
int handled_signals_fd() {
    static int fd = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    return fd;
}

// --mule-harakiri: a signal handler running longer than SECS kills its mule (the master
// respawns it), as uWSGI's master does; a thread of the mule watches, as for the spooler.
void watch_mule_harakiri() {
    std::thread([] {
        for (;;) {
            usleep(200 * 1000);
            int64_t since = g_signal_started_ms.load();
            if (!since || monotonic_ms() - since <= int64_t(g_harakiri) * 1000) continue;
            spdlog::error("*** HARAKIRI ON MULE {} HANDLING SIGNAL {} (pid: {}) *** (it ran "
                          "longer than --mule-harakiri {} s)",
                          my_mule_id(), g_running_signal.load(), int(getpid()), g_harakiri);
            kill(getpid(), SIGKILL);
        }
    }).detach();
}

void before_signal(uint8_t sig) {
    if (my_mule_id() == 0 || g_harakiri <= 0) return;
    std::call_once(g_harakiri_watch, watch_mule_harakiri);
    g_running_signal.store(sig);
    g_signal_started_ms.store(monotonic_ms());
}

void after_signal(uint8_t) {
    if (my_mule_id() == 0) return;
    g_signal_started_ms.store(0);
    g_signals_handled.fetch_add(1);
    uint64_t one = 1;
    if (write(handled_signals_fd(), &one, sizeof one) < 0) {
    }
}

// A plugin built for ABI 1.0 has no mule hooks: its descriptor ends before them.
bool has_mule_hooks(const uwsgi_plugin *d) {
    return d->struct_size >= offsetof(uwsgi_plugin, mule_msg) + sizeof(void *);
}

// What a language plugin may do with a mule: run its program, or take its messages.
bool run_program(const std::string &spec) {
    for (auto *p : runtime().registry.active())
        if (has_mule_hooks(p->desc) && p->desc->mule && p->desc->mule(spec.c_str()) == 1)
            return true;
    return false;
}

void dispatch(int id, const char *msg, size_t len) {
    for (auto *p : runtime().registry.active())
        if (has_mule_hooks(p->desc) && p->desc->mule_msg && p->desc->mule_msg(msg, len) == 1)
            return;
    spdlog::info("mule {} received a {} bytes message (no plugin takes mule messages)", id, len);
}

int run_mule(void *, int32_t id) {
    const std::string &spec = g_specs[size_t(id - 1)];
    if (!spec.empty() && run_program(spec)) {
        spdlog::info("mule {}: {} returned; the master starts it again", id, spec);
        return 1;
    }
    // signal-only: its signal thread runs the handlers; messages go to the plugins' mule_msg
    // never smaller than the largest message mule_msg lets through, so none is stuck queued
    std::vector<char> buf(std::max(g_recv_size, g_msg_size));
    std::vector<pollfd> fds = queues_of(id, true, false);
    for (;;) {
        int64_t n = receive(fds, buf.data(), buf.size(), -1);
        if (n >= 0) dispatch(id, buf.data(), size_t(n));
    }
}

size_t size_option(const Config &c, const char *name) {
    const std::string *v = c.get(name);
    if (!v) return 65536;
    size_t n = 0;
    try {
        n = std::stoul(*v);
    } catch (const std::exception &) {
    }
    if (n < 1 || n > 64 * 1024 * 1024)
        throw ConfigError("--" + std::string(name) + " " + *v + ": give a size in bytes, 1.." +
                          std::to_string(64 * 1024 * 1024));
    return n;
}

void parse_farm(const std::string &spec) {
    size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0)
        throw ConfigError("--farm " + spec + ": give NAME:MULE[,MULE...] (mule ids 1.." +
                          std::to_string(g_specs.size()) + ")");
    Farm f{spec.substr(0, colon), {}, {}};
    size_t at = colon + 1;
    while (at <= spec.size()) {
        size_t comma = spec.find(',', at);
        std::string id = spec.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        int n = 0;
        if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos && id.size() < 6)
            n = std::stoi(id);
        if (n < 1 || n > int(g_specs.size()))
            throw ConfigError("--farm " + spec + ": no mule " + id + " (mules are 1.." +
                              std::to_string(g_specs.size()) + "; add them with --mule/--mules)");
        f.mules.push_back(n);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    for (auto &other : g_farms)
        if (other.name == f.name) throw ConfigError("--farm " + spec + ": farm " + f.name + " is given twice");
    g_farms.push_back(std::move(f));
}

}  // namespace

void register_mules(const Config &c) {
    // mule ids in option order, each --mules N adding N (as uWSGI numbers them)
    for (auto &[key, value] : c.entries()) {
        // a bare --mule reaches here as the core's flag value "true": signal-only (uWSGI's
        // NULL patch), so mule_file() answers None for it
        if (key == "mule") g_specs.push_back(value == "true" ? std::string() : value);
        if (key != "mules") continue;
        int count = -1;
        if (!value.empty() && value.size() < 5 &&
            value.find_first_not_of("0123456789") == std::string::npos)
            count = std::stoi(value);
        if (count < 0 || count > 1000)
            throw ConfigError("--mules " + value + ": give a number of mules, 0..1000");
        g_specs.insert(g_specs.end(), size_t(count), std::string());
    }
    for (auto &spec : c.all("farm")) parse_farm(spec);
    if (g_specs.empty()) return;
    g_msg_size = size_option(c, "mule-msg-size");
    g_harakiri = int(c.number("mule-harakiri", 0));
    g_reload_mercy = int(c.number("mule-reload-mercy", 60));
    if (g_harakiri < 0 || g_reload_mercy < 0)
        throw ConfigError("--mule-harakiri and --mule-reload-mercy take seconds >= 0 (0: off)");
    observe_signal_handlers({before_signal, after_signal});
    g_recv_size = size_option(c, "mule-msg-recv-size");
    g_queues.resize(g_specs.size());
    for (auto &q : g_queues) make_queue(q);
    make_queue(g_shared_queue);
    for (auto &f : g_farms) {
        make_queue(f.queue);
        std::string ids;
        for (int m : f.mules) ids += (ids.empty() ? "" : ",") + std::to_string(m);
        spdlog::info("farm {}: mules {}", f.name, ids);
    }
    static uwsgi_process_kind kind{sizeof(uwsgi_process_kind), 0, "mule", run_mule, nullptr,
                                   nullptr};
    kind.count = int32_t(g_specs.size());
    if (register_process_kind(&kind) != UWSGI_OK)
        throw ConfigError("cannot start the mules; see the message above");
}

int mule_count() { return int(g_specs.size()); }
int mule_reload_mercy() { return g_reload_mercy; }

// Where a message goes, for the log: only on an error path (nothing built per message).
static std::string destination(int32_t mule_id, const char *farm) {
    if (farm) return std::string("farm ") + farm;
    return mule_id == 0 ? "the mules" : "mule " + std::to_string(mule_id);
}

int mule_msg(const void *msg, size_t len, int32_t mule_id, const char *farm) {
    int fd = -1;
    if (farm) {
        for (auto &f : g_farms)
            if (f.name == farm) fd = f.queue.fds[0];
        if (fd < 0) {
            spdlog::error("mule_msg: no farm {} (add it with --farm NAME:MULE[,MULE...])", farm);
            return UWSGI_ERROR;
        }
    } else if (mule_id < 0 || mule_id > mule_count() || g_specs.empty()) {
        spdlog::error("mule_msg: no mule {} (this server has {} mule(s))", mule_id, mule_count());
        return UWSGI_ERROR;
    } else {
        fd = mule_id == 0 ? g_shared_queue.fds[0] : g_queues[size_t(mule_id - 1)].fds[0];
    }
    if (len > g_msg_size) {
        spdlog::error("mule_msg: a message of {} bytes to {} is over --mule-msg-size {}", len,
                      destination(mule_id, farm), g_msg_size);
        return UWSGI_ELIMIT;
    }
    if (send(fd, msg, len, 0) == ssize_t(len)) return UWSGI_OK;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EMSGSIZE || errno == ENOBUFS) {
        spdlog::error("mule_msg: the queue of {} is full (a buffer of {} bytes: 4 times "
                      "--mule-msg-size, at least 256 KiB); the message of {} bytes is dropped",
                      destination(mule_id, farm), queue_bytes(), len);
        return UWSGI_ELIMIT;
    }
    spdlog::error("mule_msg to {}: {}", destination(mule_id, farm), strerror(errno));
    return UWSGI_ERROR;
}

int64_t mule_get_msg(void *buf, size_t len, int32_t flags, int32_t timeout_ms) {
    int id = my_mule_id();
    if (id == 0) {
        spdlog::error("mule_get_msg: only a mule receives mule messages");
        return UWSGI_ERROR;
    }
    // a mule's queues never change: each set is built once per thread, not per message
    static thread_local std::vector<pollfd> sets[8];
    static thread_local bool built[8] = {};
    bool farms = flags & UWSGI_MULE_FARMS, farms_only = flags & UWSGI_MULE_FARMS_ONLY;
    int signals_fd = flags & UWSGI_MULE_SIGNALS ? handled_signals_fd() : -1;
    size_t which = size_t(farms) | size_t(farms_only) << 1 | size_t(signals_fd >= 0) << 2;
    std::vector<pollfd> &fds = sets[which];
    if (!built[which]) {
        fds = queues_of(id, farms, farms_only);
        if (!fds.empty() && signals_fd >= 0) fds.insert(fds.begin(), {signals_fd, POLLIN, 0});
        built[which] = true;
    }
    if (fds.empty()) {
        spdlog::error("mule {} belongs to no farm: farm_get_msg would wait for ever", id);
        return UWSGI_ERROR;
    }
    return receive(fds, buf, len, timeout_ms < 0 ? -1 : timeout_ms, signals_fd);
}

const char *mule_file(int32_t mule_id) {
    if (mule_id < 1 || mule_id > mule_count()) return nullptr;
    const std::string &spec = g_specs[size_t(mule_id - 1)];
    return spec.empty() ? nullptr : spec.c_str();
}

int in_farm(const char *farm) {
    int id = my_mule_id();
    for (auto &f : g_farms)
        if ((!farm || f.name == farm) && farm_has(f, id)) return 1;
    return 0;
}

}  // namespace core
