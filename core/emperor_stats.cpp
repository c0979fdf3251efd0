#include "emperor_stats.hpp"

#include "json_writer.hpp"

#include <climits>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace core {
namespace {

std::string vassal_json(const Vassal &v) {
    // zerg, on-demand sockets, suspension and adoption are uWSGI features
    // this emperor does not have: those keys are truly 0 or empty.
    return json::Object()
        .str("id", v.id)
        .num("pid", int64_t(v.pid))
        .num("born", uint64_t(v.born))
        .num("last_mod", uint64_t(v.last_mod))
        .num("last_heartbeat", uint64_t(v.last_heartbeat))
        .num("loyal", uint64_t(v.loyal))
        .num("ready", uint64_t(v.ready))
        .num("accepting", uint64_t(v.accepting))
        .num("last_loyal", uint64_t(v.last_loyal))
        .num("last_ready", uint64_t(v.last_ready))
        .num("last_accepting", uint64_t(v.last_accepting))
        .num("first_run", uint64_t(v.first_run))
        .num("last_run", uint64_t(v.last_run))
        .num("cursed", uint64_t(v.stopping ? v.cursed_at : 0))
        .num("zerg", uint64_t(0))
        .str("on_demand", "")
        .num("suspended", uint64_t(0))
        .num("adopted", uint64_t(0))
        .num("uid", uint64_t(v.uid))
        .num("gid", uint64_t(v.gid))
        .str("monitor", v.monitor)
        .raw("attrs", "[]")
        .num("respawns", v.respawns)
        .done();
}

std::string blacklist_json(const std::map<std::string, Vassal> &vassals) {
    std::vector<const Vassal *> throttled;
    for (auto &[id, v] : vassals)
        if (v.disloyal_deaths) throttled.push_back(&v);
    return json::list(throttled, [](const Vassal *v) {
        return json::Object()
            .str("id", v->id)
            .num("throttle_level", uint64_t(v->throttle_ms / 1000))
            .num("attempt", v->disloyal_deaths)
            .num("first_attempt", uint64_t(v->first_attempt))
            .num("last_attempt", uint64_t(v->last_attempt))
            .done();
    });
}

void write_all(int fd, const std::string &s) {
    size_t off = 0;
    while (off < s.size()) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 2000) <= 0) return;  // a reader that does not read is dropped
        ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) return;
        off += size_t(n);
    }
}

}  // namespace

void send_emperor_stats(int fd, const std::vector<std::string> &monitors,
                        const std::map<std::string, Vassal> &vassals, bool tyrant) {
    std::vector<const Vassal *> list;
    for (auto &[id, v] : vassals) list.push_back(&v);
    char cwd[PATH_MAX];
    std::string doc =
        json::Object()
            .str("version", UWSGI_VERSION)
            .num("pid", uint64_t(getpid()))
            .num("uid", uint64_t(getuid()))
            .num("gid", uint64_t(getgid()))
            .str("cwd", getcwd(cwd, sizeof cwd) ? cwd : "")
            .raw("emperor", json::list(monitors, [](const std::string &m) {
                     return json::quoted(m);
                 }))
            .num("emperor_tyrant", uint64_t(tyrant))
            .num("throttle_level", uint64_t(0))
            .raw("vassals", json::list(list, [](const Vassal *v) { return vassal_json(*v); }))
            .raw("blacklist", blacklist_json(vassals))
            .done();
    write_all(fd, doc);
}

}  // namespace core
