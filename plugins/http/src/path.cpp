#include "path.hpp"

namespace uwsgi_http {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

PathResult normalize_path(std::string_view raw, std::string &out) {
    out.clear();
    if (raw.empty() || raw.front() != '/') return PathResult::not_origin_form;

    // Pass 1: percent-decode into `out`.
    for (size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%' && i + 2 < raw.size()) {
            int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
            if (hi >= 0 && lo >= 0) {
                char d = static_cast<char>(hi * 16 + lo);
                if (d == '\0') return PathResult::bad_escape_nul;
                out.push_back(d);
                i += 2;
                continue;
            }
        }
        out.push_back(c);
    }

    // Pass 2: resolve dot segments in place. `w` is the write end, segments are read ahead of it,
    // so the output (always shorter or equal) never overtakes the input.
    std::string &s = out;
    const size_t n = s.size();
    size_t r = 0;  // read position, at a '/'
    size_t w = 0;  // write length
    while (r < n) {
        // s[r] == '/'; the segment is s[r+1 .. end)
        size_t end = s.find('/', r + 1);
        if (end == std::string::npos) end = n;
        std::string_view seg(s.data() + r + 1, end - r - 1);
        bool last = end == n;
        if (seg == ".") {
            if (last) s[w++] = '/';
        } else if (seg == "..") {
            // drop the last written "/segment"; at the root there is nothing to drop
            while (w > 0 && s[w - 1] != '/') --w;
            if (w > 0) --w;
            if (last) s[w++] = '/';
        } else {
            // keep "/seg"; memmove-safe because w <= r
            for (size_t k = r; k < end; ++k) s[w++] = s[k];
        }
        r = end;
    }
    if (w == 0) s[w++] = '/';
    s.resize(w);
    return PathResult::ok;
}

}  // namespace uwsgi_http
