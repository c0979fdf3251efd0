#include "option_set.hpp"

#include "ini_file.hpp"
#include "plugin_loader.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

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
                std::string spec = n;
                for (auto &a : aliases_of(*o))
                    if (a.size() == 1 && n == o->name) spec += "," + a;
                desc.add_options()(spec.c_str(), sem, o->help ? o->help : "");
            }
        }
    desc.add_options()("positional-ini", po::value<std::vector<std::string>>());
    return desc;
}

static void add_value(Config &config, const OptionInfo &info, const std::string &value) {
    const uwsgi_option &o = *info.opt;
    if (o.kind == UWSGI_OPT_FLAG) parse_bool(o.name, value);  // reject bad booleans now
    if (o.kind == UWSGI_OPT_LIST)
        config.add(o.name, value);
    else
        config.set(o.name, value);
}

static void add_ini(Config &config, const OptionSet &options, const std::string &spec,
                    const std::string &searched);

// Options that name configuration files: --ini, and any option of kind UWSGI_OPT_CONFIG (e.g.
// the paste plugin's --pypy-ini-paste), whose value is kept too.
static bool is_config_file(const OptionInfo &info) {
    return info.opt->kind == UWSGI_OPT_CONFIG || std::string(info.opt->name) == "ini";
}

static void add_option(Config &config, const OptionSet &options, const OptionInfo &info,
                       const std::string &value, const std::string &searched) {
    if (is_config_file(info)) add_ini(config, options, value, searched);
    if (std::string(info.opt->name) != "ini") add_value(config, info, value);
}

static void add_ini(Config &config, const OptionSet &options, const std::string &spec,
                    const std::string &searched) {
    // "ini = %p" (or a cycle through other files) would recurse until the stack overflows.
    static int depth = 0;
    constexpr int kMaxDepth = 16;
    if (depth == kMaxDepth)
        throw ConfigError(fmt::format("ini file '{}': ini files nest deeper than {}; does one "
                                      "include itself?", spec, kMaxDepth));
    struct Nest {
        Nest() { ++depth; }
        ~Nest() { --depth; }
    } nest;
    for (auto &[key, value] : read_ini(spec)) {
        const OptionInfo *info = options.find(key);
        if (!info)
            throw ConfigError(fmt::format(
                "unknown option '{}' in {}: no installed plugin owns it (searched: {})", key,
                spec, searched));
        add_option(config, options, *info, value, searched);
    }
}

Config parse_options(const OptionSet &options, const ParseInput &input,
                     const std::string &searched) {
    Config config;
    for (auto &kv : input.env) {
        if (kv.rfind("UWSGI_", 0) != 0) continue;
        size_t eq = kv.find('=');
        std::string name = kv.substr(6, eq - 6);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
            return c == '_' ? '-' : static_cast<char>(std::tolower(c));
        });
        if (const OptionInfo *info = options.find(name)) add_value(config, *info, kv.substr(eq + 1));
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

    // Config files first, so the rest of the command line overrides them.
    for (auto &o : parsed.options) {
        if (o.string_key == "positional-ini") {
            for (auto &v : o.value) {
                if (v.size() < 4 || v.compare(v.size() - 4, 4, ".ini") != 0)
                    throw ConfigError(fmt::format("unexpected argument '{}': only a FILE.ini may "
                                                  "stand without an option", v));
                add_ini(config, options, v, searched);
            }
            continue;
        }
        const OptionInfo *info = options.find(o.string_key);
        if (info && is_config_file(*info))
            for (auto &v : o.value) add_option(config, options, *info, v, searched);
    }
    for (auto &o : parsed.options) {
        const OptionInfo *info = options.find(o.string_key);
        if (!info || is_config_file(*info)) continue;
        if (o.value.empty()) add_value(config, *info, "true");
        for (auto &v : o.value) add_value(config, *info, v);
    }
    return config;
}

}  // namespace core
