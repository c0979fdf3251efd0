#include "option_set.hpp"
#include "plugin_registry.hpp"

#include <catch2/catch.hpp>

using namespace core;

static const uwsgi_option kOptions[] = {
    {"builtin-option", nullptr, UWSGI_OPT_FLAG, 0, nullptr, "an option of a built-in"},
    {nullptr, nullptr, 0, 0, nullptr, nullptr},
};
static uwsgi_plugin descriptor(const char *name, uint16_t abi_major) {
    uwsgi_plugin d{};
    d.magic = UWSGI_PLUGIN_MAGIC;
    d.abi_major = abi_major;
    d.struct_size = sizeof d;
    d.name = name;
    d.version = "1.0";
    d.options = kOptions;
    return d;
}
static const uwsgi_plugin g_good = descriptor("inside", UWSGI_ABI_MAJOR);
static const uwsgi_plugin g_bad_major = descriptor("future", UWSGI_ABI_MAJOR + 1);
static const uwsgi_plugin *good_entry() { return &g_good; }
static const uwsgi_plugin *bad_entry() { return &g_bad_major; }

TEST_CASE("built-in plugins are registered with their options before discovery") {
    const BuiltinPlugin table[] = {{"inside", good_entry}, {nullptr, nullptr}};
    PluginRegistry registry;
    OptionSet options;
    registry.add_builtins(table, options);
    REQUIRE(registry.find("inside"));
    CHECK(registry.find("inside")->path == "built-in inside");
    REQUIRE(options.find("builtin-option"));
    CHECK(options.find("builtin-option")->owner == "inside");
    registry.activate({"inside"}, "(nowhere)");
    CHECK(registry.active().size() == 1);
}

TEST_CASE("built-in plugins get the same descriptor checks as files") {
    const BuiltinPlugin table[] = {{"future", bad_entry}, {nullptr, nullptr}};
    PluginRegistry registry;
    OptionSet options;
    CHECK_THROWS_WITH(registry.add_builtins(table, options),
                      Catch::Contains("built-in future") && Catch::Contains("ABI 2.0"));
}
