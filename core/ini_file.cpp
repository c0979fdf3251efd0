#include "ini_file.hpp"

#include "config.hpp"

#include <climits>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace core {

static std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::pair<std::string, std::string> split_ini_spec(const std::string &spec) {
    size_t slash = spec.rfind('/');
    size_t colon = spec.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
        return {spec.substr(0, colon), spec.substr(colon + 1)};
    return {spec, "uwsgi"};
}

std::string expand_magic(const std::string &value, const std::string &path,
                         const std::string &section) {
    if (value.find('%') == std::string::npos) return value;
    char resolved[PATH_MAX];
    std::string abs = realpath(path.c_str(), resolved) ? resolved : path;
    size_t slash = abs.rfind('/');
    std::string dir = slash == std::string::npos ? "./" : abs.substr(0, slash + 1);
    std::string file = slash == std::string::npos ? abs : abs.substr(slash + 1);
    size_t dot = file.rfind('.');
    std::string stem = dot == std::string::npos ? file : file.substr(0, dot);
    std::string ext = dot == std::string::npos ? "" : file.substr(dot + 1);
    std::string parent = dir.substr(0, dir.size() - 1);
    parent = parent.substr(parent.rfind('/') + 1);
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    char cwd[PATH_MAX] = {0};
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;

    std::string out;
    for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '%' || i + 1 == value.size()) {
            out += value[i];
            continue;
        }
        switch (value[++i]) {
            case 'd': out += dir; break;
            case 'p': out += abs; break;
            case 's': out += file; break;
            case 'n': out += stem; break;
            case 'e': out += ext; break;
            case 'c': out += parent; break;
            case 'x': out += section; break;
            case 'h': out += host; break;
            case 'v': out += cwd; break;
            case 'o': out += path; break;
            case '%': out += '%'; break;
            default: out += '%'; out += value[i];
        }
    }
    return out;
}

KeyValues read_ini(const std::string &spec) {
    auto [path, section] = split_ini_spec(spec);
    std::ifstream in(path);
    if (!in) throw ConfigError("cannot read ini file '" + path + "'");
    return parse_ini(in, path, section);
}

KeyValues parse_ini(std::istream &in, const std::string &path, const std::string &section) {
    KeyValues out;
    bool in_section = false, found = false;
    std::string line;
    while (std::getline(in, line)) {
        std::string t = trim(line);
        if (t.empty() || t[0] == ';' || t[0] == '#') continue;
        if (t.front() == '[' && t.back() == ']') {
            in_section = trim(t.substr(1, t.size() - 2)) == section;
            found = found || in_section;
            continue;
        }
        if (!in_section) continue;
        size_t eq = t.find('=');
        std::string key = trim(eq == std::string::npos ? t : t.substr(0, eq));
        std::string value = eq == std::string::npos ? "true" : trim(t.substr(eq + 1));
        out.emplace_back(key, expand_magic(value, path, section));
    }
    if (!found)
        throw ConfigError("ini file '" + path + "' has no [" + section + "] section");
    return out;
}

}  // namespace core
