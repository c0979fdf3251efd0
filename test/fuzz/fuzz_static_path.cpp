// libFuzzer target: the static file path mapping (core/static_path.cpp) and the request headers
// the static file server parses (Range, HTTP dates). Input: byte 0 picks map or map2, then
// "MOUNT\0PATH_INFO\0RANGE\0DATE". Whatever comes in, a candidate path lies inside the mapped
// root, never holds a ".." segment or a NUL, fits the buffer; a range lies inside the file.
#include "byte_range.hpp"
#include "http_date.hpp"
#include "static_path.hpp"

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

using namespace core;

namespace {

std::string_view take(std::string_view &in) {
    auto nul = in.find('\0');
    std::string_view part = in.substr(0, nul);
    in.remove_prefix(nul == std::string_view::npos ? in.size() : nul + 1);
    return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
    std::string_view mount = take(in), path = take(in), range = take(in), date = take(in);

    StaticMapping m;
    m.mount = std::string(mount);
    m.root = "/srv/www";
    m.whole_path = data[0] & 1;
    m.is_file = data[0] & 2;
    char out[256];
    size_t len = 0;
    StaticLookup r = static_candidate(m, path, out, sizeof out, len);
    if (r == StaticLookup::candidate) {
        std::string_view got(out, len);
        if (len >= sizeof out || out[len] != '\0') abort();
        if (!path_within(got, m.root)) abort();
        if (has_dot_dot_segment(got) || std::memchr(out, '\0', len)) abort();
        if (m.is_file && got != m.root) abort();
    } else if (r == StaticLookup::no_match) {
        if (path.substr(0, mount.size()) == mount) abort();
    }

    int64_t file_size = int64_t(data[0]) * 37;
    ByteRange br = parse_byte_range(range, file_size);
    if (br.kind == ByteRange::satisfiable &&
        (br.first < 0 || br.last < br.first || br.last >= file_size))
        abort();

    time_t t = parse_http_date(date);
    if (t >= 0) {
        char back[kHttpDateLen + 1];
        size_t n = format_http_date(t, back);
        // a valid date reads back the same (the weekday is not checked on input)
        if (n != kHttpDateLen || parse_http_date({back, n}) != t) abort();
    }
    return 0;
}
