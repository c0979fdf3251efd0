#include "ini_file.hpp"

#include "config.hpp"
#include "config_formats.hpp"
#include "magic_vars.hpp"
#include "placeholders.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace core {
namespace {

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::string replace_all(std::string s, const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

bool is_end(const std::string &key) {
    return key == "endif" || key == "end-if" || key == "end";
}

bool stat_is(const std::string &path, mode_t type) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type;
}

}  // namespace

std::pair<std::string, std::string> split_ini_spec(const std::string &spec) {
    size_t slash = spec.rfind('/');
    size_t colon = spec.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
        return {spec.substr(0, colon), spec.substr(colon + 1)};
    return {spec, ""};
}

IniReader::IniReader(ConfigEntries &out, std::function<bool(const std::string &)> is_include)
    : out_(out), is_include_(std::move(is_include)) {}

std::string format_of(const std::string &path) {
    auto ends = [&](const char *ext) {
        size_t n = strlen(ext);
        return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
    };
    return ends(".xml") ? "xml" : ends(".yaml") || ends(".yml") ? "yaml" : "ini";
}

std::string format_for_key(const std::string &key) {
    if (key == "xml") return "xml";
    if (key == "yaml" || key == "yml") return "yaml";
    return key == "ini" ? "ini" : "";
}

void IniReader::read(const std::string &spec, const std::string &format) {
    auto [path, section] = split_ini_spec(spec);
    if (path.empty()) {  // ":section": another section of the file being read
        if (last_file_.empty())
            throw ConfigError(fmt::format("ini '{}': a bare :section needs a file being read", spec));
        path = last_file_;
    }
    std::ifstream in(path);
    if (!in) throw ConfigError(fmt::format("cannot read config file '{}'", path));
    read(in, path, section, format);
}

// uWSGI's logic options: the condition and what %(_) means inside the block.
bool IniReader::condition(const std::string &key, const std::string &arg,
                          std::string &data) const {
    bool negate = key.rfind("if-not-", 0) == 0;
    std::string what = negate ? key.substr(7) : key.substr(3);
    bool holds = false;
    data = arg;
    if (what == "env" || what == "opt") {
        size_t eq = arg.find('=');
        std::string name = arg.substr(0, eq);
        const std::string *found = nullptr;
        std::string env_value;
        if (what == "env") {
            if (const char *v = getenv(name.c_str())) found = &(env_value = v);
        } else {
            for (auto &e : out_)
                if (e.key == name) {
                    found = &e.value;
                    break;
                }
        }
        holds = found && (eq == std::string::npos || *found == arg.substr(eq + 1));
        if (found) data = *found;
    } else if (what == "exists") {
        holds = access(arg.c_str(), F_OK) == 0;
    } else if (what == "file") {
        holds = stat_is(arg, S_IFREG);
    } else if (what == "dir") {
        holds = stat_is(arg, S_IFDIR);
    } else {
        throw ConfigError(fmt::format("unknown condition '{}' (known: if-env, if-not-env, "
                                      "if-opt, if-not-opt, if-exists, if-not-exists, if-file, "
                                      "if-not-file, if-dir, if-not-dir)",
                                      key));
    }
    return holds != negate;
}

void IniReader::apply(const std::string &key, std::string value, const std::string &where,
                      const std::string &path, std::vector<Block> &blocks) {
    bool active = blocks.empty() || blocks.back().active;

    if (key.rfind("if-", 0) == 0) {
        std::string data;
        bool holds = false;
        if (active) {
            std::string arg = resolve_value(value, out_, where, key);
            try {
                holds = condition(key, arg, data);
            } catch (const ConfigError &e) {
                throw ConfigError(fmt::format("{}: {}", where, e.what()));
            }
        }
        blocks.push_back({active && holds, data, fmt::format("{} ({} = {})", where, key, value)});
        return;
    }
    if (key == "else") {
        if (blocks.empty()) throw ConfigError(fmt::format("{}: 'else' without an if-*", where));
        bool outer = blocks.size() < 2 || blocks[blocks.size() - 2].active;
        blocks.back().active = outer && !blocks.back().active;
        return;
    }
    if (is_end(key)) {
        if (blocks.empty())
            throw ConfigError(fmt::format("{}: '{}' without an if-* before it", where, key));
        blocks.pop_back();
        return;
    }
    if (!active) return;

    // %(_): the condition's value inside a block, else the file being read
    value = replace_all(value, "%(_)", blocks.empty() ? path : blocks.back().data);
    out_.push_back({key, value, where, true});
    if (is_include_ && is_include_(key)) {
        std::string spec = resolve_value(value, out_, where, key);
        try {
            read(spec, format_for_key(key));
        } catch (const ConfigError &e) {
            throw ConfigError(fmt::format("{}: {} = {}: {}", where, key, value, e.what()));
        }
        last_file_ = path;
    }
}

std::vector<SectionLine> parse_ini_section(const std::string &text, const std::string &path,
                                           const std::string &section) {
    std::vector<SectionLine> out;
    std::istringstream in(text);
    bool in_section = false, found = false;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::string t = trim(line);
        if (t.empty() || t[0] == ';' || t[0] == '#') continue;
        if (t.front() == '[') {
            size_t close = t.find(']');
            in_section = trim(t.substr(1, close == std::string::npos ? std::string::npos
                                                                     : close - 1)) == section;
            found = found || in_section;
            continue;
        }
        if (!in_section) continue;
        size_t eq = t.find('=');
        // a key without '=' is a flag (uWSGI gives it an empty value, which flags read as true)
        out.push_back({trim(t.substr(0, eq)),
                       eq == std::string::npos ? "true" : trim(t.substr(eq + 1)), number});
    }
    if (!found) throw ConfigError(fmt::format("ini file '{}' has no [{}] section", path, section));
    return out;
}

void IniReader::read(std::istream &in, const std::string &path, const std::string &asked,
                     const std::string &format) {
    std::string id = path + ":" + asked;
    for (auto &r : reading_)
        if (r == id) {
            std::string chain;
            for (auto &x : reading_) chain += x + " -> ";
            throw ConfigError(fmt::format("include loop: {}{}", chain, id));
        }
    reading_.push_back(id);
    last_file_ = path;
    MagicVars magic;
    magic.enter_file(path, asked);  // %x: the section, only when one was given (as uWSGI)
    std::ostringstream text;
    text << in.rdbuf();
    std::string kind = format.empty() ? format_of(path) : format;
    // no section given: [uwsgi] / <uwsgi> / uwsgi:
    std::vector<SectionLine> lines =
        kind == "xml"    ? parse_xml_section(magic.substitute(text.str()), path, asked)
        : kind == "yaml" ? parse_yaml_section(magic.substitute(text.str()), path,
                                              asked.empty() ? "uwsgi" : asked)
                         : parse_ini_section(magic.substitute(text.str()), path,
                                             asked.empty() ? "uwsgi" : asked);
    std::vector<Block> blocks;
    for (auto &l : lines) apply(l.key, l.value, fmt::format("{}:{}", path, l.line), path, blocks);
    if (!blocks.empty())
        throw ConfigError(fmt::format("{}: no endif before the end of the section",
                                      blocks.back().origin));
    reading_.pop_back();
}

KeyValues read_ini(const std::string &spec) {
    ConfigEntries entries;
    IniReader(entries, [](const std::string &k) {
        return k == "inherit" || !format_for_key(k).empty();
    }).read(spec);
    KeyValues out;
    for (auto &e : entries) out.emplace_back(e.key, e.value);
    return out;
}

KeyValues parse_ini(std::istream &in, const std::string &path, const std::string &section) {
    ConfigEntries entries;
    IniReader(entries, nullptr).read(in, path, section, "ini");
    KeyValues out;
    for (auto &e : entries) out.emplace_back(e.key, e.value);
    return out;
}

}  // namespace core
