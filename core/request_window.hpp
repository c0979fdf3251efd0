// Each request thread's request window: the memory its request's vars and arena live in, in
// one shared mapping made before fork (so at the same address in the master and every worker).
// The master's stats server lists the vars and start of each request in flight (uWSGI's
// cores[].vars and req_info) by reading it, and the worker pays two stores per request: no
// copy, no allocation, no answer to give. A seqlock: the worker publishes a request (odd
// sequence) once its vars are parsed and withdraws it (even) when it ends, before the next
// request overwrites them; a reader keeps its copy only if the sequence did not move meanwhile.
#pragma once

#include "request.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace core {

class alignas(64) RequestWindow {  // a cache line each: threads write their own
public:
    RequestWindow(uwsgi_request::Var *vars, size_t max_vars, char *arena, size_t arena_size)
        : vars_(vars), max_vars_(max_vars), arena_(arena), arena_size_(arena_size) {}

    uwsgi_request::Storage storage() const { return {vars_, arena_}; }

    // The worker's request thread: REQ's vars are complete and stay put until withdraw().
    void publish(const uwsgi_request &req) {
        var_count_.store(req.vars.size(), std::memory_order_relaxed);
        start_ms_.store(req.start_ms, std::memory_order_relaxed);
        seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    void withdraw() {
        seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        // a reader that sees the next request's bytes sees this store too
        std::atomic_thread_fence(std::memory_order_release);
    }

    struct InFlight {
        std::vector<std::string> vars;  // "KEY=VALUE", uWSGI's form
        int64_t start_ms = 0;           // monotonic_ms() when it started
    };
    // Any process: the request in flight, if one is and a consistent copy could be taken.
    bool read(InFlight &out) const;

private:
    bool in_arena(std::string_view s) const;

    std::atomic<uint64_t> seq_{0};  // odd: a request in flight, its vars below
    std::atomic<size_t> var_count_{0};
    std::atomic<int64_t> start_ms_{0};
    uwsgi_request::Var *const vars_;
    const size_t max_vars_;
    char *const arena_;
    const size_t arena_size_;
};

// One window per request thread of every worker (ids 1..workers; 0 is a spare for others).
void create_request_windows(int workers, int threads, size_t buffer_size, size_t max_vars);
RequestWindow *request_window(int worker_id, int core);  // null before create_request_windows

}  // namespace core
