// Plugins linked into this binary (a profile build). The build generates the table for each
// binary from builtin_plugins.cpp.in; the core registers these before discovering files, so a
// built-in plugin needs no --plugin and no NAME_plugin.so, and wins over a file of the same name.
#pragma once

#include <uwsgi/plugin.h>

namespace core {

struct BuiltinPlugin {
    const char *name;
    uwsgi_plugin_entry_fn entry;  // uwsgi_plugin_entry_NAME (UWSGI_PLUGIN_EXPORT)
};

// Ends with {nullptr, nullptr}. Defined by the generated builtin_plugins.cpp of each binary.
extern const BuiltinPlugin kBuiltinPlugins[];

}  // namespace core
