// Every loader rejection, each with a fixture plugin broken in exactly one way.
#include "option_set.hpp"
#include "plugin_loader.hpp"
#include "plugin_registry.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace core;
using Catch::Contains;

static std::string fixture(const std::string &name) {
    return std::string(FIXTURE_DIR) + "/" + name + "_plugin.so";
}

TEST_CASE("a valid plugin loads and describes itself") {
    LoadedPlugin p = load_plugin_file(fixture("good"));
    CHECK(std::string(p.desc->name) == "good");
    CHECK(p.desc->abi_major == UWSGI_ABI_MAJOR);
}

TEST_CASE("a file that cannot be loaded names the file and the reason") {
    CHECK_THROWS_WITH(load_plugin_file("/nonexistent/x_plugin.so"),
                      Contains("/nonexistent/x_plugin.so") && Contains("cannot be loaded"));
}

TEST_CASE("no entry symbol: not a plugin of ours") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("no_entry")),
                      Contains("no entry symbol") && Contains("uwsgi_plugin_entry"));
}

TEST_CASE("bad magic") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("bad_magic")),
                      Contains("bad magic") && Contains("0xdeadbeef"));
}

TEST_CASE("another ABI major names both versions and the fix") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("abi_major")),
                      Contains("built for plugin ABI 2.") && Contains("speaks ABI 1.1") &&
                          Contains("rebuild"));
}

TEST_CASE("a newer minor than the core") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("newer_minor")),
                      Contains("1.99") && Contains("newer") && Contains("upgrade"));
}

TEST_CASE("a descriptor too short for its minor") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("short_struct")),
                      Contains("16 bytes") && Contains("missing fields"));
}

TEST_CASE("a protocol plugin built for ABI 1.0 loads in this core") {
    LoadedPlugin p = load_plugin_file(fixture("abi10_protocol"));
    CHECK(p.desc->abi_minor == 0);
    CHECK(p.desc->struct_size == 136);
    REQUIRE(p.desc->protocol);
    CHECK(p.desc->protocol->struct_size == 104);
}

TEST_CASE("a protocol table too short for its minor") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("short_protocol")),
                      Contains("protocol table is 96 bytes but ABI 1.0 needs 104"));
}

TEST_CASE("the entry symbol is derived from the file name") {
    CHECK(entry_symbol_for_file("/usr/lib/uwsgi/plugins/http_plugin.so") ==
          "uwsgi_plugin_entry_http");
    CHECK(entry_symbol_for_file("rpcdemo_plugin.so") == "uwsgi_plugin_entry_rpcdemo");
}

TEST_CASE("a missing required field") {
    CHECK_THROWS_WITH(load_plugin_file(fixture("missing_name")),
                      Contains("required name field"));
}

TEST_CASE("a duplicate plugin name names both files") {
    OptionSet options;
    PluginRegistry registry;
    registry.add_file(fixture("dup_a"), options);
    CHECK_THROWS_WITH(registry.add_file(fixture("dup_b"), options),
                      Contains("dup_a_plugin.so") && Contains("dup_b_plugin.so") &&
                          Contains("'dupe'"));
}

TEST_CASE("an option claimed by two plugins names both") {
    OptionSet options;
    PluginRegistry registry;
    registry.add_file(fixture("clash_a"), options);
    CHECK_THROWS_WITH(registry.add_file(fixture("clash_b"), options),
                      Contains("--clash-option") && Contains("clash_a") && Contains("clash_b"));
    CHECK(registry.find("clash_b") == nullptr);  // the refused plugin is not half-registered
}

TEST_CASE("an upstream uWSGI plugin is rejected with a clear message, no crash") {
    const std::string upstream = "/usr/lib/uwsgi/plugins/python3_plugin.so";
    if (access(upstream.c_str(), R_OK) != 0) {
        WARN("Debian's uwsgi-plugin-python3 is not installed; skipping");
        return;
    }
    CHECK_THROWS_WITH(load_plugin_file(upstream),
                      Contains(upstream) && Contains("upstream uWSGI plugin"));
}

TEST_CASE("activating an unknown plugin names the searched directories") {
    PluginRegistry registry;
    CHECK_THROWS_WITH(registry.activate({"nope"}, "/dir/one, /dir/two"),
                      Contains("'nope'") && Contains("/dir/one, /dir/two"));
}
