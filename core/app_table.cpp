#include "app_table.hpp"

#include "shared_memory.hpp"

#include <cstring>

namespace core {
namespace {

struct SharedApps {
    std::atomic<int32_t> registering{0};  // --lazy-apps workers may register at the same time
    std::atomic<int32_t> count{0};
    AppInfo apps[kMaxApps];
};

SharedApps *g_apps = nullptr;
AppCounters *g_counters = nullptr;  // [worker 0..N][app]
int g_workers = 0;

// A lock between processes for the start-up work of registering (a spin: it is held briefly).
struct RegisterLock {
    RegisterLock() {
        int32_t free = 0;
        while (!g_apps->registering.compare_exchange_weak(free, 1)) free = 0;
    }
    ~RegisterLock() { g_apps->registering.store(0); }
};

void copy(char (&to)[256], const std::string &from) {
    std::strncpy(to, from.c_str(), sizeof to - 1);
}

}  // namespace

void create_app_table(int workers) {
    g_apps = shared_array<SharedApps>(1, "app table");
    g_counters = shared_array<AppCounters>(size_t(workers + 1) * kMaxApps, "app table");
    g_workers = workers;
}

int register_app_slot(int modifier1, const std::string &mountpoint, const std::string &chdir,
                      int64_t startup_time) {
    if (!g_apps) return -1;
    RegisterLock lock;
    int n = g_apps->count.load();
    for (int i = 0; i < n; ++i)
        if (g_apps->apps[i].modifier1 == modifier1 && mountpoint == g_apps->apps[i].mountpoint)
            return i;  // a --lazy-apps worker loading what a sibling already registered
    if (n >= kMaxApps) return -1;
    AppInfo &a = g_apps->apps[n];
    a.modifier1 = modifier1;
    a.startup_time = startup_time;
    copy(a.mountpoint, mountpoint);
    copy(a.chdir, chdir);
    g_apps->count.store(n + 1);  // published after its fields
    return n;
}

int app_count() { return g_apps ? g_apps->count.load() : 0; }

const AppInfo &app_info(int id) { return g_apps->apps[id]; }

AppCounters &app_counters(int worker_id, int app_id) {
    if (worker_id < 0 || worker_id > g_workers) worker_id = 0;
    return g_counters[size_t(worker_id) * kMaxApps + size_t(app_id)];
}

}  // namespace core
