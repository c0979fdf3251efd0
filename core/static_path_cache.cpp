#include "static_path_cache.hpp"

#include "runtime.hpp"

#include <uwsgi/cache.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace core {
namespace {

const uwsgi_cache_api *g_api = nullptr;
int32_t g_cache = -1;
uint64_t g_secs = 0;

}  // namespace

void attach_static_path_cache(const Config &config) {
    const std::string *name = config.get("static-cache-paths-name");
    int64_t secs = config.number("static-cache-paths", 0);
    if (secs < 0)
        throw ConfigError(fmt::format("--static-cache-paths {}: give a number of seconds (0: off)",
                                      secs));
    if (secs == 0) {
        if (name) spdlog::warn("--static-cache-paths-name {}: unused without --static-cache-paths SECS", *name);
        return;
    }
    auto *api = static_cast<const uwsgi_cache_api *>(
        runtime().registry.extension(UWSGI_CACHE_EXTENSION));
    int32_t id = api ? api->lookup(name ? name->c_str() : nullptr) : UWSGI_ERROR;
    if (id < 0 && name)
        throw ConfigError(fmt::format("--static-cache-paths-name {}: no such cache (define it with "
                                      "--cache2 name={},items=N)", *name, *name));
    if (id < 0)
        throw ConfigError("--static-cache-paths needs a cache to keep the paths in: define one "
                          "with --cache2 name=NAME,items=N");
    g_api = api;
    g_cache = id;
    g_secs = uint64_t(secs);
    spdlog::info("static: resolved paths are cached for {} s in cache {}", secs,
                 name ? *name : std::string("(the default)"));
}

bool static_path_cache_enabled() { return g_api != nullptr; }

bool resolve_static_path(const char *candidate, size_t len, char *out) {
    if (g_api) {
        int64_t n = g_api->get(g_cache, candidate, len, out, PATH_MAX);
        if (n > 0 && n <= PATH_MAX) {
            out[n] = '\0';
            return true;
        }
    }
    if (!realpath(candidate, out)) return false;
    // a key or path too long for the cache, or a full cache: resolved each time, as uWSGI
    if (g_api) g_api->set(g_cache, candidate, len, out, std::strlen(out), g_secs, UWSGI_CACHE_UPDATE);
    return true;
}

}  // namespace core
