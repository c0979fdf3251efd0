#include "offload.hpp"

#include "clock.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <fcntl.h>
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

struct Transfer {
    int sock = -1, file = -1;
    off_t offset = 0;
    int64_t left = 0;
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
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr;
        epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    }

    bool push(int sock, int file, int64_t offset, int64_t count) {
        Transfer *t;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!free_) return false;
            t = free_;
            free_ = t->next;
        }
        t->sock = fcntl(sock, F_DUPFD_CLOEXEC, 0);
        t->file = fcntl(file, F_DUPFD_CLOEXEC, 0);
        if (t->sock < 0 || t->file < 0) {
            end(t);
            return false;
        }
        t->offset = offset;
        t->left = count;
        t->last_progress_ms = monotonic_ms();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            t->next = incoming_;
            incoming_ = t;
        }
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
            epoll_ctl(epoll_, EPOLL_CTL_ADD, t->sock, &ev);
            active_.push_back(t);
            pump(t);
        }
    }

    // Sends until done or the socket is full (EPOLLOUT, edge-triggered, brings it back).
    void pump(Transfer *t) {
        if (t->sock < 0) return;  // ended already in this batch
        while (t->left > 0) {
            ssize_t n = sendfile(t->sock, t->file, &t->offset, size_t(t->left));
            if (n > 0) {
                t->left -= n;
                t->last_progress_ms = monotonic_ms();
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            break;  // the client went away, or the file shrank
        }
        finish(t);
    }

    void sweep_stalled() {
        int64_t now = monotonic_ms();
        for (size_t i = 0; i < active_.size(); ++i) {
            Transfer *t = active_[i];
            if (now - t->last_progress_ms > timeout_ms_) {
                spdlog::warn("offload: client made no progress for {} ms; transfer dropped",
                             timeout_ms_);
                finish(t);
                --i;
            }
        }
    }

    void finish(Transfer *t) {
        for (size_t i = 0; i < active_.size(); ++i)
            if (active_[i] == t) {
                active_[i] = active_.back();
                active_.pop_back();
                break;
            }
        end(t);
    }

    void end(Transfer *t) {
        if (t->sock >= 0) close(t->sock);  // also leaves the epoll set
        if (t->file >= 0) close(t->file);
        t->sock = t->file = -1;
        std::lock_guard<std::mutex> lock(mutex_);
        t->next = free_;
        free_ = t;
    }

    std::vector<Transfer> pool_;
    std::vector<Transfer *> active_;  // reserved below: never grows past the pool
    int timeout_ms_;
    int epoll_ = -1, wake_ = -1;
    std::mutex mutex_;
    Transfer *free_ = nullptr, *incoming_ = nullptr;

public:
    void reserve() { active_.reserve(kSlots); }
};

std::vector<std::unique_ptr<Offloader>> g_offloaders;
std::atomic<size_t> g_next{0};

}  // namespace

void start_offload_threads(int threads, int timeout_ms) {
    for (int i = 0; i < threads; ++i) {
        g_offloaders.push_back(std::make_unique<Offloader>(timeout_ms));
        Offloader *o = g_offloaders.back().get();
        o->reserve();
        std::thread([o] { o->run(); }).detach();
    }
    if (threads > 0) spdlog::debug("offload: {} thread(s) started", threads);
}

bool offload_available() { return !g_offloaders.empty(); }

void offload_next_sendfile(uwsgi_conn *conn) { conn->offload_sendfile = true; }

bool offload_sendfile(int socket_fd, int file_fd, int64_t offset, int64_t count) {
    if (g_offloaders.empty()) return false;
    size_t i = g_next.fetch_add(1, std::memory_order_relaxed) % g_offloaders.size();
    return g_offloaders[i]->push(socket_fd, file_fd, offset, count);
}

}  // namespace core
