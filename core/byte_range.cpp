#include "byte_range.hpp"

namespace core {

static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Digits only, at most 18 of them (no overflow); -1 when empty or not a number.
static int64_t number(std::string_view s) {
    if (s.empty() || s.size() > 18) return -1;
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

ByteRange parse_byte_range(std::string_view header, int64_t size) {
    ByteRange r;
    header = trim(header);
    if (header.substr(0, 6) != "bytes=") return r;
    std::string_view spec = trim(header.substr(6));
    if (spec.find(',') != std::string_view::npos) return r;  // several ranges: the whole file
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return r;
    std::string_view a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
    if (a.empty()) {  // the last N bytes
        int64_t n = number(b);
        if (n < 0) return r;
        if (n == 0 || size == 0) {
            r.kind = ByteRange::unsatisfiable;
            return r;
        }
        r.kind = ByteRange::satisfiable;
        r.first = n >= size ? 0 : size - n;
        r.last = size - 1;
        return r;
    }
    int64_t first = number(a), last = b.empty() ? size - 1 : number(b);
    if (first < 0 || last < 0 || (!b.empty() && last < first)) return r;  // malformed: ignored
    if (first >= size) {
        r.kind = ByteRange::unsatisfiable;
        return r;
    }
    r.kind = ByteRange::satisfiable;
    r.first = first;
    r.last = last >= size ? size - 1 : last;
    return r;
}

}  // namespace core
