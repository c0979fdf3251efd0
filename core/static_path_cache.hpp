// --static-cache-paths SECS (--static-cache-paths-name NAME): as uWSGI, each static candidate
// path's resolution (its realpath) is kept in a uWSGI cache for SECS seconds, so a lookup skips
// the realpath walk and a symlink changed meanwhile is seen only when the item expires (or the
// cache is cleared). The cache is the cache plugin's (uwsgi.cache/1 extension, --cache2).
#pragma once

#include "config.hpp"

#include <cstddef>

namespace core {

// After the plugins' init (the cache plugin has made its caches then), before fork. Throws
// ConfigError for a value that is no number of seconds, and when there is no cache to use
// (none defined, or none of that name), as uWSGI refuses to start.
void attach_static_path_cache(const Config &config);
bool static_path_cache_enabled();

// realpath(candidate) into out (PATH_MAX + 1 bytes): from the cache when it holds the path,
// else resolved and stored there (with the cache on). False when the path does not resolve.
bool resolve_static_path(const char *candidate, size_t len, char *out);

}  // namespace core
