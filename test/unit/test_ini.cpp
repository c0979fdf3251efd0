#include "config.hpp"
#include "core_options.hpp"
#include "ini_file.hpp"
#include "option_set.hpp"

#include <catch2/catch.hpp>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace core;

namespace {
struct TempIni {
    std::string dir, path;
    explicit TempIni(const std::string &text) {
        char tmpl[] = "/tmp/uwsgi-ini-XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/site.ini";
        std::ofstream(path) << text;
    }
    ~TempIni() {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
};
}  // namespace

TEST_CASE("ini sections, comments and repeated keys") {
    TempIni ini("; comment\n# another\n[other]\nthreads = 99\n[uwsgi]\nthreads = 4\n"
                "socket = :1\nsocket = :2\nmaster\n");
    KeyValues kv = read_ini(ini.path);
    REQUIRE(kv.size() == 4);
    CHECK(kv[0] == std::make_pair(std::string("threads"), std::string("4")));
    CHECK(kv[2].second == ":2");
    CHECK(kv[3] == std::make_pair(std::string("master"), std::string("true")));
    CHECK(read_ini(ini.path + ":other")[0].second == "99");
}

TEST_CASE("a missing section or file is a clear error") {
    TempIni ini("[uwsgi]\nthreads = 1\n");
    CHECK_THROWS_WITH(read_ini(ini.path + ":nope"), Catch::Contains("[nope]"));
    CHECK_THROWS_WITH(read_ini("/no/such/file.ini"), Catch::Contains("/no/such/file.ini"));
}

TEST_CASE("magic variables expand against the config file") {
    TempIni ini("[uwsgi]\n");
    char real[PATH_MAX];
    std::string dir = std::string(realpath(ini.dir.c_str(), real)) + "/";
    CHECK(expand_magic("%d", ini.path, "uwsgi") == dir);
    CHECK(expand_magic("%p", ini.path, "uwsgi") == dir + "site.ini");
    CHECK(expand_magic("%s", ini.path, "uwsgi") == "site.ini");
    CHECK(expand_magic("%n", ini.path, "uwsgi") == "site");
    CHECK(expand_magic("%e", ini.path, "uwsgi") == "ini");
    CHECK(expand_magic("%c", ini.path, "uwsgi") == ini.dir.substr(5));
    CHECK(expand_magic("%x", ini.path, "app") == "app");
    CHECK(expand_magic("100%%", ini.path, "uwsgi") == "100%");
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    CHECK(expand_magic("%h", ini.path, "uwsgi") == host);
    char cwd[PATH_MAX];
    CHECK(expand_magic("%v", ini.path, "uwsgi") == getcwd(cwd, sizeof cwd));
}

TEST_CASE("ini files feed the option parser; the command line wins") {
    TempIni ini("[uwsgi]\nthreads = 4\nprocesses = 2\nsocket = %dapp.sock\n");
    OptionSet s;
    s.add_table("core", kCoreOptions);
    Config c = parse_options(s, {{ini.path, "--threads", "8"}, {}}, "");
    CHECK(c.number("threads", 1) == 8);
    CHECK(c.number("processes", 1) == 2);
    char real[PATH_MAX];
    CHECK(*c.get("socket") == std::string(realpath(ini.dir.c_str(), real)) + "/app.sock");
    Config c2 = parse_options(s, {{"--ini", ini.path}, {}}, "");
    CHECK(c2.number("processes", 1) == 2);
}

TEST_CASE("unknown keys in an ini file are errors naming the file") {
    TempIni ini("[uwsgi]\nno-such-key = 1\n");
    OptionSet s;
    s.add_table("core", kCoreOptions);
    CHECK_THROWS_WITH(parse_options(s, {{"--ini", ini.path}, {}}, ""),
                      Catch::Contains("no-such-key") && Catch::Contains(ini.path));
}

TEST_CASE("an ini file that includes itself is an error, not a stack overflow") {
    TempIni ini("[uwsgi]\nthreads = 2\nini = %p\n");
    OptionSet s;
    s.add_table("core", kCoreOptions);
    CHECK_THROWS_WITH(parse_options(s, {{"--ini", ini.path}, {}}, ""),
                      Catch::Contains("include itself"));
    // and the limit is per parse: a later parse starts from depth 0 again
    TempIni ok("[uwsgi]\nthreads = 3\n");
    CHECK(parse_options(s, {{"--ini", ok.path}, {}}, "").number("threads", 1) == 3);
}

TEST_CASE("ini text parses without a file") {
    std::istringstream in("[other]\na = 1\n[uwsgi]\nb = %n\nflag\n");
    auto kv = parse_ini(in, "/etc/uwsgi/site.ini", "uwsgi");
    REQUIRE(kv.size() == 2);
    CHECK(kv[0] == std::make_pair(std::string("b"), std::string("site")));
    CHECK(kv[1] == std::make_pair(std::string("flag"), std::string("true")));
}
