#include "stats_prometheus.hpp"

#include <fmt/format.h>

namespace core {
namespace {

class Exposition {
public:
    // One metric family: its HELP and TYPE once, then one sample per label set.
    template <class T, class F>
    void family(const char *name, const char *type, const char *help, const std::vector<T> &rows,
                F value_and_labels) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
        for (auto &r : rows) {
            auto [labels, value] = value_and_labels(r);
            out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
        }
    }
    void single(const char *name, const char *type, const char *help, double value) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name,
                            value);
    }
    std::string text() const { return out_; }

private:
    std::string out_;
};

std::string worker_label(const WorkerStats &w) { return fmt::format("worker_id=\"{}\"", w.id); }

}  // namespace

std::string stats_prometheus(const StatsSnapshot &s) {
    Exposition e;
    e.single("uwsgi_listen_queue_length", "gauge", "connections waiting in the accept queues",
             double(s.listen_queue));
    e.single("uwsgi_load", "gauge", "workers busy on a request", double(s.load));
    e.single("uwsgi_workers", "gauge", "configured worker processes", double(s.workers.size()));
    e.family("uwsgi_socket_queue_length", "gauge", "connections waiting in this socket's accept queue",
             s.sockets, [](const SocketStats &so) {
                 return std::pair(fmt::format("name=\"{}\",proto=\"{}\"", so.name, so.proto),
                                  double(so.queue));
             });
    e.family("uwsgi_socket_max_queue_length", "gauge", "this socket's listen backlog", s.sockets,
             [](const SocketStats &so) {
                 return std::pair(fmt::format("name=\"{}\",proto=\"{}\"", so.name, so.proto),
                                  double(so.max_queue));
             });
    struct CacheField {
        const char *name, *type, *help;
        uint64_t CacheStats::*value;
    };
    static const CacheField cache_fields[] = {
        {"uwsgi_cache_items", "gauge", "items stored", &CacheStats::items},
        {"uwsgi_cache_max_items", "gauge", "items the cache holds at most", &CacheStats::max_items},
        {"uwsgi_cache_hits_total", "counter", "reads that found their key", &CacheStats::hits},
        {"uwsgi_cache_misses_total", "counter", "reads that did not", &CacheStats::miss},
        {"uwsgi_cache_full_total", "counter", "stores that found the cache full", &CacheStats::full},
    };
    for (const CacheField &f : cache_fields)
        if (!s.caches.empty()) e.family(f.name, f.type, f.help, s.caches, [&f](const CacheStats &c) {
            return std::pair(fmt::format("cache=\"{}\"", c.name), double(c.*f.value));
        });
    struct Field {
        const char *name, *type, *help;
        double (*get)(const WorkerStats &);
    };
    static const Field fields[] = {
        {"uwsgi_worker_pid", "gauge", "the worker's process id (0: not running)",
         [](const WorkerStats &w) { return double(w.pid); }},
        {"uwsgi_worker_accepting", "gauge", "1 while the worker accepts requests",
         [](const WorkerStats &w) { return double(w.accepting); }},
        {"uwsgi_worker_busy", "gauge", "1 while the worker serves a request",
         [](const WorkerStats &w) { return double(w.busy); }},
        {"uwsgi_worker_requests_total", "counter", "requests served",
         [](const WorkerStats &w) { return double(w.requests); }},
        {"uwsgi_worker_delta_requests", "gauge", "requests served since the last spawn",
         [](const WorkerStats &w) { return double(w.delta_requests); }},
        {"uwsgi_worker_exceptions_total", "counter", "requests whose handler failed",
         [](const WorkerStats &w) { return double(w.exceptions); }},
        {"uwsgi_worker_harakiri_count_total", "counter", "times killed by harakiri",
         [](const WorkerStats &w) { return double(w.harakiri_count); }},
        {"uwsgi_worker_signals_total", "counter", "uwsgi signals handled",
         [](const WorkerStats &w) { return double(w.signals); }},
        {"uwsgi_worker_respawn_count_total", "counter", "times respawned by the master",
         [](const WorkerStats &w) { return double(w.respawn_count); }},
        {"uwsgi_worker_rss_bytes", "gauge", "resident memory",
         [](const WorkerStats &w) { return double(w.rss); }},
        {"uwsgi_worker_vsz_bytes", "gauge", "virtual memory",
         [](const WorkerStats &w) { return double(w.vsz); }},
        {"uwsgi_worker_running_time_seconds_total", "counter", "time spent serving requests",
         [](const WorkerStats &w) { return double(w.running_time) / 1e6; }},
        {"uwsgi_worker_average_response_time_seconds", "gauge", "mean response time",
         [](const WorkerStats &w) { return double(w.avg_rt) / 1e6; }},
        {"uwsgi_worker_last_spawn_time_seconds", "gauge", "unix time of the last spawn",
         [](const WorkerStats &w) { return double(w.last_spawn); }},
        {"uwsgi_worker_transmitted_bytes_total", "counter", "response bytes sent",
         [](const WorkerStats &w) { return double(w.tx); }},
    };
    for (auto &f : fields)
        e.family(f.name, f.type, f.help, s.workers, [&f](const WorkerStats &w) {
            return std::pair(worker_label(w), f.get(w));
        });
    std::vector<std::pair<std::string, const CoreStats *>> cores;
    for (auto &w : s.workers)
        for (auto &c : w.cores)
            cores.emplace_back(fmt::format("{},core_id=\"{}\"", worker_label(w), c.id), &c);
    e.family("uwsgi_worker_core_requests_total", "counter", "requests served by this thread",
             cores, [](const auto &c) { return std::pair(c.first, double(c.second->requests)); });
    e.family("uwsgi_worker_core_static_requests_total", "counter",
             "static files served by this thread", cores,
             [](const auto &c) { return std::pair(c.first, double(c.second->static_requests)); });
    e.family("uwsgi_worker_core_offloaded_requests_total", "counter",
             "bodies this thread handed to an offload thread", cores, [](const auto &c) {
                 return std::pair(c.first, double(c.second->offloaded_requests));
             });
    e.family("uwsgi_worker_core_busy", "gauge", "1 while this thread serves a request", cores,
             [](const auto &c) { return std::pair(c.first, double(c.second->in_request)); });
    return e.text();
}

}  // namespace core
