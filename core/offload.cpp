#include "offload.hpp"

#include "clock.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

OffloadDone g_done = nullptr;
void *g_done_ctx = nullptr;
std::atomic<int> g_in_flight{0};

struct Transfer {
    uwsgi_conn *conn = nullptr;  // owned by the offload thread until it is given back
    bool keep = false;
    int64_t last_progress_ms = 0;
    Transfer *next = nullptr;  // free list or incoming queue
};

// One offload thread: transfers live in a fixed pool (no allocation per request); request
// threads push onto `incoming` under the mutex and wake the thread with an eventfd.
class Offloader {
public:
    explicit Offloader(int timeout_ms) : pool_(kSlots), timeout_ms_(timeout_ms) {
        for (auto &t : pool_) {
            t.next = free_;
            free_ = &t;
        }
        active_.reserve(kSlots);
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr;
        epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    }

    bool push(uwsgi_conn *conn, bool keep) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!free_) return false;
        Transfer *t = free_;
        free_ = t->next;
        t->conn = conn;
        t->keep = keep;
        t->last_progress_ms = monotonic_ms();
        t->next = incoming_;
        incoming_ = t;
        g_in_flight.fetch_add(1);
        uint64_t one = 1;
        if (write(wake_, &one, sizeof one) < 0) spdlog::error("offload: cannot wake its thread");
        return true;
    }

    void run() {
        epoll_event events[64];
        for (;;) {
            int n = epoll_wait(epoll_, events, 64, 1000);
            for (int i = 0; i < n; ++i) {
                auto *t = static_cast<Transfer *>(events[i].data.ptr);
                if (!t) {
                    take_incoming();
                    continue;
                }
                pump(t);
            }
            sweep_stalled();
        }
    }

private:
    static constexpr size_t kSlots = 1024;

    void take_incoming() {
        uint64_t v;
        while (read(wake_, &v, sizeof v) > 0) {
        }
        Transfer *list;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            list = incoming_;
            incoming_ = nullptr;
        }
        while (list) {
            Transfer *t = list;
            list = t->next;
            t->next = nullptr;
            epoll_event ev{};
            ev.events = EPOLLOUT | EPOLLET;
            ev.data.ptr = t;
            epoll_ctl(epoll_, EPOLL_CTL_ADD, t->conn->fd, &ev);
            active_.push_back(t);
            pump(t);
        }
    }

    // Sends until done or the socket is full (EPOLLOUT, edge-triggered, brings it back).
    void pump(Transfer *t) {
        uwsgi_conn *c = t->conn;
        if (!c) return;  // given back already in this batch
        bool sent = true;
        while (c->pending_count > 0) {
            off_t offset = c->pending_offset;
            ssize_t n = sendfile(c->fd, c->pending_file, &offset, size_t(c->pending_count));
            if (n > 0) {
                c->pending_offset = offset;
                c->pending_count -= n;
                t->last_progress_ms = monotonic_ms();
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            sent = false;  // the client went away, or the file shrank
            break;
        }
        give_back(t, sent);
    }

    void sweep_stalled() {
        int64_t now = monotonic_ms();
        for (size_t i = 0; i < active_.size(); ++i) {
            Transfer *t = active_[i];
            if (now - t->last_progress_ms > timeout_ms_) {
                spdlog::warn("offload: client made no progress for {} ms; transfer dropped",
                             timeout_ms_);
                give_back(t, false);
                --i;
            }
        }
    }

    // The connection leaves this thread's epoll set and goes back to its worker; a cut body
    // closes it (the client cannot tell where the next response would start).
    void give_back(Transfer *t, bool sent) {
        for (size_t i = 0; i < active_.size(); ++i)
            if (active_[i] == t) {
                active_[i] = active_.back();
                active_.pop_back();
                break;
            }
        uwsgi_conn *c = t->conn;
        bool keep = t->keep && sent;
        t->conn = nullptr;
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
        drop_pending_body(c);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            t->next = free_;
            free_ = t;
        }
        g_done(g_done_ctx, c, keep);
        g_in_flight.fetch_sub(1);
    }

    std::vector<Transfer> pool_;
    std::vector<Transfer *> active_;  // reserved: never grows past the pool
    int timeout_ms_;
    int epoll_ = -1, wake_ = -1;
    std::mutex mutex_;
    Transfer *free_ = nullptr, *incoming_ = nullptr;
};

std::vector<std::unique_ptr<Offloader>> g_offloaders;
std::atomic<size_t> g_next{0};

}  // namespace

void start_offload_threads(int threads, int timeout_ms, OffloadDone done, void *ctx) {
    g_done = done;
    g_done_ctx = ctx;
    for (int i = 0; i < threads; ++i) {
        g_offloaders.push_back(std::make_unique<Offloader>(timeout_ms));
        Offloader *o = g_offloaders.back().get();
        std::thread([o] { o->run(); }).detach();
    }
    if (threads > 0) spdlog::debug("offload: {} thread(s) started", threads);
}

bool offload_available() { return !g_offloaders.empty(); }

bool offload_connection(uwsgi_conn *conn, bool keep) {
    if (g_offloaders.empty()) return false;
    size_t i = g_next.fetch_add(1, std::memory_order_relaxed) % g_offloaders.size();
    return g_offloaders[i]->push(conn, keep);
}

int offload_in_flight() { return g_in_flight.load(); }

}  // namespace core
