#include "config.hpp"
#include "core_options.hpp"
#include "ini_file.hpp"
#include "magic_vars.hpp"
#include "option_set.hpp"

#include <catch2/catch.hpp>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
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
    MagicVars m;
    m.enter_file(ini.path, "uwsgi");
    CHECK(m.substitute("%d") == dir);
    CHECK(m.substitute("%p") == dir + "site.ini");
    CHECK(m.substitute("%s") == "site.ini");
    CHECK(m.substitute("%n") == "site");
    CHECK(m.substitute("%e") == "ini");
    CHECK(m.substitute("%c") == ini.dir.substr(5));
    CHECK(m.substitute("%0") == "tmp");
    CHECK(m.substitute("100%%") == "100%");
    CHECK(m.substitute("%(name) stays") == "%(name) stays");
    CHECK(m.substitute("%k") == std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    CHECK(m.substitute("%h") == host);
    char cwd[PATH_MAX];
    CHECK(m.substitute("%v") == getcwd(cwd, sizeof cwd));
    m.enter_file("/etc/other.ini", "app");
    CHECK(m.substitute("%x %n %N") == "app other site");  // upper case: the first file's
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

TEST_CASE("unknown keys in an ini file are kept as placeholders; --strict makes them fatal") {
    TempIni ini("[uwsgi]\nno-such-key = 7\nthreads = %(no-such-key)\n");
    OptionSet s;
    s.add_table("core", kCoreOptions);
    Config c = parse_options(s, {{"--ini", ini.path}, {}}, "");
    CHECK(c.number("threads", 1) == 7);
    CHECK_FALSE(c.has("no-such-key"));
    CHECK_THROWS_WITH(parse_options(s, {{"--ini", ini.path, "--strict"}, {}}, ""),
                      Catch::Contains("no-such-key") && Catch::Contains(ini.path + ":2") &&
                          Catch::Contains("--strict"));
}

TEST_CASE("an ini file that includes itself is an error, not a stack overflow") {
    TempIni ini("[uwsgi]\nthreads = 2\nini = %p\n");
    OptionSet s;
    s.add_table("core", kCoreOptions);
    CHECK_THROWS_WITH(parse_options(s, {{"--ini", ini.path}, {}}, ""),
                      Catch::Contains("include loop") && Catch::Contains(ini.path + ":3"));
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

namespace {
Config parse_text(const std::string &text, std::vector<std::string> extra = {}) {
    static TempIni *keep = nullptr;  // one file per call; removed at the next
    delete keep;
    keep = new TempIni(text);
    OptionSet s;
    s.add_table("core", kCoreOptions);
    std::vector<std::string> args{keep->path};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse_options(s, {args, {}}, "");
}
}  // namespace

TEST_CASE("placeholders: %(key) of any key, $(ENV), @(file), %(_), arithmetic") {
    setenv("UWSGI_TEST_ENV", "from-env", 1);
    unsetenv("UWSGI_TEST_UNSET");
    TempIni data("[x]\n");
    std::ofstream(data.dir + "/value.txt") << "from-file\n";
    Config c = parse_text("[uwsgi]\nbase = /srv/app\nchdir = %(base)/src\n"
                          "env = A=$(UWSGI_TEST_ENV)\nenv = B=$(UWSGI_TEST_UNSET:-dflt)\n"
                          "env = C=@(" + data.dir + "/value.txt)\n"
                          "env = D=%(_)\nprocesses = %(%k * 2)\n"
                          "threads = %(processes + 1)\nenv = E=%(nothing) stays\n");
    unlink((data.dir + "/value.txt").c_str());
    CHECK(*c.get("chdir") == "/srv/app/src");
    REQUIRE(c.all("env").size() == 5);
    CHECK(c.all("env")[0] == "A=from-env");
    CHECK(c.all("env")[1] == "B=dflt");
    CHECK(c.all("env")[2] == "C=from-file");
    CHECK(c.all("env")[3].find("site.ini") != std::string::npos);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(c.number("processes", 0) == cpus * 2);
    CHECK(c.number("threads", 0) == cpus * 2 + 1);
    CHECK(c.all("env")[4] == "E=%(nothing) stays");
}

TEST_CASE("a malformed placeholder names the file, the line and the key") {
    CHECK_THROWS_WITH(parse_text("[uwsgi]\n\nchdir = %(base\n"),
                      Catch::Contains("site.ini:3") && Catch::Contains("chdir") &&
                          Catch::Contains("malformed"));
    CHECK_THROWS_WITH(parse_text("[uwsgi]\nchdir = @(/no/such/file)\n"),
                      Catch::Contains("site.ini:2") && Catch::Contains("/no/such/file"));
}

TEST_CASE("if-env / if-not-env / if-exists / if-file / if-dir / if-opt / else / endif") {
    setenv("UWSGI_TEST_ENV", "on", 1);
    unsetenv("UWSGI_TEST_UNSET");
    Config c = parse_text(
        "[uwsgi]\nthreads = 2\n"
        "if-env = UWSGI_TEST_ENV\nenv = got=%(_)\nendif\n"
        "if-env = UWSGI_TEST_ENV=off\nenv = wrong\nelse\nenv = else-branch\nendif\n"
        "if-not-env = UWSGI_TEST_UNSET\nenv = not-env\nendif\n"
        "if-exists = /tmp\nenv = exists=%(_)\nendif\n"
        "if-file = /tmp\nenv = wrong\nendif\n"
        "if-dir = /tmp\nenv = dir\nendif\n"
        "if-opt = threads=2\nenv = opt=%(_)\n"
        "if-not-opt = processes\nenv = nested\nendif\nendif\n"
        "if-opt = nothing\nenv = wrong\nendif\n");
    CHECK(c.all("env") == std::vector<std::string>{"got=on", "else-branch", "not-env",
                                                   "exists=/tmp", "dir", "opt=2", "nested"});
}

TEST_CASE("for / for-times / for-glob / for-readline ... endfor repeat their lines per item") {
    TempIni lines("[x]\n");
    std::ofstream(lines.dir + "/items.txt") << "one\ntwo\n";
    Config c = parse_text("[uwsgi]\nfor = a b  c\nenv = L=%(_)\nendfor\n"
                          "for-times = 2\nenv = T%(_)=x\nenv = U%(_)\nend-for\n"
                          "for-readline = " + lines.dir + "/items.txt\nenv = R=%(_)\nendfor\n"
                          "for-glob = " + lines.dir + "/item*.txt\nenv = G=%(_)\nendfor\n"
                          "if-env = UWSGI_TEST_UNSET\nfor = no\nenv = wrong\nendfor\nendif\n"
                          "for = x y\nif-opt = threads\nenv = I=%(_)\nendif\nendfor\n"
                          "threads = 2\n");
    unlink((lines.dir + "/items.txt").c_str());
    CHECK(c.all("env") == std::vector<std::string>{
                              "L=a", "L=b", "L=c", "T1=x", "U1", "T2=x", "U2", "R=one", "R=two",
                              "G=" + lines.dir + "/items.txt"});
}

TEST_CASE("if-hostname / if-hostname-match / if-not-reload") {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    unsetenv("UWSGI_INHERITED_SOCKETS");
    Config c = parse_text(std::string("[uwsgi]\nif-hostname = ") + host +
                          "\nenv = host=%(_)\nendif\n"
                          "if-not-hostname = " + host + "\nenv = wrong\nendif\n"
                          "if-hostname-match = ^.\nenv = match\nendif\n"
                          "if-reload\nenv = wrong\nelse\nenv = first-start\nendif\n"
                          "if-not-reload =\nenv = not-reload\nendif\n");
    CHECK(c.all("env") == std::vector<std::string>{std::string("host=") + host, "match",
                                                   "first-start", "not-reload"});
}

TEST_CASE("a for without endfor, or an endfor alone, names the file and line") {
    CHECK_THROWS_WITH(parse_text("[uwsgi]\nfor = a b\nenv = x\n"),
                      Catch::Contains("site.ini:2") && Catch::Contains("endfor"));
    CHECK_THROWS_WITH(parse_text("[uwsgi]\nthreads = 2\nendfor\n"),
                      Catch::Contains("site.ini:3") && Catch::Contains("without a for"));
    CHECK_THROWS_WITH(parse_text("[uwsgi]\nfor-times = many\nenv = x\nendfor\n"),
                      Catch::Contains("site.ini:2") && Catch::Contains("whole number"));
}

TEST_CASE("an if-* without endif, or an endif alone, names the file and line") {
    CHECK_THROWS_WITH(parse_text("[uwsgi]\nif-env = HOME\nthreads = 2\n"),
                      Catch::Contains("site.ini:2") && Catch::Contains("endif"));
    CHECK_THROWS_WITH(parse_text("[uwsgi]\nthreads = 2\nendif\n"),
                      Catch::Contains("site.ini:3") && Catch::Contains("endif"));
}

TEST_CASE("includes: ini = file:section, %d../other.ini, :section, inherit") {
    TempIni base("[uwsgi]\nprocesses = 3\n[extra]\nthreads = 5\n");
    std::string sub = base.dir + "/sub";
    mkdir(sub.c_str(), 0755);
    std::string path = sub + "/app.ini";
    std::ofstream(path) << "[uwsgi]\ninherit = %d../site.ini\nini = %d../site.ini:extra\n"
                           "ini = :more\nlisten = %(threads)\n[more]\nbuffer-size = 8192\n";
    OptionSet s;
    s.add_table("core", kCoreOptions);
    Config c = parse_options(s, {{path}, {}}, "");
    unlink(path.c_str());
    rmdir(sub.c_str());
    CHECK(c.number("processes", 0) == 3);
    CHECK(c.number("threads", 0) == 5);
    CHECK(c.number("buffer-size", 0) == 8192);
    CHECK(c.number("listen", 0) == 5);
}

TEST_CASE("values as uWSGI reads them: leading digits, flags, repeats in order") {
    Config c = parse_text("[uwsgi]\nharakiri = 60 ; note\nmaster = off\nvacuum = whatever\n"
                          "env = A=1\nenv = B=2\nprocesses = 4\nprocesses = 2\n");
    CHECK(c.number("harakiri", 0) == 60);
    CHECK_FALSE(c.flag("master"));
    CHECK(c.flag("vacuum"));
    CHECK(c.all("env") == std::vector<std::string>{"A=1", "B=2"});
    CHECK(c.number("processes", 0) == 2);
    Config bad = parse_text("[uwsgi]\n\nprocesses = many\n");
    CHECK_THROWS_WITH(bad.number("processes", 1),
                      Catch::Contains("site.ini:3") && Catch::Contains("--processes"));
}

TEST_CASE("--show-config sees every key, placeholders resolved") {
    Config c = parse_text("[uwsgi]\nmy-key = 4\nthreads = %(my-key)\n", {"--show-config"});
    std::vector<std::pair<std::string, std::string>> want{
        {"ini", c.entries()[0].second}, {"my-key", "4"}, {"threads", "4"}, {"show-config", "true"}};
    CHECK(c.entries() == want);
}
