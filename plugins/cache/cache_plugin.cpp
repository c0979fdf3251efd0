// The cache plugin: uWSGI's caching framework. Reads --cache2/--cache, maps every cache in the
// master before fork (cache_table.cpp), sweeps expired items and flushes store files from a
// thread of the master, offers the caches to every plugin as the "uwsgi.cache/1" extension, and
// serves them to other instances (modifier1 111, cache_remote.cpp).
#include "cache_remote.hpp"
#include "cache_spec.hpp"
#include "cache_table.hpp"

#include <uwsgi/cache.h>
#include <uwsgi/plugin.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

const uwsgi_host *host = nullptr;

void log(int level, const std::string &msg) {
    if (host)
        host->log(level, "cache", msg.data(), msg.size());
    else
        std::fprintf(stderr, "[cache] %s\n", msg.c_str());
}

// Every cache, the default first (uWSGI: --cache, else the first --cache2). Filled in init
// before fork, never changed afterwards, so lookups need no lock.
std::vector<std::unique_ptr<cache::Table>> g_caches;
uint64_t g_expire_freq = 3;  // seconds between sweeps (uWSGI's --cache-expire-freq)

const uwsgi_option kOptions[] = {
    {.name = "cache2",
     .kind = UWSGI_OPT_LIST,
     .metavar = "name=N,items=K[,...]",
     .help = "create a shared cache (keys: name, items, blocksize, blocks, keysize, purge_lru, "
             "ignore_full, store, store_sync, math_initial)"},
    {.name = "cache",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "ITEMS",
     .help = "create the default cache (named \"default\") with ITEMS items"},
    {.name = "cache-blocksize",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "BYTES",
     .help = "largest value of the --cache cache (default 65536)"},
    {.name = "cache-store",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "FILE",
     .help = "keep the --cache cache in FILE, so a restart keeps its items"},
    {.name = "cache-store-sync",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "SECS",
     .help = "flush store files every SECS seconds (default: only at exit)"},
    {.name = "cache-expire-freq",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "SECS",
     .help = "seconds between sweeps of expired items (default 3; reads never see them)"},
    {},
};

bool number_option(const char *name, uint64_t min, uint64_t max, uint64_t &out, std::string &why) {
    const char *v = host->opt_get(name);
    if (!v) return true;
    if (!cache::parse_number(v, min, max, out)) {
        why = std::string("--") + name + " must be a whole number from " + std::to_string(min) +
              " to " + std::to_string(max) + ", got '" + v + "'";
        return false;
    }
    return true;
}

bool read_specs(std::vector<cache::Spec> &specs, std::string &why) {
    uint64_t store_sync = 0;
    if (!number_option("cache-store-sync", 0, 86400, store_sync, why) ||
        !number_option("cache-expire-freq", 1, 3600, g_expire_freq, why))
        return false;
    if (host->opt_get("cache")) {
        cache::Spec s;
        s.name = "default";
        if (!number_option("cache", 1, uint64_t(1) << 31, s.items, why) ||
            !number_option("cache-blocksize", 1, uint64_t(1) << 31, s.blocksize, why))
            return false;
        if (const char *store = host->opt_get("cache-store")) s.store = store;
        s.store_sync = store_sync;
        specs.push_back(s);
    } else if (host->opt_get("cache-blocksize") || host->opt_get("cache-store")) {
        why = "--cache-blocksize and --cache-store describe the --cache ITEMS cache: add --cache";
        return false;
    }
    for (size_t i = 0; const char *text = host->opt_at("cache2", i); ++i) {
        cache::Spec s;
        s.store_sync = store_sync;
        if (!cache::parse_cache2(text, s, why)) return false;
        for (auto &other : specs)
            if (other.name == s.name) {
                why = "two caches are named \"" + s.name + "\"; give each --cache2 its own name";
                return false;
            }
        specs.push_back(s);
    }
    return true;
}

// ---- the master's sweeper -------------------------------------------------------------------

std::mutex g_sweeper_mutex;
std::condition_variable g_sweeper_wake;
bool g_sweeper_stop = false;
pid_t g_sweeper_pid = 0;

// Stops the sweeper in the process that started it; a forked copy holds no such thread.
void stop_sweeper(std::thread &t) {
    if (!t.joinable()) return;
    if (getpid() != g_sweeper_pid) return t.detach();
    {
        std::lock_guard<std::mutex> lk(g_sweeper_mutex);
        g_sweeper_stop = true;
    }
    g_sweeper_wake.notify_all();
    t.join();
}

// The shutdown hook stops it; a start-up that fails after init (a bad socket, an option
// checked later) exits without that hook, and a joinable std::thread destroyed at exit aborts
// the process ("terminate called"): stopped here then.
struct Sweeper {
    std::thread thread;
    ~Sweeper() { stop_sweeper(thread); }
} g_sweeper;

void sweeper_loop() {
    uint64_t tick = 0;
    std::unique_lock<std::mutex> lk(g_sweeper_mutex);
    while (!g_sweeper_wake.wait_for(lk, std::chrono::seconds(g_expire_freq),
                                    [] { return g_sweeper_stop; })) {
        tick += g_expire_freq;
        for (auto &t : g_caches) {
            t->sweep();
            uint64_t every = t->spec().store_sync;
            if (every && tick % every < g_expire_freq) t->sync();
        }
    }
}

// ---- the extension --------------------------------------------------------------------------

cache::Table *table(int32_t id) {
    return id >= 0 && size_t(id) < g_caches.size() ? g_caches[size_t(id)].get() : nullptr;
}

std::string_view key_of(const char *key, size_t len) { return {key ? key : "", key ? len : 0}; }

int32_t api_lookup(const char *name) noexcept {
    if (!name || !*name) return g_caches.empty() ? UWSGI_ERROR : 0;
    for (size_t i = 0; i < g_caches.size(); ++i)
        if (g_caches[i]->spec().name == name) return int32_t(i);
    return UWSGI_ERROR;
}

int64_t api_get(int32_t id, const char *key, size_t keylen, void *buf, size_t buflen) noexcept {
    auto *t = table(id);
    return t ? t->get(key_of(key, keylen), buf, buflen) : UWSGI_ERROR;
}

int api_set(int32_t id, const char *key, size_t keylen, const void *value, size_t len,
            uint64_t expires, uint32_t flags) noexcept {
    auto *t = table(id);
    if (!t) return UWSGI_ERROR;
    return t->set(key_of(key, keylen), {static_cast<const char *>(value), value ? len : 0},
                  expires, flags);
}

int api_remove(int32_t id, const char *key, size_t keylen) noexcept {
    auto *t = table(id);
    return t ? t->del(key_of(key, keylen)) : UWSGI_ERROR;
}

int api_exists(int32_t id, const char *key, size_t keylen) noexcept {
    auto *t = table(id);
    return t ? t->exists(key_of(key, keylen)) : 0;
}

int api_clear(int32_t id) noexcept {
    auto *t = table(id);
    return t ? t->clear() : UWSGI_ERROR;
}

int api_math(int32_t id, const char *key, size_t keylen, int32_t op, int64_t operand,
             uint64_t expires, int64_t *result) noexcept {
    auto *t = table(id);
    return t ? t->math(key_of(key, keylen), op, operand, expires, result) : UWSGI_ERROR;
}

int64_t api_key_at(int32_t id, uint64_t *pos, void *buf, size_t buflen) noexcept {
    auto *t = table(id);
    return t && pos ? t->key_at(pos, buf, buflen) : UWSGI_ERROR;
}

int api_info(int32_t id, uwsgi_cache_info *out) noexcept {
    auto *t = table(id);
    if (!t || !out || out->struct_size < sizeof(uwsgi_cache_info)) return UWSGI_ERROR;
    out->name = t->spec().name.c_str();
    t->info(*out);
    return UWSGI_OK;
}

const uwsgi_cache_api kApi = {
    .struct_size = sizeof(uwsgi_cache_api),
    .reserved = 0,
    .lookup = api_lookup,
    .get = api_get,
    .set = api_set,
    .remove = api_remove,
    .exists = api_exists,
    .clear = api_clear,
    .math = api_math,
    .key_at = api_key_at,
    .info = api_info,
};

// ---- modifier1 111: other instances' cache_*(..., "name@host:port") ----------------------------

int request(uwsgi_request *req) {
    return cache::serve_remote(*host, req, [](std::string_view name) {
        int32_t id = api_lookup(std::string(name).c_str());
        return table(id);
    });
}

// ---- the descriptor -------------------------------------------------------------------------

int init(const uwsgi_host *h) {
    host = h;
    uwsgi::Host::set(h);
    std::vector<cache::Spec> specs;
    std::string why;
    if (!read_specs(specs, why)) {
        log(UWSGI_LOG_ERROR, why);
        return 1;
    }
    for (auto &s : specs) {
        auto t = cache::Table::create(s, log, why);
        if (!t) {
            log(UWSGI_LOG_ERROR, "cache \"" + s.name + "\": " + why);
            return 1;
        }
        log(UWSGI_LOG_INFO, "cache \"" + s.name + "\" ready: " + std::to_string(s.items) +
                                " items of up to " + std::to_string(s.blocksize) +
                                " bytes, keys up to " + std::to_string(s.keysize) + " bytes" +
                                (s.purge_lru ? ", purge_lru" : "") +
                                (s.store.empty() ? "" : ", store " + s.store));
        g_caches.push_back(std::move(t));
    }
    if (!g_caches.empty()) {
        g_sweeper_pid = getpid();
        g_sweeper.thread = std::thread(sweeper_loop);
    }
    return 0;
}

void shutdown() {
    if (!g_sweeper.thread.joinable() || getpid() != g_sweeper_pid) return;
    stop_sweeper(g_sweeper.thread);
    for (auto &t : g_caches) t->sync();
}

const void *get_extension(const char *id) {
    if (id && std::string_view(id) == UWSGI_CACHE_EXTENSION) return &kApi;
    return nullptr;
}

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "cache",
    .version = "1.0.0",
    .description = "uWSGI's caching framework: --cache2 shared-memory caches (uwsgi.cache/1)",
    .options = kOptions,
    .init = init,
    .shutdown = shutdown,
    .modifier1 = cache::kRemoteModifier1,
    .request = request,
    .get_extension = get_extension,
    .provides = UWSGI_CACHE_EXTENSION,  // activated when a plugin asks for it (e.g. pypy)
};

}  // namespace

UWSGI_PLUGIN_EXPORT(cache, descriptor)
