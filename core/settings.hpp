// The core's own settings, read once from the configuration.
#pragma once

#include "cheaper.hpp"
#include "config.hpp"

#include <cstdint>
#include <string>

namespace core {

struct Settings {
    size_t buffer_size = 4096;
    size_t max_vars = 64;
    int socket_timeout_ms = 4000;
    int64_t limit_post = 0;  // 0: unlimited
    int listen_backlog = 100;
    int processes = 1;
    int threads = 1;
    bool master = false;
    int harakiri = 0;
    int locks = 0;  // user locks 0..locks
    int64_t max_requests = 0;
    uint64_t reload_on_rss = 0;  // --reload-on-rss MB, in bytes; 0: off
    uint64_t evil_reload_on_rss = 0;  // --evil-reload-on-rss MB, in bytes; 0: off
    int64_t max_worker_lifetime_s = 0;  // 0: off
    int64_t min_worker_lifetime_s = 10;  // --reload-on-rss spares younger workers (uWSGI's)
    int64_t max_worker_lifetime_delta_s = 0;
    CheaperSettings cheaper;
    int idle_s = 0;  // --idle: cheap mode after SECS without requests; 0: off
    bool die_on_idle = false;
    int reload_mercy = 30;
    int shutdown_delay_s = 0;
    int heartbeat_s = 0;       // --heartbeat: to the emperor every SECS; 0: none  // --shutdown-delay: SIGTERM serves on (not ready) this long first
    bool need_app = true;
    bool lazy_apps = false;
    bool honour_stdin = false;
    bool memory_report = false;  // --memory-report: memory use on every request log line
    int socket_mode = -1;  // --chmod-socket; -1: leave UNIX sockets as bind() made them
    bool log_4xx = false;  // request lines of 4xx / 5xx answers even with --disable-logging
    bool log_5xx = false;
    // WebSockets, uWSGI's defaults: a ping every 30 s, 3 s for its pong, messages up to 1 MiB
    int64_t websocket_ping_freq_ms = 30000;
    int64_t websocket_pong_tolerance_ms = 3000;
    size_t websocket_max_size = 1024 * 1024;  // bytes (the option is in KiB, as uWSGI's)
    // WebSockets one worker holds at once (each keeps a request thread): by default all threads
    // but one, so plain requests always find a thread; past it an upgrade is answered 503
    int websocket_max_connections = 1;
    int offload_threads = 0;  // per worker (--offload-threads)

    static Settings from(const Config &config);
};

const Settings &settings();
void set_settings(const Settings &s);

}  // namespace core
