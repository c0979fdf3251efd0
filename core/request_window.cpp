#include "request_window.hpp"

#include "shared_memory.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace core {
namespace {

RequestWindow *g_windows = nullptr;
int g_workers = 0, g_threads = 0;

constexpr size_t round_up(size_t n) { return (n + 63) / 64 * 64; }

}  // namespace

void create_request_windows(int workers, int threads, size_t buffer_size, size_t max_vars) {
    const size_t count = size_t(workers + 1) * size_t(threads);
    const size_t vars_size = round_up(max_vars * sizeof(uwsgi_request::Var));
    const size_t arena_size = uwsgi_request::arena_size_for(buffer_size);
    const size_t per_core = vars_size + round_up(arena_size);
    const size_t headers = round_up(sizeof(RequestWindow) * count);
    // Zero-filled, untouched pages: only what requests write gets memory.
    char *mem = static_cast<char *>(shared_bytes(headers + per_core * count, "request windows"));
    g_windows = reinterpret_cast<RequestWindow *>(mem);
    for (size_t i = 0; i < count; ++i) {
        char *region = mem + headers + per_core * i;
        new (&g_windows[i]) RequestWindow(reinterpret_cast<uwsgi_request::Var *>(region), max_vars,
                                          region + vars_size, arena_size);
    }
    g_workers = workers;
    g_threads = threads;
}

RequestWindow *request_window(int worker_id, int core) {
    if (!g_windows || worker_id < 0 || worker_id > g_workers || core < 0 || core >= g_threads)
        return nullptr;
    return &g_windows[size_t(worker_id) * size_t(g_threads) + size_t(core)];
}

bool RequestWindow::in_arena(std::string_view s) const {
    const uintptr_t begin = uintptr_t(arena_), at = uintptr_t(s.data());
    return at >= begin && s.size() <= arena_size_ && at - begin <= arena_size_ - s.size();
}

// Races with the worker by design: whatever was copied while the sequence moved is dropped,
// and a view is followed only inside this window's arena, so a torn one never leaves it.
bool RequestWindow::read(InFlight &out) const {
    std::vector<uwsgi_request::Var> copy;
    for (int attempt = 0; attempt < 3; ++attempt) {
        const uint64_t seq = seq_.load(std::memory_order_acquire);
        if (!(seq & 1)) return false;
        size_t n = std::min(var_count_.load(std::memory_order_relaxed), max_vars_);
        const int64_t start_ms = start_ms_.load(std::memory_order_relaxed);
        copy.resize(n);
        std::memcpy(static_cast<void *>(copy.data()), vars_, n * sizeof(uwsgi_request::Var));
        out.vars.clear();
        for (auto &v : copy) {
            if (!in_arena(v.key) || !in_arena(v.value)) continue;
            std::string kv(v.key);
            kv += '=';
            kv.append(v.value);
            out.vars.push_back(std::move(kv));
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq_.load(std::memory_order_relaxed) == seq) {
            out.start_ms = start_ms;
            return true;
        }
    }
    return false;
}

}  // namespace core
