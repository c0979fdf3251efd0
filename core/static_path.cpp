#include "static_path.hpp"

#include <cstring>

namespace core {

std::optional<StaticMapping> parse_static_map(std::string_view spec, bool whole_path,
                                              std::string &error) {
    auto eq = spec.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
        error = "give MOUNTPOINT=DIR (e.g. /static=/srv/app/static)";
        return std::nullopt;
    }
    StaticMapping m;
    m.mount = std::string(spec.substr(0, eq));
    m.root = std::string(spec.substr(eq + 1));
    m.whole_path = whole_path;
    return m;
}

bool has_dot_dot_segment(std::string_view p) {
    size_t at = 0;
    while (at <= p.size()) {
        size_t end = p.find('/', at);
        if (end == std::string_view::npos) end = p.size();
        if (p.substr(at, end - at) == "..") return true;
        at = end + 1;
    }
    return false;
}

StaticLookup static_candidate(const StaticMapping &m, std::string_view path_info, char *out,
                              size_t cap, size_t &len) {
    len = 0;
    if (path_info.substr(0, m.mount.size()) != m.mount) return StaticLookup::no_match;
    std::string_view rest = m.whole_path ? path_info : path_info.substr(m.mount.size());
    if (std::memchr(rest.data(), '\0', rest.size()) || has_dot_dot_segment(rest))
        return StaticLookup::refused;
    std::string_view root = m.root;
    if (m.is_file) rest = {};
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
    bool slash = !rest.empty() && root != "/";
    size_t need = root.size() + (slash ? 1 : 0) + rest.size();
    if (need + 1 > cap) return StaticLookup::refused;
    std::memcpy(out, root.data(), root.size());
    len = root.size();
    if (slash) out[len++] = '/';
    if (!rest.empty()) std::memcpy(out + len, rest.data(), rest.size());
    len += rest.size();
    out[len] = '\0';
    return StaticLookup::candidate;
}

bool path_within(std::string_view path, std::string_view root) {
    while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
    if (path.substr(0, root.size()) != root) return false;
    if (path.size() == root.size() || root == "/") return true;
    return path[root.size()] == '/';
}

}  // namespace core
