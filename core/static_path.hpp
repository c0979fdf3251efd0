// Static file mappings (--static-map, --static-map2, --check-static) and the pure part of serving
// one: which file path a request's PATH_INFO names under a mapping. No I/O here (fuzzed:
// test/fuzz/fuzz_static_path.cpp); static_files.cpp stats and sends what this names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace core {

struct StaticMapping {
    std::string mount;        // PATH_INFO prefix; "" for --check-static (every request)
    std::string root;         // the directory (or file) as configured; realpath'd at start-up
    bool whole_path = false;  // --static-map2 / --check-static: the whole PATH_INFO appended
    bool is_file = false;     // root names one file, served for every path under mount
    int root_fd = -1;         // the directory, opened once (static_files.cpp); -1 for a file
};

// "MOUNT=DIR" of --static-map/--static-map2. nullopt with `error` set when there is no '=' or
// either side is empty.
std::optional<StaticMapping> parse_static_map(std::string_view spec, bool whole_path,
                                              std::string &error);

enum class StaticLookup {
    no_match,   // PATH_INFO is not under the mapping: try the next one
    refused,    // a ".." segment, a NUL or a path too long: never looked up (403)
    candidate,  // `out` holds the file path to stat
};

// The file PATH_INFO names under `m`: root + "/" + (PATH_INFO after the mount, or all of it).
// Written NUL-terminated into out[0..cap); `len` is its length. PATH_INFO is already
// percent-decoded by the protocol (or nginx), so "%2e%2e" arrives as "..": a ".." segment is
// refused whatever produced it. Symlinks are the caller's business (realpath + path_within).
StaticLookup static_candidate(const StaticMapping &m, std::string_view path_info, char *out,
                              size_t cap, size_t &len);

// True when a segment of `path` (between slashes) is exactly "..".
bool has_dot_dot_segment(std::string_view path);

// True when `path` is `root` or lies below it (root + "/" ...): a whole-segment prefix, so
// /srv/static2 is not inside /srv/static (uWSGI's plain prefix check lets it through).
bool path_within(std::string_view path, std::string_view root);

}  // namespace core
