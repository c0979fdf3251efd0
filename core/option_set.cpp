#include "option_set.hpp"

#include "ini_file.hpp"
#include "placeholders.hpp"
#include "plugin_loader.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

namespace po = boost::program_options;

namespace core {

static std::vector<std::string> aliases_of(const uwsgi_option &o) {
    std::vector<std::string> out;
    if (!o.aliases) return out;
    std::stringstream ss(o.aliases);
    std::string a;
    while (std::getline(ss, a, ','))
        if (!a.empty()) out.push_back(a);
    return out;
}

void OptionSet::add_table(const std::string &owner, const uwsgi_option *table) {
    std::vector<std::string> names;
    for (const uwsgi_option *o = table; o && o->name; ++o) {
        names.push_back(o->name);
        for (auto &a : aliases_of(*o)) names.push_back(a);
    }
    for (auto &n : names)
        if (auto it = by_name_.find(n); it != by_name_.end())
            throw PluginError(fmt::format("option --{} is claimed by both {} and {}", n,
                                          it->second.owner, owner));
    for (const uwsgi_option *o = table; o && o->name; ++o) {
        by_name_[o->name] = {owner, o};
        for (auto &a : aliases_of(*o)) by_name_[a] = {owner, o};
    }
    owners_.push_back(owner);
}

void OptionSet::remove_owner(const std::string &owner) {
    for (auto it = by_name_.begin(); it != by_name_.end();)
        it = it->second.owner == owner ? by_name_.erase(it) : std::next(it);
    owners_.erase(std::remove(owners_.begin(), owners_.end(), owner), owners_.end());
}

const OptionInfo *OptionSet::find(const std::string &name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
}

std::vector<const uwsgi_option *> OptionSet::options_of(const std::string &owner) const {
    std::vector<const uwsgi_option *> out;
    for (auto &[name, info] : by_name_)
        if (info.owner == owner && name == info.opt->name) out.push_back(info.opt);
    return out;
}

std::vector<std::string> split_list(const std::vector<std::string> &values) {
    std::vector<std::string> out;
    for (auto &v : values) {
        std::stringstream ss(v);
        std::string item;
        while (std::getline(ss, item, ','))
            if (!item.empty()) out.push_back(item);
    }
    return out;
}

// One program_options description holding every option and alias as a list of strings, so
// repeats are allowed (the last value wins for single-valued options, as in uWSGI).
static po::options_description describe(const OptionSet &options) {
    po::options_description desc;
    for (auto &owner : options.owners())
        for (const uwsgi_option *o : options.options_of(owner)) {
            std::vector<std::string> names{o->name};
            for (auto &a : aliases_of(*o)) names.push_back(a);
            for (auto &n : names) {
                if (n.size() == 1) continue;  // short aliases are attached below
                auto *sem = po::value<std::vector<std::string>>();  // owned by desc from here
                if (o->kind == UWSGI_OPT_FLAG)
                    sem->implicit_value(std::vector<std::string>{"true"}, "true");
                if (o->kind == UWSGI_OPT_OPTIONAL || o->kind == UWSGI_OPT_OPTIONAL_LIST)
                    sem->implicit_value(std::vector<std::string>{""}, "");
                std::string spec = n;
                for (auto &a : aliases_of(*o))
                    if (a.size() == 1 && n == o->name) spec += "," + a;
                desc.add_options()(spec.c_str(), sem, o->help ? o->help : "");
            }
        }
    desc.add_options()("positional-ini", po::value<std::vector<std::string>>());
    return desc;
}

static void add_value(Config &config, const OptionInfo &info, const std::string &value,
                      const std::string &origin) {
    const uwsgi_option &o = *info.opt;
    if (o.kind == UWSGI_OPT_LIST || o.kind == UWSGI_OPT_OPTIONAL_LIST)
        config.add(o.name, value, origin);
    else
        config.set(o.name, value, origin);
}

// Keys that name configuration files read where they stand: --ini, --inherit, and any option of
// kind UWSGI_OPT_CONFIG (e.g. the paste plugin's --pypy-ini-paste, whose value is kept too).
static bool is_config_file(const std::string &key, const OptionInfo *info) {
    return key == "ini" || key == "inherit" || key == "xml" || key == "yaml" || key == "yml" ||
           (info && info->opt->kind == UWSGI_OPT_CONFIG);
}

static std::string env_key(const std::string &var) {
    std::string name = var.substr(6);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return c == '_' ? '-' : static_cast<char>(std::tolower(c));
    });
    return name;
}

// Every source in uWSGI's order: UWSGI_* environment, then config files, then the rest of the
// command line (so the command line wins over files, which win over the environment).
// The name a command-line option keeps in the configuration (uwsgi.opt's keys): as typed for a
// long name; for a short one (-L, -w) its long name as uWSGI has it, which for a plugin's
// prefixed option (pypy-wsgi) is its first long alias (module), the CPython plugin's name.
static std::string typed_name(const OptionInfo &info, const std::string &long_name,
                              const std::vector<std::string> &tokens) {
    bool short_form = !tokens.empty() && tokens[0].size() >= 2 && tokens[0][0] == '-' &&
                      tokens[0][1] != '-';
    if (!short_form) return long_name;
    std::string name = info.opt->name;
    if (name.rfind(info.owner + "-", 0) == 0)
        for (auto &a : aliases_of(*info.opt))
            if (a.size() > 1) return a;
    return name;
}

static ConfigEntries collect(const OptionSet &options, const ParseInput &input,
                             const std::string &searched) {
    ConfigEntries entries;
    for (auto &kv : input.env) {
        if (kv.rfind("UWSGI_", 0) != 0) continue;
        size_t eq = kv.find('=');
        if (eq == std::string::npos) continue;
        std::string name = env_key(kv.substr(0, eq));
        // other UWSGI_* variables (the tests' UWSGI_BIN...) are not ours: only known options
        if (options.find(name))
            entries.push_back({name, kv.substr(eq + 1), "environment (" + kv.substr(0, eq) + ")"});
    }

    po::positional_options_description positional;
    positional.add("positional-ini", -1);
    po::parsed_options parsed(nullptr);
    try {
        parsed = po::command_line_parser(input.args)
                     .options(describe(options))
                     .positional(positional)
                     .style(po::command_line_style::default_style &
                            ~po::command_line_style::allow_guessing)
                     .run();
    } catch (const po::unknown_option &e) {
        throw ConfigError(fmt::format(
            "unknown option {}: no installed plugin owns it (searched: {}); check the spelling "
            "or install the plugin that provides it",
            e.get_option_name(), searched));
    } catch (const po::error &e) {
        throw ConfigError(e.what());
    }

    IniReader reader(entries, [&](const std::string &key) {
        return is_config_file(key, options.find(key));
    });
    for (auto &o : parsed.options) {
        if (o.string_key == "set") {  // a config line where it stands, as uWSGI's --set
            for (auto &v : o.value) {
                size_t eq = v.find('=');
                if (eq == std::string::npos || eq == 0)
                    throw ConfigError(fmt::format("--set {}: expected KEY=VALUE", v));
                entries.push_back({v.substr(0, eq), v.substr(eq + 1), "command line (--set)"});
            }
            continue;
        }
        const OptionInfo *info = options.find(o.string_key);
        bool positional_ini = o.string_key == "positional-ini";
        if (!positional_ini && !is_config_file(o.string_key, info)) continue;
        for (auto &v : o.value) {
            std::string path = split_ini_spec(v).first;
            std::string format = format_of(path);
            if (positional_ini && format == "ini" &&
                (path.size() < 4 || path.compare(path.size() - 4, 4, ".ini") != 0))
                throw ConfigError(fmt::format("unexpected argument '{}': only a config file "
                                              "(.ini, .xml, .yaml, .yml) may stand without an "
                                              "option", v));
            entries.push_back({positional_ini ? format : o.string_key, v, "command line"});
            reader.read(v, positional_ini ? "" : format_for_key(o.string_key));
        }
    }
    for (auto &o : parsed.options) {
        const OptionInfo *info = options.find(o.string_key);
        if (!info || is_config_file(o.string_key, info) || o.string_key == "set") continue;
        std::string key = typed_name(*info, o.string_key, o.original_tokens);
        if (o.value.empty()) entries.push_back({key, "true", "command line"});
        for (auto &v : o.value) entries.push_back({key, v, "command line"});
    }
    return entries;
}

Config parse_options(const OptionSet &options, const ParseInput &input,
                     const std::string &searched) {
    ConfigEntries entries = collect(options, input, searched);
    resolve_placeholders(entries);

    bool strict = false;
    for (auto &e : entries)
        if (e.key == "strict") strict = parse_bool(e.value);

    Config config;
    for (auto &e : entries) {
        config.add_entry(e.key, e.value);
        if (e.logic) continue;
        const OptionInfo *info = options.find(e.key);
        if (!info) {
            // uWSGI keeps unknown keys of a file silently (they are placeholders); say so
            std::string what = fmt::format(
                "{}: '{}' is not an option of this server or of its installed plugins",
                e.origin, e.key);
            if (strict)
                throw ConfigError(fmt::format("{} (searched: {}); --strict makes this fatal",
                                              what, searched));
            spdlog::warn("{}: ignored, kept as a %({}) placeholder; --strict makes this fatal",
                         what, e.key);
            continue;
        }
        if (e.key == "ini" || e.key == "inherit" || e.key == "xml" || e.key == "yaml" ||
            e.key == "yml")
            continue;
        add_value(config, *info, e.value, e.origin);
    }
    return config;
}

}  // namespace core
