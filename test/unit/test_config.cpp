#include "config.hpp"
#include "core_options.hpp"
#include "option_set.hpp"
#include "plugin_loader.hpp"
#include "settings.hpp"

#include <catch2/catch.hpp>

using namespace core;

static const uwsgi_option kPluginOptions[] = {
    {"pypy-home", nullptr, UWSGI_OPT_VALUE, 0, "DIR", "home"},
    {"pypy-pp", "pypy-python-path,pypy-pythonpath", UWSGI_OPT_LIST, 0, "DIR", "path"},
    {nullptr, nullptr, 0, 0, nullptr, nullptr},
};

static OptionSet options() {
    OptionSet s;
    s.add_table("core", kCoreOptions);
    s.add_table("pypy", kPluginOptions);
    return s;
}

static Config parse(std::vector<std::string> args, std::vector<std::string> env = {}) {
    return parse_options(options(), {std::move(args), std::move(env)}, "/nowhere");
}

TEST_CASE("flags are false only for false/off/no/0, as uWSGI reads them") {
    for (auto t : {"true", "on", "yes", "1", "TRUE", "Yes", "", "maybe", "2"}) CHECK(parse_bool(t));
    for (auto f : {"false", "off", "no", "0", "OFF", "No"}) CHECK_FALSE(parse_bool(f));
}

TEST_CASE("flags, values, short options and aliases") {
    Config c = parse({"--master", "-p", "4", "--threads=8", "--need-app=false", "--workers", "3"});
    CHECK(c.flag("master"));
    CHECK(c.number("processes", 1) == 3);  // the last value wins, through the alias
    CHECK(c.number("threads", 1) == 8);
    CHECK_FALSE(c.flag("need-app", true));
}

TEST_CASE("list options keep every value, aliases included") {
    Config c = parse({"--pypy-pp", "/a", "--pypy-python-path", "/b", "--pypy-pythonpath=/c"});
    CHECK(c.all("pypy-pp") == std::vector<std::string>{"/a", "/b", "/c"});
}

TEST_CASE("UWSGI_ environment variables set options, the command line overrides them") {
    Config c = parse({"--threads", "2"}, {"UWSGI_THREADS=9", "UWSGI_PYPY_HOME=/opt/pypy",
                                          "UWSGI_UNRELATED_THING=1", "PATH=/bin"});
    CHECK(c.number("threads", 1) == 2);
    CHECK(*c.get("pypy-home") == "/opt/pypy");
}

TEST_CASE("unknown options name the searched directories") {
    CHECK_THROWS_WITH(parse({"--no-such-option", "1"}),
                      Catch::Contains("--no-such-option") && Catch::Contains("/nowhere"));
}

TEST_CASE("options are not guessed from prefixes") {
    CHECK_THROWS(parse({"--pypy-h", "/x"}));
}

TEST_CASE("numbers are read by their leading digits; none is an error naming the option") {
    CHECK(parse({"--master=perhaps"}).flag("master"));
    Config c = parse({"--processes", "four", "--harakiri", "60 ; note", "--threads", "512M"});
    CHECK_THROWS_WITH(c.number("processes", 1),
                      Catch::Contains("--processes") && Catch::Contains("command line"));
    CHECK(c.number("harakiri", 0) == 60);
    CHECK(c.number("threads", 0) == 512);
}

TEST_CASE("numbers too big for the settings are refused, not wrapped") {
    // found by test/fuzz/fuzz_ini: socket-timeout * 1000 overflowed, processes wrapped in an int
    CHECK_THROWS_WITH(Settings::from(parse({"--socket-timeout", "99999999999999999"})),
                      Catch::Contains("--socket-timeout") && Catch::Contains("at most"));
    CHECK_THROWS_WITH(Settings::from(parse({"--processes", "4294967297"})),
                      Catch::Contains("--processes"));
    CHECK(Settings::from(parse({"--socket-timeout", "60", "--threads", "8"})).socket_timeout_ms ==
          60000);
}

TEST_CASE("an option claimed twice is refused with both owners") {
    OptionSet s = options();
    static const uwsgi_option dup[] = {{"pypy-python-path", nullptr, UWSGI_OPT_VALUE, 0, "", ""},
                                       {nullptr, nullptr, 0, 0, nullptr, nullptr}};
    CHECK_THROWS_WITH(s.add_table("other", dup),
                      Catch::Contains("pypy-python-path") && Catch::Contains("pypy") &&
                          Catch::Contains("other"));
}
