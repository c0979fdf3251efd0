#include "plugin_registry.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <dirent.h>

namespace core {

void PluginRegistry::add(LoadedPlugin p, OptionSet &options) {
    if (const LoadedPlugin *other = find(p.desc->name))
        throw PluginError(fmt::format(
            "plugin {}: name '{}' is already taken by {}; remove one of the two files",
            p.path, p.desc->name, other->path));
    options.add_table(p.desc->name, p.desc->options);
    installed_.push_back(std::move(p));
}

const LoadedPlugin &PluginRegistry::add_file(const std::string &path, OptionSet &options) {
    add(load_plugin_file(path), options);
    return installed_.back();
}

void PluginRegistry::add_builtins(const BuiltinPlugin *table, OptionSet &options) {
    for (const BuiltinPlugin *b = table; b && b->name; ++b)
        add(load_builtin_plugin(b->name, b->entry), options);
}

void PluginRegistry::discover(const std::vector<std::string> &dirs, OptionSet &options) {
    const std::string suffix = "_plugin.so";
    for (auto &dir : dirs) {
        DIR *d = opendir(dir.c_str());
        if (!d) continue;
        std::vector<std::string> files;
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > suffix.size() &&
                n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
                files.push_back(n);
        }
        closedir(d);
        std::sort(files.begin(), files.end());
        for (auto &f : files) {
            std::string name = f.substr(0, f.size() - suffix.size());
            if (find(name)) continue;  // an earlier directory wins, like PATH
            try {
                add(load_plugin_file(dir + "/" + f), options);
            } catch (const PluginError &e) {
                spdlog::warn("skipping {}", e.what());
            }
        }
    }
}

const LoadedPlugin *PluginRegistry::find(const std::string &name) const {
    for (auto &p : installed_)
        if (name == p.desc->name) return &p;
    return nullptr;
}

void PluginRegistry::activate(const std::vector<std::string> &names, const std::string &searched) {
    std::vector<std::string> visiting;
    for (auto &n : names) activate_one(n, searched, visiting);
}

void PluginRegistry::activate_one(const std::string &name, const std::string &searched,
                                  std::vector<std::string> &visiting) {
    const LoadedPlugin *p = find(name);
    if (!p)
        throw PluginError(fmt::format("plugin '{}' is not installed (searched: {}); install it or "
                                      "add its directory with --plugin-dir",
                                      name, searched));
    if (std::find(active_.begin(), active_.end(), p) != active_.end()) return;
    if (std::find(visiting.begin(), visiting.end(), name) != visiting.end())
        throw PluginError(fmt::format("plugin '{}' requires itself through a cycle", name));
    visiting.push_back(name);
    if (p->desc->depends)
        for (auto &dep : split_list({p->desc->depends})) activate_one(dep, searched, visiting);
    visiting.pop_back();

    const uwsgi_plugin *d = p->desc;
    if (d->modifier1 >= 0 && d->modifier1 < 256 && d->request) {
        if (const uwsgi_plugin *other = handlers_[d->modifier1])
            throw PluginError(fmt::format(
                "plugins {} and {} both handle modifier1 {}; activate only one of them",
                other->name, d->name, d->modifier1));
        handlers_[d->modifier1] = d;
    }
    active_.push_back(p);
}

const uwsgi_protocol *PluginRegistry::protocol_for_option(const std::string &option) const {
    for (auto *p : active_)
        if (p->desc->protocol && p->desc->protocol->socket_option &&
            option == p->desc->protocol->socket_option)
            return p->desc->protocol;
    return nullptr;
}

const LoadedPlugin *PluginRegistry::activate_provider(const std::string &id) {
    for (auto &p : installed_) {
        if (p.desc->abi_minor < 1 || !p.desc->provides) continue;  // no such field before 1.1
        auto ids = split_list({p.desc->provides});
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
        if (std::find(active_.begin(), active_.end(), &p) != active_.end()) continue;
        std::vector<std::string> visiting;
        activate_one(p.desc->name, "the installed plugins", visiting);
        return &p;
    }
    return nullptr;
}

const void *PluginRegistry::extension(const char *id) const {
    for (auto *p : active_)
        if (p->desc->get_extension)
            if (const void *e = p->desc->get_extension(id)) return e;
    return nullptr;
}

}  // namespace core
