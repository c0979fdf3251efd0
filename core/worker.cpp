#include "worker.hpp"

#include "app_table.hpp"
#include "control_signals.hpp"
#include "host_table.hpp"
#include "lifecycle.hpp"
#include "log.hpp"
#include "log_rotation.hpp"
#include "log_targets.hpp"
#include "request_log.hpp"
#include "stats_snapshot.hpp"
#include "offload.hpp"
#include "static_files.hpp"
#include "request.hpp"
#include "request_window.hpp"
#include "runtime.hpp"
#include "scoreboard.hpp"
#include "signals.hpp"
#include "tls.hpp"
#include "settings.hpp"
#include "worker_recycling.hpp"

#include <uwsgi/plugin.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace core {
namespace {

// What a request thread keeps for its whole life: the request object it reuses, and its
// places in the shared memory the stats read (looked up once, not per request).
struct RequestThread {
    int core = 0;  // its index among the worker's cores (uWSGI's "core")
    uwsgi_request req;
    RequestWindow *window = nullptr;  // null without request windows
    CoreSlot *counters = nullptr;
};

class Worker {
public:
    Worker(int id, const std::vector<Listener> &listeners) : id_(id), listeners_(listeners) {}
    WorkerExit run();
    bool abandoned() const { return abandoned_; }

private:
    void thread_main(int core);
    void follow_pause();  // the main thread, on SIGTSTP
    void set_listening(bool on);  // the listeners in or out of the epoll set
    void count_app_exception(const uwsgi_request &req, int rc);
    void accept_one(const Listener &l, RequestThread &rt);
    void serve(uwsgi_conn *conn, RequestThread &rt);
    // keep: park or serve on; offloaded: an offload thread owns the connection now
    enum class After { close, keep, offloaded };
    After serve_one(uwsgi_conn *conn, RequestThread &rt);
    After send_pending_body(uwsgi_conn *conn, RequestThread &rt, bool keep);
    bool dispatch(RequestThread &rt);  // false: failed after the response started
    // rearm: the connection comes back from an offload thread; readiness may have come and
    // gone meanwhile (edge-triggered with one thread), so the registration is renewed
    void park(uwsgi_conn *conn, bool rearm = false);
    void take_back(uwsgi_conn *conn, bool keep);
    bool hand_to_offload(uwsgi_conn *conn, bool keep);
    bool unpark(uwsgi_conn *conn);
    void close_conn(uwsgi_conn *conn);
    void sweep_idle();
    void begin_stop(Phase phase);
    WorkerExit abandon(WorkerExit why);
    void recycle();
    void log_request(const RequestThread &rt, int64_t duration_us);

    int id_;
    const std::vector<Listener> &listeners_;
    // With one request thread nobody else can take a connection, so connections stay in the
    // epoll set edge-triggered for their whole life and events come in batches: no epoll_ctl
    // and fewer epoll_wait calls per request. With several threads each readiness is handed to
    // exactly one thread (EPOLLONESHOT) and re-armed when the connection is parked again.
    bool single_thread_ = false;
    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<uint64_t> served_{0};
    std::atomic<int> running_threads_{0};
    std::vector<std::thread> threads_;
    bool abandoned_ = false;  // left with request threads still running (brutal or hurried)
    bool paused_ = false;     // the listeners are out of the epoll set (follow_pause)
    std::mutex park_mutex_;
    uwsgi_conn *parked_ = nullptr;
};

void Worker::begin_stop(Phase phase) {
    // The single process owns its listeners alone: a shutdown stops listening at once (see
    // stop_listening). A supervised worker leaves that to the master: the listeners are shared.
    if (phase == Phase::Shutdown && runtime().master_pid == getpid()) stop_listening(listeners_);
    if (stopping_.exchange(true)) return;
    for (auto &l : listeners_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) spdlog::error("worker {}: cannot wake threads", id_);
}

// --max-requests or --reload-on-rss reached: this thread stops the accepting at once (waiting
// for the main thread to take the signal let a loaded worker accept dozens more), and the main
// thread, woken by SIGUSR2, runs the graceful stop.
void Worker::recycle() {
    begin_stop(Phase::Reload);
    kill(getpid(), SIGUSR2);
}

// Brutal reload or hurried shutdown: the caller ends the process (execv or _exit) at once, with
// request threads still running; they are detached, and this Worker, which they use, is kept.
WorkerExit Worker::abandon(WorkerExit why) {
    spdlog::info("worker {}: not waiting for {} busy request thread(s)", id_,
                 running_threads_.load());
    for (auto &t : threads_) t.detach();
    abandoned_ = true;
    return why;
}

void Worker::park(uwsgi_conn *conn, bool rearm) {
    {
        std::lock_guard<std::mutex> lock(park_mutex_);
        conn->parked = true;
        conn->parked_since_ms = monotonic_ms();
        conn->park_prev = nullptr;
        conn->park_next = parked_;
        if (parked_) parked_->park_prev = conn;
        parked_ = conn;
    }
    if (single_thread_ && conn->in_epoll && !rearm) return;  // still registered, edge-triggered
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | uint32_t(single_thread_ ? EPOLLET : EPOLLONESHOT);
    ev.data.ptr = conn;
    // Update conn before arming it: once armed, another thread may take it, serve it and free it.
    int op = conn->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    conn->in_epoll = true;
    epoll_ctl(epoll_fd_, op, conn->fd, &ev);
}

bool Worker::unpark(uwsgi_conn *conn) {
    std::lock_guard<std::mutex> lock(park_mutex_);
    if (!conn->parked) return false;
    conn->parked = false;
    if (conn->park_prev) conn->park_prev->park_next = conn->park_next;
    else parked_ = conn->park_next;
    if (conn->park_next) conn->park_next->park_prev = conn->park_prev;
    return true;
}

// Idle keep-alive connections past --socket-timeout are shut down, not freed: the shutdown
// wakes epoll, and the thread that takes the event closes the connection, so nothing is freed
// under another thread's feet.
void Worker::sweep_idle() {
    int64_t now = monotonic_ms();
    std::lock_guard<std::mutex> lock(park_mutex_);
    for (uwsgi_conn *c = parked_; c; c = c->park_next)
        if (now - c->parked_since_ms > c->timeout_ms || stopping_) shutdown(c->fd, SHUT_RDWR);
}

void Worker::close_conn(uwsgi_conn *conn) {
    conn->protocol->conn_close(conn->state);
    drop_pending_body(conn);
    tls_detach(*conn);
    close(conn->fd);  // also removes it from the epoll set
    delete conn;
}

// uWSGI's pause: the master sets the flag in our slot, then sends SIGTSTP, which the main
// thread takes here (and at start, for a worker spawned while paused). Paused, the listeners
// leave the epoll set: connections wait in the backlog, no thread wakes or polls for them;
// requests in progress and keep-alive connections finish. Resumed, they come back.
void Worker::follow_pause() {
    const bool want = worker_slot(id_).paused.load() != 0;
    if (want == paused_ || stopping_) return;
    paused_ = want;
    set_listening(!paused_);
    spdlog::info("*** worker {} {} ***", id_, paused_ ? "suspended" : "resumed");
}

void Worker::set_listening(bool on) {
    for (auto &l : listeners_) {
        if (!on) {
            epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | (single_thread_ ? 0u : uint32_t(EPOLLONESHOT));
        ev.data.ptr = const_cast<Listener *>(&l);
        // a request thread that saw the pause flag may have left it registered but disarmed
        if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, l.fd, &ev) != 0 && errno == EEXIST)
            epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, l.fd, &ev);
    }
}

void Worker::accept_one(const Listener &l, RequestThread &rt) {
    // Woken by a listener just as the pause began: leave the connection in the backlog and the
    // listener disarmed (or out of the set) until the main thread resumes it.
    if (worker_slot(id_).paused.load(std::memory_order_relaxed)) {
        if (single_thread_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
        return;
    }
    int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!stopping_ && !single_thread_) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLONESHOT;
        ev.data.ptr = const_cast<Listener *>(&l);
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, l.fd, &ev);
    }
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
            // Out of descriptors: the connection stays in the backlog and the listener stays
            // readable, so retrying at once would spin and flood the log. Say it once a second
            // and pause this thread a little, so closing connections can free descriptors.
            int err = errno;
            static std::atomic<int64_t> last_log_ms{-1000};
            int64_t now = monotonic_ms(), last = last_log_ms.load();
            if (now - last >= 1000 && last_log_ms.compare_exchange_strong(last, now))
                spdlog::error("worker {}: cannot accept on {}: {} (raise ulimit -n)", id_,
                              l.address, strerror(err));
            usleep(100 * 1000);
        }
        return;
    }
    auto *conn = new uwsgi_conn;
    conn->fd = fd;
    conn->timeout_ms = settings().socket_timeout_ms;
    conn->protocol = l.protocol;
    describe_peers(*conn);
    if (l.tls && !tls_attach(*conn, l.tls.get())) {
        close(conn->fd);
        delete conn;
        return;
    }
    conn->state = l.protocol->conn_open(conn);
    if (!conn->state) {
        spdlog::error("worker {}: {} protocol could not set up a connection; closed", id_,
                      l.protocol->name);
        tls_detach(*conn);
        close(conn->fd);
        delete conn;
        return;
    }
    // A client that connected but has not sent anything yet waits in the epoll set, not in
    // this thread: a thread only ever blocks on a request that has started to arrive.
    char probe;
    bool nothing_yet = recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
                       (errno == EAGAIN || errno == EWOULDBLOCK);
    if (nothing_yet) return park(conn);
    serve(conn, rt);
}

// An offload thread sent the body: the connection waits for its next request like any idle
// one, or (keep false, or we are stopping) is shut down, so the thread that takes the epoll
// event closes it, as sweep_idle does: nothing is freed under another thread's feet.
void Worker::take_back(uwsgi_conn *conn, bool keep) {
    if (!keep || stopping_) shutdown(conn->fd, SHUT_RDWR);
    park(conn, true);
}

// The response left its body pending (--offload-threads): the connection goes to an offload
// thread, which gives it back when the body is out. Not with pipelined bytes buffered, which
// epoll cannot see once the connection is parked: the body goes out here and the loop goes on.
bool Worker::hand_to_offload(uwsgi_conn *conn, bool keep) {
    const bool buffered = conn->protocol->has_pending(conn->state) || tls_pending(*conn);
    return !(keep && buffered) && offload_connection(conn, keep && !stopping_);
}

void Worker::serve(uwsgi_conn *conn, RequestThread &rt) {
    for (;;) {
        After after = serve_one(conn, rt);
        if (after == After::offloaded) return;
        if (after == After::close || stopping_) return close_conn(conn);
        // TLS: a record may hold more than the protocol read; epoll cannot see those bytes
        if (!conn->protocol->has_pending(conn->state) && !tls_pending(*conn)) return park(conn);
    }
}

// The body the response left pending (--offload-threads) goes to an offload thread, or out on
// this one; before the log line, which names how it went (uWSGI's " via offload() "), and
// counted per core as uWSGI's offloaded_requests (this thread's own slot: no contention).
Worker::After Worker::send_pending_body(uwsgi_conn *conn, RequestThread &rt, bool keep) {
    if (hand_to_offload(conn, keep)) {
        rt.req.via = uwsgi_request::Via::offload;
        rt.counters->offloaded_requests.fetch_add(1, std::memory_order_relaxed);
        return After::offloaded;  // from here the connection is the offload thread's
    }
    return flush_pending_body(conn) == UWSGI_OK && keep ? After::keep : After::close;
}

bool Worker::dispatch(RequestThread &rt) {
    uwsgi_request &req = rt.req;
    // static files first, for every protocol and plugin, as uWSGI does
    switch (serve_static_file(req)) {
    case StaticResult::served:
        // uWSGI's static_requests: the file's answers (200, 206), not a 304 or a 416
        if (req.status == 200 || req.status == 206)
            rt.counters->static_requests.fetch_add(1, std::memory_order_relaxed);
        return true;
    case StaticResult::failed: return false;
    case StaticResult::not_static: break;
    }
    const uwsgi_plugin *handler = runtime().registry.handler_for(req.modifier1);
    if (!handler) {
        spdlog::error("no plugin handles modifier1 {}; answering 501", req.modifier1);
        uwsgi::respond(host_table(), &req, "501 Not Implemented", "no handler for this request\n");
        return true;
    }
    int rc = handler->request(&req);
    if (rc != UWSGI_OK) worker_slot(id_).exceptions.fetch_add(1, std::memory_order_relaxed);
    count_app_exception(req, rc);
    bool failed_midway = rc != UWSGI_OK && req.started;
    if (rc != UWSGI_OK && !req.started)
        uwsgi::respond(host_table(), &req, "500 Internal Server Error", "Internal Server Error\n");
    if (handler->after_request) handler->after_request(&req);
    return !failed_midway;
}

// uWSGI's per-app exceptions: the app the plugin named (its request was counted then) failed.
void Worker::count_app_exception(const uwsgi_request &req, int rc) {
    if (rc == UWSGI_ERROR && req.app_id >= 0)
        app_counters(id_, req.app_id).exceptions.fetch_add(1, std::memory_order_relaxed);
}

Worker::After Worker::serve_one(uwsgi_conn *conn, RequestThread &rt) {
    uwsgi_request &req = rt.req;
    req.reset(conn, served_.load(std::memory_order_relaxed) + 1);
    int r = conn->protocol->read_request(conn->state, &req);
    CoreSlot &core = *rt.counters;
    if (r < 0) core.read_errors.fetch_add(1, std::memory_order_relaxed);
    if (r <= 0) return After::close;
    // as uWSGI: the app's wsgi.url_scheme is https (a copy: the stats read vars in the arena)
    if (conn->tls) req.add_copy("HTTPS", "on");
    WorkerSlot &slot = worker_slot(id_);
    const int64_t start_us = monotonic_us();
    req.start_ms = start_us / 1000;
    if (rt.window) rt.window->publish(req);
    core.in_request.store(1, std::memory_order_relaxed);
    slot.busy_since_ms.store(req.start_ms, std::memory_order_relaxed);
    bool keep;
    bool handled = dispatch(rt);
    if (req.ws.active()) {
        req.ws.finish(!handled);  // an upgraded connection never serves HTTP again
        keep = false;
    } else if (handled) {
        keep = conn->protocol->finish(conn->state, &req) == 1;
    } else {
        if (conn->protocol->abort) conn->protocol->abort(conn->state, &req);
        core.write_errors.fetch_add(1, std::memory_order_relaxed);
        keep = false;
    }
    // the vars the log line reads are in this thread's arena: the connection may go now
    After after = keep ? After::keep : After::close;
    if (conn->pending_file >= 0) after = send_pending_body(conn, rt, keep);
    slot.busy_since_ms.store(0, std::memory_order_relaxed);
    core.in_request.store(0, std::memory_order_relaxed);
    if (rt.window) rt.window->withdraw();
    core.requests.fetch_add(1, std::memory_order_relaxed);
    // an app's uwsgi.set_user_harakiri() covers its request only
    if (slot.user_harakiri_ms.load(std::memory_order_relaxed))
        slot.user_harakiri_ms.store(0, std::memory_order_relaxed);
    slot.requests.fetch_add(1, std::memory_order_relaxed);
    slot.delta_requests.fetch_add(1, std::memory_order_relaxed);
    slot.tx.fetch_add(req.bytes_sent, std::memory_order_relaxed);
    const int64_t duration_us = monotonic_us() - start_us;
    slot.running_us.fetch_add(uint64_t(duration_us), std::memory_order_relaxed);
    if (request_log_wanted(req, duration_us / 1000)) log_request(rt, duration_us);
    uint64_t n = served_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (settings().max_requests && n == uint64_t(settings().max_requests)) {
        spdlog::info("worker {}: served {} requests (--max-requests), recycling", id_, n);
        recycle();
    } else if (settings().reload_on_rss && reload_on_rss_reached(id_)) {
        recycle();
    }
    return after;
}

void Worker::log_request(const RequestThread &rt, int64_t duration_us) {
    const uwsgi_request &req = rt.req;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    RequestLogFacts facts{id_, rt.core, duration_us,
                          int64_t(now.tv_sec) * 1000000 + now.tv_nsec / 1000 - duration_us};
    if (write_formatted_request_log(req, facts)) return;
    std::string_view method = req.var("REQUEST_METHOD"), uri = req.var("REQUEST_URI");
    if (uri.empty()) uri = req.var("PATH_INFO");
    uint64_t rss = 0, vsz = 0;
    // uWSGI's --memory-report suffix, the same words so log parsers keep matching
    std::string memory;
    if (settings().memory_report && process_memory(getpid(), rss, vsz))
        memory = fmt::format(" {{address space usage: {} bytes/{}MB}} {{rss usage: {} bytes/{}MB}}",
                             vsz, vsz / (1024 * 1024), rss, rss / (1024 * 1024));
    std::string_view shown_method = method.empty() ? "-" : method;
    std::string_view shown_uri = uri.empty() ? "-" : uri;
    // The server's own log line (a logger gets uWSGI's line: write_formatted_request_log).
    spdlog::info("[worker {}] {} {} => {} {} bytes in {} ms (modifier1 {}){}", id_, shown_method,
                 shown_uri, req.status, req.bytes_sent, duration_us / 1000, req.modifier1, memory);
}

void Worker::thread_main(int core) {
    struct Running {
        std::atomic<int> &n;
        ~Running() { n.fetch_sub(1); }
    } running{running_threads_};
    run_thread_init_hooks();
    RequestThread rt;  // its request is reused for every request this thread serves
    rt.core = core;
    rt.window = request_window(id_, core);
    rt.counters = &core_slot(id_, core);
    rt.req.configure(settings().buffer_size, settings().max_vars,
                     rt.window ? rt.window->storage() : uwsgi_request::Storage{});
    constexpr int kBatch = 64;
    epoll_event events[kBatch];
    const int batch = single_thread_ ? kBatch : 1;
    for (;;) {
        int n = epoll_wait(epoll_fd_, events, batch, -1);
        for (int i = 0; i < n; ++i) {
            void *ptr = events[i].data.ptr;
            // Stopping: the request this thread was on is done, so it takes no other. Without
            // this, one thread served the rest of its batch (up to 64 keep-alive requests that
            // arrived meanwhile) before it saw the wake-up, and a shutdown under wrk took
            // seconds. A skipped connection is still parked: run() closes it once we return.
            if (ptr == &wake_fd_ || stopping_.load(std::memory_order_relaxed)) return;
            const Listener *listener = nullptr;
            for (auto &l : listeners_)
                if (ptr == &l) listener = &l;
            if (listener) {
                accept_one(*listener, rt);
            } else if (auto *conn = static_cast<uwsgi_conn *>(ptr); unpark(conn)) {
                serve(conn, rt);
            }
        }
    }
}

WorkerExit Worker::run() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: once written, it wakes every thread
    ev.data.ptr = &wake_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    single_thread_ = settings().threads == 1;
    paused_ = worker_slot(id_).paused.load() != 0;  // spawned while the workers are paused
    if (paused_) spdlog::info("*** worker {} suspended ***", id_);
    else set_listening(true);

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR2, SIGTSTP}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // request threads inherit it; only we wait
    start_offload_threads(
        settings().offload_threads, settings().socket_timeout_ms,
        [](void *self, uwsgi_conn *conn, bool keep) {
            static_cast<Worker *>(self)->take_back(conn, keep);
        },
        this);
    running_threads_ = settings().threads;
    for (int i = 0; i < settings().threads; ++i) threads_.emplace_back([this, i] { thread_main(i); });
    start_worker_signal_thread(id_);
    worker_slot(id_).ready.store(1);

    // The signals stay taken while the request threads finish, so a HUP, TERM or QUIT during
    // the graceful stop is a decision (control_signals.hpp), never a default action.
    WorkerExit why = WorkerExit::Stop;
    Phase phase = Phase::Serving;
    const bool supervised = runtime().master_pid != getpid();
    const timespec tick{1, 0}, short_tick{0, 50 * 1000 * 1000};
    int64_t mercy_deadline_ms = 0;  // the single process's own --reload-mercy, once stopping
    // A stopping worker also waits for the bodies its offload threads are sending (the master
    // kills it past --reload-mercy), so a reload never cuts a download.
    bool said_offloads = false;
    while (phase == Phase::Serving || running_threads_.load() > 0 || offload_in_flight() > 0) {
        if (phase != Phase::Serving && !said_offloads && offload_in_flight() > 0) {
            said_offloads = true;
            spdlog::info("worker {}: waiting for {} offloaded transfer(s)", id_,
                         offload_in_flight());
        }
        int sig = sigtimedwait(&set, nullptr, phase == Phase::Serving ? &tick : &short_tick);
        if (phase != Phase::Serving && !supervised) {
            // A supervised worker is killed by its master past the mercy; the single process
            // has nobody above it, so it keeps the same bound itself.
            if (!mercy_deadline_ms)
                mercy_deadline_ms = monotonic_ms() + int64_t(settings().reload_mercy) * 1000;
            else if (monotonic_ms() >= mercy_deadline_ms &&
                     (running_threads_.load() > 0 || offload_in_flight() > 0)) {
                spdlog::warn("worker {}: request thread(s) or offloaded transfer(s) still busy "
                             "after --reload-mercy {} s", id_, settings().reload_mercy);
                return abandon(why == WorkerExit::Stop ? WorkerExit::HurriedStop
                                                       : WorkerExit::BrutalReload);
            }
        }
        if (sig < 0) {
            sweep_idle();
            check_log_rotation(!supervised);  // a single process rotates its own log
            continue;
        }
        if (sig == SIGTSTP) {  // the master paused or resumed the workers
            follow_pause();
            continue;
        }
        if (sig == SIGUSR2) {  // --max-requests: recycle, unless already stopping
            if (phase != Phase::Serving) continue;
            phase = Phase::Reload;
            why = WorkerExit::Recycle;
            begin_stop(phase);
            sweep_idle();
            continue;
        }
        SignalStep step = next_step(phase, sig, supervised);
        if (phase != Phase::Serving && !step.changed && !step.hurry)
            spdlog::info("worker {}: {} during the {}: {}", id_, strsignal(sig), phase_name(phase),
                         phase == Phase::Shutdown ? "ignored" : "coalesced");
        if (!step.changed && !step.hurry) continue;
        if (!supervised && step.changed)  // the single process says what the master would
            spdlog::info("{} requested ({})", phase_name(step.phase), strsignal(sig));
        phase = step.phase;
        why = phase == Phase::Shutdown       ? WorkerExit::Stop
              : phase == Phase::BrutalReload ? WorkerExit::BrutalReload
              : why == WorkerExit::Recycle   ? WorkerExit::Recycle
                                             : WorkerExit::Reload;
        begin_stop(phase);
        sweep_idle();  // idle keep-alive connections close now
        if (step.hurry) return abandon(why == WorkerExit::Stop ? WorkerExit::HurriedStop : why);
    }
    stop_worker_signal_thread();
    for (auto &t : threads_) t.join();
    // Connections still parked were idle: close them.
    while (parked_) {
        uwsgi_conn *c = parked_;
        parked_ = c->park_next;
        close_conn(c);
    }
    run_shutdown_hooks();
    return why;
}

}  // namespace

WorkerExit run_worker(int worker_id, const std::vector<Listener> &listeners) {
    runtime().worker_id = worker_id;
    worker_slot(worker_id).pid.store(getpid());
    auto *w = new Worker(worker_id, listeners);
    WorkerExit why = w->run();
    if (!w->abandoned()) delete w;  // else its threads still use it until the process ends
    return why;
}

}  // namespace core
