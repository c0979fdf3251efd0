// The apps the plugins loaded (uWSGI's per-app table) and each worker's requests and exceptions
// per app, in shared memory made before fork: every process reports every worker's apps
// (uwsgi.workers(), the stats server's workers[].apps[]). An app registered in the master is
// every worker's; with --lazy-apps each worker registers the same apps in the same order and
// gets the same ids. Counting a request is a relaxed atomic add; nothing is allocated.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace core {

constexpr int kMaxApps = 64;  // uWSGI's default --max-apps

struct AppInfo {
    int32_t modifier1 = 0;
    int64_t startup_time = 0;  // seconds its loading took, as uWSGI reports it
    char mountpoint[256] = {};
    char chdir[256] = {};
};

struct AppCounters {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> exceptions{0};
};

void create_app_table(int workers);
// The app's id (the same for the same modifier1 and mountpoint), or -1 when the table is full.
int register_app_slot(int modifier1, const std::string &mountpoint, const std::string &chdir,
                      int64_t startup_time);
int app_count();
const AppInfo &app_info(int id);
AppCounters &app_counters(int worker_id, int app_id);

}  // namespace core
