#include "plugin_loader.hpp"

#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>

#include <cstddef>
#include <dlfcn.h>
#include <iterator>
#include <string_view>
#include <memory>
#include <vector>

namespace core {

// The size each ABI 1.x minor requires of a table, index = minor: the end of the last field that
// minor defines. A plugin's tables are checked against the minor it claims, never against
// today's sizeof, so appending a field in 1.N keeps every 1.0..1.N-1 plugin loading.
static constexpr size_t kDescriptorSizeForMinor[] = {
    offsetof(uwsgi_plugin, get_extension) + sizeof(void *),  // 1.0
    offsetof(uwsgi_plugin, mule_msg) + sizeof(void *),       // 1.1
};
static constexpr size_t kProtocolSizeForMinor[] = {
    offsetof(uwsgi_protocol, sendfile) + sizeof(void *),  // 1.0
    offsetof(uwsgi_protocol, sendfile) + sizeof(void *),  // 1.1: no new protocol field
};
static_assert(std::size(kDescriptorSizeForMinor) == UWSGI_ABI_MINOR + 1 &&
                  std::size(kProtocolSizeForMinor) == UWSGI_ABI_MINOR + 1,
              "a new minor needs its row in every size table");
static_assert(kDescriptorSizeForMinor[UWSGI_ABI_MINOR] == sizeof(uwsgi_plugin) &&
                  kProtocolSizeForMinor[UWSGI_ABI_MINOR] == sizeof(uwsgi_protocol),
              "the current minor's row must cover every field of plugin.h");

size_t descriptor_size_for_minor(unsigned minor) { return kDescriptorSizeForMinor[minor]; }
size_t protocol_size_for_minor(unsigned minor) { return kProtocolSizeForMinor[minor]; }

// Boost.DLL clears dlerror(), which holds the one useful reason ("undefined symbol: ...");
// ask the dynamic linker again to get it.
static std::string dlopen_reason(const std::string &path, const std::string &fallback) {
    void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
        dlclose(h);
        return fallback;
    }
    const char *e = dlerror();
    return e ? e : fallback;
}

static std::vector<std::unique_ptr<boost::dll::shared_library>> &libraries() {
    static std::vector<std::unique_ptr<boost::dll::shared_library>> libs;  // kept for ever
    return libs;
}

void *find_symbol(void *handle, const std::string &name) {
    for (auto &lib : libraries())
        if (lib->native() == handle && lib->has(name)) return &lib->get<char>(name);
    return nullptr;
}

// The layered checks of a descriptor, for a file or a built-in; `path` names it in messages.
static void check_descriptor(const std::string &path, const uwsgi_plugin *d) {
    if (!d) throw PluginError(fmt::format("plugin {}: its entry function returned no descriptor", path));
    if (d->magic != UWSGI_PLUGIN_MAGIC)
        throw PluginError(fmt::format(
            "plugin {}: bad magic number 0x{:08x} (expected 0x{:08x}): the file is not a uwsgi "
            "plugin descriptor or is corrupt; rebuild it with UWSGI_PLUGIN_HEADER",
            path, d->magic, UWSGI_PLUGIN_MAGIC));
    if (d->abi_major != UWSGI_ABI_MAJOR)
        throw PluginError(fmt::format(
            "plugin {}: built for plugin ABI {}.{}, this server speaks ABI {}.{}; rebuild the "
            "plugin against this server's headers (uwsgi --build-plugin or uwsgiconfig)",
            path, d->abi_major, d->abi_minor, UWSGI_ABI_MAJOR, UWSGI_ABI_MINOR));
    if (d->abi_minor > UWSGI_ABI_MINOR)
        throw PluginError(fmt::format(
            "plugin {}: needs plugin ABI {}.{}, newer than this server's {}.{}; upgrade the server "
            "or use a plugin built for ABI {}.{}",
            path, d->abi_major, d->abi_minor, UWSGI_ABI_MAJOR, UWSGI_ABI_MINOR, UWSGI_ABI_MAJOR,
            UWSGI_ABI_MINOR));
    size_t need = kDescriptorSizeForMinor[d->abi_minor];
    if (d->struct_size < need)
        throw PluginError(fmt::format(
            "plugin {}: descriptor is {} bytes but ABI {}.{} needs {}: missing fields; rebuild it "
            "with UWSGI_PLUGIN_HEADER",
            path, d->struct_size, d->abi_major, d->abi_minor, need));
    if (!d->name || !*d->name || !d->version)
        throw PluginError(fmt::format("plugin {}: descriptor lacks its required {} field", path,
                                      (!d->name || !*d->name) ? "name" : "version"));
    size_t protocol_need = kProtocolSizeForMinor[d->abi_minor];
    if (d->protocol && d->protocol->struct_size < protocol_need)
        throw PluginError(fmt::format(
            "plugin {}: protocol table is {} bytes but ABI {}.{} needs {}: missing fields; set "
            "its struct_size to sizeof(uwsgi_protocol) and rebuild it",
            path, d->protocol->struct_size, d->abi_major, d->abi_minor, protocol_need));
}

std::string entry_symbol_for_file(const std::string &path) {
    std::string name = path.substr(path.find_last_of('/') + 1);  // npos + 1 == 0
    for (std::string_view suffix : {"_plugin.so", ".so"})
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            name.resize(name.size() - suffix.size());
            break;
        }
    return std::string(UWSGI_PLUGIN_ENTRY_SYMBOL) + "_" + name;
}

LoadedPlugin load_plugin_file(const std::string &path) {
    namespace dll = boost::dll;
    auto lib = std::make_unique<dll::shared_library>();
    std::error_code ec;
    lib->load(path, dll::load_mode::rtld_now | dll::load_mode::rtld_local, ec);
    if (ec) {
        std::string why = dlopen_reason(path, ec.message());
        std::string hint = why.find("undefined symbol: uwsgi") != std::string::npos
                               ? " It looks like an upstream uWSGI plugin: those link against the "
                                 "upstream uwsgi binary and cannot be loaded here; use this "
                                 "project's plugin of the same name."
                               : " Check that the file exists and was built for this machine.";
        throw PluginError(fmt::format("plugin {}: cannot be loaded: {}.{}", path, why, hint));
    }
    std::string named = entry_symbol_for_file(path);
    std::string symbol = lib->has(named) ? named : UWSGI_PLUGIN_ENTRY_SYMBOL;  // 1.0: fixed name
    if (!lib->has(symbol))
        throw PluginError(fmt::format(
            "plugin {}: no entry symbol '{}' (or the ABI 1.0 '{}'): not a plugin for this server "
            "(upstream uWSGI plugins export NAME_plugin instead). Build it against "
            "plugin-api/uwsgi/plugin.h with UWSGI_PLUGIN_EXPORT(NAME, descriptor).",
            path, named, UWSGI_PLUGIN_ENTRY_SYMBOL));
    auto entry = lib->get<const uwsgi_plugin *()>(symbol);
    const uwsgi_plugin *d = entry();
    check_descriptor(path, d);
    LoadedPlugin out{path, d, lib->native()};
    libraries().push_back(std::move(lib));
    return out;
}

LoadedPlugin load_builtin_plugin(const char *name, uwsgi_plugin_entry_fn entry) {
    std::string label = fmt::format("built-in {}", name);
    const uwsgi_plugin *d = entry();
    check_descriptor(label, d);
    return LoadedPlugin{label, d, nullptr};
}

}  // namespace core
