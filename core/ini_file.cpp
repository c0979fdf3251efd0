#include "ini_file.hpp"

#include "config.hpp"
#include "config_formats.hpp"
#include "magic_vars.hpp"
#include "placeholders.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <glob.h>
#include <regex>
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

bool is_end_for(const std::string &key) { return key == "endfor" || key == "end-for"; }

bool is_loop(const std::string &key) {
    return key == "for" || key == "for-times" || key == "for-glob" || key == "for-readline";
}

// The items of uWSGI's loops: `for` splits on spaces, `for-times N` counts 1..N, `for-glob`
// expands a pattern (itself when nothing matches, as uWSGI's GLOB_NOCHECK), `for-readline`
// gives a file's lines.
std::vector<std::string> loop_items(const std::string &key, const std::string &arg) {
    std::vector<std::string> items;
    if (key == "for") {
        std::istringstream in(arg);
        for (std::string item; in >> item;) items.push_back(item);
    } else if (key == "for-times") {
        char *end = nullptr;
        long n = std::strtol(arg.c_str(), &end, 10);
        if (end == arg.c_str() || n < 0 || n > 100000)
            throw ConfigError(fmt::format("for-times = {}: give a whole number of turns", arg));
        for (long i = 1; i <= n; ++i) items.push_back(std::to_string(i));
    } else if (key == "for-glob") {
        glob_t g{};
        if (glob(arg.c_str(), GLOB_MARK | GLOB_NOCHECK, nullptr, &g) == 0)
            for (size_t i = 0; i < g.gl_pathc; ++i) items.emplace_back(g.gl_pathv[i]);
        globfree(&g);
    } else {
        std::ifstream in(arg);
        if (!in) throw ConfigError(fmt::format("for-readline = {}: cannot read the file", arg));
        for (std::string line; std::getline(in, line);) items.push_back(line);
    }
    return items;
}

std::string host_name() {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    return host;
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
    } else if (what == "dir" || what == "directory") {
        holds = stat_is(arg, S_IFDIR);
    } else if (what == "hostname") {
        holds = host_name() == arg;
    } else if (what == "hostname-match") {
        try {
            holds = std::regex_search(host_name(), std::regex(arg));
        } catch (const std::regex_error &e) {
            throw ConfigError(fmt::format("{} = {}: not a regular expression ({})", key, arg,
                                          e.what()));
        }
    } else if (what == "reload") {
        // started by a reload: this image inherited the listening sockets
        holds = getenv("UWSGI_INHERITED_SOCKETS") != nullptr;
    } else {
        throw ConfigError(fmt::format("unknown condition '{}' (known: if-env, if-opt, "
                                      "if-exists, if-file, if-dir, if-hostname, "
                                      "if-hostname-match, if-reload and their if-not-*)",
                                      key));
    }
    return holds != negate;
}

void IniReader::collect(const std::string &key, const std::string &value,
                        const std::string &where, const std::string &path,
                        std::vector<Block> &blocks) {
    Block &loop = blocks.back();
    // uWSGI's end/endif close a loop too; only the loop's own end finishes it
    bool closes = is_end_for(key) || is_end(key);
    if (!closes || loop.depth > 0) {
        if (is_loop(key) || key.rfind("if-", 0) == 0) ++loop.depth;
        if (closes) --loop.depth;
        loop.body.push_back({key, value, where});
        return;
    }
    Block done = std::move(loop);
    blocks.pop_back();
    if (blocks.empty() || blocks.back().active) export_logic(key, value, where);
    if (!done.active) return;
    for (auto &item : done.items)
        for (auto &l : done.body)
            apply(l.key, replace_all(l.value, "%(_)", item), l.where, path, blocks);
}

void IniReader::apply(const std::string &key, std::string value, const std::string &where,
                      const std::string &path, std::vector<Block> &blocks) {
    if (!blocks.empty() && blocks.back().is_loop) return collect(key, value, where, path, blocks);
    bool active = blocks.empty() || blocks.back().active;

    bool loop = is_loop(key);
    if (loop || key.rfind("if-", 0) == 0) {
        if (active) export_logic(key, value, where);
        std::string data;
        bool holds = false;
        Block block;
        block.origin = fmt::format("{} ({} = {})", where, key, value);
        if (active) {
            std::string arg = resolve_value(value, out_, where, key);
            try {
                if (loop)
                    block.items = loop_items(key, arg);
                else
                    holds = condition(key, arg, data);
            } catch (const ConfigError &e) {
                throw ConfigError(fmt::format("{}: {}", where, e.what()));
            }
        }
        block.active = active && (loop || holds);
        block.data = data;
        block.is_loop = loop;
        blocks.push_back(std::move(block));
        return;
    }
    if (is_end_for(key))
        throw ConfigError(fmt::format("{}: '{}' without a for before it", where, key));
    if (key == "else") {
        if (blocks.empty()) throw ConfigError(fmt::format("{}: 'else' without an if-*", where));
        bool outer = blocks.size() < 2 || blocks[blocks.size() - 2].active;
        if (outer) export_logic(key, value, where);
        blocks.back().active = outer && !blocks.back().active;
        return;
    }
    if (is_end(key)) {
        if (blocks.empty())
            throw ConfigError(fmt::format("{}: '{}' without an if-* before it", where, key));
        blocks.pop_back();
        if (blocks.empty() || blocks.back().active) export_logic(key, value, where);
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
        throw ConfigError(fmt::format("{}: no {} before the end of the section",
                                      blocks.back().origin,
                                      blocks.back().is_loop ? "endfor" : "endif"));
    reading_.pop_back();
}

// The key = value settings read, without the logic keys exported for uwsgi.opt.
static KeyValues settings_of(const ConfigEntries &entries) {
    KeyValues out;
    for (auto &e : entries)
        if (!e.logic) out.emplace_back(e.key, e.value);
    return out;
}

KeyValues read_ini(const std::string &spec) {
    ConfigEntries entries;
    IniReader(entries, [](const std::string &k) {
        return k == "inherit" || !format_for_key(k).empty();
    }).read(spec);
    return settings_of(entries);
}

KeyValues parse_ini(std::istream &in, const std::string &path, const std::string &section) {
    ConfigEntries entries;
    IniReader(entries, nullptr).read(in, path, section, "ini");
    return settings_of(entries);
}

}  // namespace core
