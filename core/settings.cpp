#include "settings.hpp"

#include <climits>
#include <cstdint>
#include <string>

namespace core {

static Settings g_settings;

const Settings &settings() { return g_settings; }
void set_settings(const Settings &s) { g_settings = s; }

// Values beyond `max` would overflow the int (or the milliseconds) they are kept in.
static int64_t positive(const Config &c, const std::string &name, int64_t fallback, int64_t min,
                        int64_t max = INT_MAX) {
    int64_t v = c.number(name, fallback);
    if (v < min)
        throw ConfigError("option --" + name + " must be at least " + std::to_string(min) +
                          ", got " + std::to_string(v));
    if (v > max)
        throw ConfigError("option --" + name + " must be at most " + std::to_string(max) +
                          ", got " + std::to_string(v));
    return v;
}

// --chmod-socket: three or four octal digits (uWSGI takes three), or no value for 666. Anything
// else used to give the socket mode 000 without a word.
static int parse_socket_mode(const Config &c) {
    const std::string *mode = c.get("chmod-socket");
    if (!mode) return -1;
    if (mode->empty() || *mode == "true") return 0666;
    bool octal = (mode->size() == 3 || mode->size() == 4) &&
                 mode->find_first_not_of("01234567") == std::string::npos;
    if (!octal)
        throw ConfigError("option --chmod-socket must be an octal mode such as 660 or 666, got '" +
                          *mode + "'");
    return int(std::stoi(*mode, nullptr, 8));
}

// --websocket-max-connections: a WebSocket holds its request thread while the app loops, so a
// worker never holds more than it has threads; by default it keeps one thread for plain requests
// (uWSGI has no such cap: there WebSockets can take every thread and plain requests then wait in
// the listen queue until one closes). A single-threaded worker can only give its one thread.
static int websocket_cap(const Config &c, int threads) {
    int64_t cap = positive(c, "websocket-max-connections", threads > 1 ? threads - 1 : 1, 1);
    if (cap > threads)
        throw ConfigError("option --websocket-max-connections " + std::to_string(cap) +
                          " is more than --threads " + std::to_string(threads) +
                          ": each WebSocket holds a request thread; raise --threads or lower it");
    return int(cap);
}

Settings Settings::from(const Config &c) {
    Settings s;
    s.buffer_size = size_t(positive(c, "buffer-size", 4096, 64, 1 << 30));
    s.max_vars = size_t(positive(c, "max-vars", 64, 1, 65536));
    s.socket_timeout_ms = int(positive(c, "socket-timeout", 4, 1, INT_MAX / 1000) * 1000);
    s.limit_post = positive(c, "limit-post", 0, 0, INT64_MAX);
    s.listen_backlog = int(positive(c, "listen", 100, 1));
    s.processes = int(positive(c, "processes", 1, 1));
    s.threads = int(positive(c, "threads", 1, 1));
    // as in uWSGI, the options that are the master's work imply --master
    s.master = c.flag("master");
    for (const char *needs_master : {"touch-reload", "touch-workers-reload", "cron", "unique-cron",
                                     "timer", "rbtimer", "master-fifo", "cheaper", "cheaper-initial",
                                     "cheaper-step", "cheaper-overload", "cheaper-algo", "cheaper-idle",
                                     "evil-reload-on-rss", "max-worker-lifetime", "idle", "mule",
                                     "mules", "farm", "spooler", "shutdown-delay", "zerg-server"})
        s.master = s.master || c.has(needs_master);
    s.cheaper = CheaperSettings::from(c, s.processes);
    s.idle_s = int(positive(c, "idle", 0, 0));
    s.die_on_idle = c.flag("die-on-idle");
    s.harakiri = int(positive(c, "harakiri", 0, 0));
    s.locks = int(positive(c, "locks", 0, 0, 65535));
    s.max_requests = positive(c, "max-requests", 0, 0, INT64_MAX);
    s.reload_on_rss = uint64_t(positive(c, "reload-on-rss", 0, 0, INT64_MAX >> 20)) << 20;
    s.evil_reload_on_rss = uint64_t(positive(c, "evil-reload-on-rss", 0, 0, INT64_MAX >> 20)) << 20;
    s.max_worker_lifetime_s = positive(c, "max-worker-lifetime", 0, 0, INT64_MAX / 4);
    s.max_worker_lifetime_delta_s = positive(c, "max-worker-lifetime-delta", 0, 0, INT_MAX);
    s.min_worker_lifetime_s = positive(c, "min-worker-lifetime", 10, 0, INT64_MAX / 4);
    if (s.max_worker_lifetime_s > 0 && s.min_worker_lifetime_s >= s.max_worker_lifetime_s)
        throw ConfigError("invalid min-worker-lifetime value (" +
                          std::to_string(s.min_worker_lifetime_s) +
                          "), must be lower than max-worker-lifetime (" +
                          std::to_string(s.max_worker_lifetime_s) +
                          "): lower --min-worker-lifetime (default 10)");
    s.reload_mercy = int(positive(c, "reload-mercy", 30, 1));
    s.shutdown_delay_s = int(positive(c, "shutdown-delay", 0, 0, 3600));
    s.heartbeat_s = int(positive(c, "heartbeat", 0, 0));
    s.need_app = c.flag("need-app", true);
    s.lazy_apps = c.flag("lazy-apps");
    s.honour_stdin = c.flag("honour-stdin");
    s.memory_report = c.flag("memory-report");
    s.socket_mode = parse_socket_mode(c);
    s.log_4xx = c.flag("log-4xx");
    s.log_5xx = c.flag("log-5xx");
    s.websocket_ping_freq_ms = positive(c, "websocket-ping-freq", 30, 1, INT_MAX / 1000) * 1000;
    s.websocket_pong_tolerance_ms =
        positive(c, "websocket-pong-tolerance", 3, 1, INT_MAX / 1000) * 1000;
    s.websocket_max_size = size_t(positive(c, "websocket-max-size", 1024, 1, 1 << 30)) * 1024;
    s.websocket_max_connections = websocket_cap(c, s.threads);
    s.offload_threads = int(positive(c, "offload-threads", 0, 0, 256));
    return s;
}

}  // namespace core
