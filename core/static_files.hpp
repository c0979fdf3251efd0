// Static files served by the core before any plugin's handler, for every protocol (--socket,
// --http-socket) and every language plugin: --static-map, --static-map2, --check-static,
// --static-index, --static-safe, --static-skip-ext, --static-expires*, --static-gzip*,
// --mimefile. Conditional (If-Modified-Since), Range (206/416) and HEAD requests; the body goes
// out with sendfile(2), or through an offload thread (--offload-threads).
#pragma once

#include "config.hpp"
#include "request.hpp"

namespace core {

// Reads the static options, resolves every directory and loads the MIME types. Throws
// ConfigError naming the option and the fix for a malformed value, a directory that does not
// exist or cannot be read, or a bad regular expression. Runs once, before fork.
void configure_static_files(const Config &config);

enum class StaticResult {
    not_static,  // no mapping names an existing file: the handler answers
    served,      // answered (200/206/304/403/416 ...), the response complete
    failed,      // the response started and could not be completed: the connection is cut
};

// GET/HEAD only. Allocates nothing (fixed per-thread buffers).
StaticResult serve_static_file(uwsgi_request &req);

}  // namespace core
