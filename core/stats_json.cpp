#include "stats_json.hpp"

#include "json_writer.hpp"

#include <fmt/format.h>

namespace core {
namespace {

using json::list;
using json::Object;
using json::quoted;

// uWSGI's keys, in its order (core/stats.c, uwsgi_master_generate_stats)
std::string app_json(const AppStats &a) {
    return Object()
        .num("id", uint64_t(a.id))
        .num("modifier1", uint64_t(a.modifier1))
        .str("mountpoint", a.mountpoint)
        .num("startup_time", a.startup_time)
        .num("requests", a.requests)
        .num("exceptions", a.exceptions)
        .str("chdir", a.chdir)
        .done();
}

// uWSGI ends the vars of a request in flight with an empty string (its list writer's last
// comma), and consumers written for it skip it: kept. Unlike uWSGI, every control character
// is escaped, so a hostile header never makes the document invalid JSON.
std::string vars_json(const CoreStats &c) {
    if (!c.in_flight) return "[]";
    std::string out = "[";
    for (auto &v : c.vars) out += quoted(v) + ",";
    return out + "\"\"]";
}

std::string req_info_json(const CoreStats &c) {
    if (!c.in_flight) return "{}";
    return Object().num("request_start", c.request_start).done();
}

std::string core_json(const CoreStats &c) {
    // uWSGI's internal routing (--route) does not exist here: routed_requests is truly 0.
    return Object()
        .num("id", uint64_t(c.id))
        .num("requests", c.requests)
        .num("static_requests", c.static_requests)
        .num("routed_requests", uint64_t(0))
        .num("offloaded_requests", c.offloaded_requests)
        .num("write_errors", c.write_errors)
        .num("read_errors", c.read_errors)
        .num("in_request", uint64_t(c.in_request))
        .raw("vars", vars_json(c))
        .raw("req_info", req_info_json(c))
        .done();
}

std::string worker_json(const WorkerStats &w) {
    return Object()
        .num("id", uint64_t(w.id))
        .num("pid", uint64_t(w.pid))
        .num("accepting", uint64_t(w.accepting))
        .num("requests", w.requests)
        .num("delta_requests", w.delta_requests)
        .num("exceptions", w.exceptions)
        .num("harakiri_count", w.harakiri_count)
        .num("signals", w.signals)
        .num("signal_queue", uint64_t(0))  // no uwsgi signal queue here
        .str("status", worker_status(w))
        .num("rss", w.rss)
        .num("vsz", w.vsz)
        .num("running_time", w.running_time)
        .num("last_spawn", w.last_spawn)
        // uWSGI counts every spawn, the first included (1 for a worker never respawned)
        .num("respawn_count", w.respawn_count + (w.last_spawn ? 1 : 0))
        .num("tx", w.tx)
        .num("avg_rt", w.avg_rt)
        .raw("apps", list(w.apps, app_json))
        .raw("cores", list(w.cores, core_json))
        .done();
}

}  // namespace

std::string stats_json(const StatsSnapshot &s) {
    auto lock = [](const LockStats &l) { return Object().num(l.name.c_str(), uint64_t(l.holder)).done(); };
    auto socket = [](const SocketStats &so) {
        return Object()
            .str("name", so.name)
            .str("proto", so.proto)
            .num("queue", so.queue)
            .num("max_queue", so.max_queue)
            .num("shared", uint64_t(0))
            .num("can_offload", uint64_t(0))
            .done();
    };
    auto cache = [](const CacheStats &c) {
        return Object()
            .str("name", c.name)
            .str("hash", "fnv1a")  // the one hash this server's caches use
            .num("hashsize", c.hashsize)
            .num("keysize", c.keysize)
            .num("max_items", c.max_items)
            .num("blocks", c.max_items)  // one value block per item
            .num("blocksize", c.blocksize)
            .num("items", c.items)
            .num("hits", c.hits)
            .num("miss", c.miss)
            .num("full", c.full)
            .num("last_modified_at", uint64_t(0))  // uWSGI's lastmod key is not supported
            .done();
    };
    auto spooler = [](const SpoolerFacts &sp) {
        return Object()
            .str("dir", sp.dir)
            .num("pid", uint64_t(sp.pid))
            .num("tasks", sp.tasks)
            .num("respawns", sp.respawns)
            .num("running", uint64_t(sp.running))
            .done();
    };
    Object doc;
    doc.str("version", s.version)
        .num("listen_queue", s.listen_queue)
        .num("listen_queue_errors", uint64_t(0))  // overflows are not counted yet
        .num("signal_queue", uint64_t(0))
        .num("load", s.load)
        .num("pid", uint64_t(s.pid))
        .num("uid", uint64_t(s.uid))
        .num("gid", uint64_t(s.gid))
        .str("cwd", s.cwd)
        .raw("locks", list(s.locks, lock));
    if (!s.caches.empty()) doc.raw("caches", list(s.caches, cache));  // uWSGI: only with caches
    doc.raw("sockets", list(s.sockets, socket)).raw("workers", list(s.workers, worker_json));
    // uWSGI lists no mules; its "spoolers" only when there are spoolers
    if (!s.spoolers.empty()) doc.raw("spoolers", list(s.spoolers, spooler));
    return doc.done() + "\n";
}

}  // namespace core
