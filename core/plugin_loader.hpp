// Loads one plugin file and checks its descriptor in layers, so every rejection says what is
// wrong, names the file and both versions, and says how to fix it.
#pragma once

#include <uwsgi/plugin.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace core {

struct PluginError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct LoadedPlugin {
    std::string path;
    const uwsgi_plugin *desc = nullptr;
    void *handle = nullptr;  // never closed: plugins are never unloaded
};

// Throws PluginError with the layered diagnosis.
LoadedPlugin load_plugin_file(const std::string &path);

// A plugin linked into this binary: the same descriptor checks; its path is "built-in NAME".
LoadedPlugin load_builtin_plugin(const char *name, uwsgi_plugin_entry_fn entry);

// The ABI 1.1 entry symbol of a plugin file: DIR/NAME_plugin.so -> uwsgi_plugin_entry_NAME.
std::string entry_symbol_for_file(const std::string &path);

// The bytes ABI 1.MINOR requires of a descriptor and of a protocol table (minor <= ours).
size_t descriptor_size_for_minor(unsigned minor);
size_t protocol_size_for_minor(unsigned minor);

// Finds a symbol in a loaded image; nullptr when absent.
void *find_symbol(void *handle, const std::string &name);

}  // namespace core
