#include "info_commands.hpp"

#include "plugin_loader.hpp"
#include "runtime.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <dlfcn.h>

namespace core {

static std::string option_names(const uwsgi_option &o) {
    std::string s = fmt::format("--{}", o.name);
    if (o.aliases) {
        std::string a = o.aliases;
        size_t start = 0;
        while (start <= a.size()) {
            size_t comma = a.find(',', start);
            std::string one = a.substr(start, comma - start);
            if (!one.empty()) s += one.size() == 1 ? ", -" + one : ", --" + one;
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    if (o.metavar)
        s += o.kind == UWSGI_OPT_OPTIONAL || o.kind == UWSGI_OPT_OPTIONAL_LIST ? " [" + std::string(o.metavar) + "]"
                                          : " " + std::string(o.metavar);
    return s;
}

static void print_group(const std::string &title, const std::string &owner) {
    fmt::print("\n{}:\n", title);
    for (const uwsgi_option *o : runtime().options.options_of(owner))
        fmt::print("  {:<44} {}\n", option_names(*o), o->help ? o->help : "");
}

int print_help() {
    fmt::print("Usage: uwsgi [OPTIONS] [FILE.ini]\n"
               "Options may also come from --ini files and UWSGI_<OPTION> environment "
               "variables.\n");
    print_group("core options", "core");
    for (auto &p : runtime().registry.installed())
        print_group(fmt::format("{} plugin ({})", p.desc->name, p.path), p.desc->name);
    return 0;
}

int print_version() {
    fmt::print("{}\n", UWSGI_VERSION);
    return 0;
}

static void describe_plugin(const LoadedPlugin &p) {
    const uwsgi_plugin *d = p.desc;
    fmt::print("{} {} (ABI {}.{}) {}\n", d->name, d->version, d->abi_major, d->abi_minor, p.path);
    if (d->description) fmt::print("    {}\n", d->description);
    std::string opts;
    for (const uwsgi_option *o = d->options; o && o->name; ++o)
        opts += (opts.empty() ? "--" : ", --") + std::string(o->name);
    fmt::print("    options: {}\n", opts.empty() ? "(none)" : opts);
}

int list_plugins() {
    for (auto &p : runtime().registry.installed()) describe_plugin(p);
    return 0;
}

int check_plugin(const std::string &path) {
    try {
        LoadedPlugin p = load_plugin_file(path);
        OptionSet probe;  // its option table must be well-formed on its own
        probe.add_table(p.desc->name, p.desc->options);
        fmt::print("ok: ");
        describe_plugin(p);
        return 0;
    } catch (const PluginError &e) {
        fmt::print(stderr, "{}\n", e.what());
        return 1;
    }
}

int print_symbol(const std::string &name) {
    auto lookup = [&](const std::string &sym) -> const char * {
        if (void *p = dlsym(RTLD_DEFAULT, sym.c_str())) return static_cast<const char *>(p);
        for (auto &pl : runtime().registry.installed())
            if (void *p = find_symbol(pl.handle, sym)) return static_cast<const char *>(p);
        return nullptr;
    };
    const char *start = lookup(name + "_start"), *end = lookup(name + "_end");
    if (start && end && end >= start) {
        fwrite(start, 1, size_t(end - start), stdout);
        return 0;
    }
    if (const char *s = lookup(name)) {
        fwrite(s, 1, strlen(s), stdout);
        return 0;
    }
    fmt::print(stderr, "symbol '{}' not found in the binary or any installed plugin\n", name);
    return 1;
}

}  // namespace core
