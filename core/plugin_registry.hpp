// The installed plugins (discovered, entry function run only) and the active ones (hooks run).
#pragma once

#include "builtin_plugins.hpp"
#include "option_set.hpp"
#include "plugin_loader.hpp"

#include <map>
#include <string>
#include <vector>

namespace core {

class PluginRegistry {
public:
    // Loads the NAME_plugin.so files of each directory, in order. A file that fails its checks
    // is skipped with a warning; a name already known keeps the first one found.
    void discover(const std::vector<std::string> &dirs, OptionSet &options);
    // A plugin named by path: its failures are fatal (PluginError).
    const LoadedPlugin &add_file(const std::string &path, OptionSet &options);
    // The plugins linked into this binary (a {nullptr, nullptr}-terminated table, may be null).
    // Registered before discovery, so a NAME_plugin.so of the same name is then skipped.
    void add_builtins(const BuiltinPlugin *table, OptionSet &options);

    const LoadedPlugin *find(const std::string &name) const;
    const std::vector<LoadedPlugin> &installed() const { return installed_; }

    // Activates the named plugins and what they require, in dependency order.
    void activate(const std::vector<std::string> &names, const std::string &searched);
    const std::vector<const LoadedPlugin *> &active() const { return active_; }

    const uwsgi_plugin *handler_for(uint8_t modifier1) const { return handlers_[modifier1]; }
    const uwsgi_protocol *protocol_for_option(const std::string &option) const;
    const void *extension(const char *id) const;
    // Activates (with its requires) the installed, inactive plugin whose descriptor declares
    // `id` in `provides` (ABI 1.1); nullptr when none does.
    const LoadedPlugin *activate_provider(const std::string &id);

private:
    void add(LoadedPlugin p, OptionSet &options);
    void activate_one(const std::string &name, const std::string &searched,
                      std::vector<std::string> &visiting);
    std::vector<LoadedPlugin> installed_;
    std::vector<const LoadedPlugin *> active_;
    const uwsgi_plugin *handlers_[256] = {};
};

}  // namespace core
