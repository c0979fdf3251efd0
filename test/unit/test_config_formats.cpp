#include "config.hpp"
#include "config_formats.hpp"
#include "core_options.hpp"
#include "option_set.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

using namespace core;

namespace {
std::vector<std::pair<std::string, std::string>> kv(const std::vector<SectionLine> &lines) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto &l : lines) out.emplace_back(l.key, l.value);
    return out;
}
using KV = std::vector<std::pair<std::string, std::string>>;

struct TempFile {
    std::string path;
    TempFile(const std::string &name, const std::string &text) {
        char tmpl[] = "/tmp/uwsgi-fmt-XXXXXX";
        path = std::string(mkdtemp(tmpl)) + "/" + name;
        std::ofstream(path) << text;
    }
    ~TempFile() {
        unlink(path.c_str());
        rmdir(path.substr(0, path.rfind('/')).c_str());
    }
};
}  // namespace

TEST_CASE("xml: children of <uwsgi> in order, empty elements are 1, ids pick a root") {
    std::string text = "<?xml version=\"1.0\"?>\n<uwsgi>\n  <socket>:3031</socket>\n  <master/>\n"
                       "  <env>A=1</env>\n  <env> B=2 </env>\n</uwsgi>\n";
    auto lines = parse_xml_section(text, "a.xml", "");
    CHECK(kv(lines) == KV{{"socket", ":3031"}, {"master", "1"}, {"env", "A=1"}, {"env", "B=2"}});
    CHECK(lines[1].line == 4);
    std::string two = "<uwsgi id=\"one\"><threads>1</threads></uwsgi>\n"
                      "<uwsgi id=\"two\"><threads>2</threads></uwsgi>\n";
    CHECK(kv(parse_xml_section(two, "b.xml", "two")) == KV{{"threads", "2"}});
    CHECK_THROWS_WITH(parse_xml_section(two, "b.xml", "three"), Catch::Contains("id=\"three\""));
    CHECK_THROWS_WITH(parse_xml_section("<uwsgi>\n<a>1</b>\n</uwsgi>", "c.xml", ""),
                      Catch::Contains("c.xml:2") && Catch::Contains("malformed XML"));
    CHECK_THROWS_WITH(parse_xml_section("<other/>", "d.xml", ""), Catch::Contains("<uwsgi>"));
}

TEST_CASE("yaml: the section's keys in order, lists repeat a key, repeated keys kept") {
    std::string text = "# deploy\nuwsgi:\n  socket: :3031\n  master: true\n  env:\n    - A=1\n"
                       "    - B=2\n  env: C=3\n  flag:\nother:\n  threads: 9\n";
    auto lines = parse_yaml_section(text, "a.yml", "uwsgi");
    CHECK(kv(lines) == KV{{"socket", ":3031"}, {"master", "true"}, {"env", "A=1"},
                          {"env", "B=2"}, {"env", "C=3"}, {"flag", ""}});
    CHECK(lines[0].line == 3);
    CHECK(kv(parse_yaml_section(text, "a.yml", "other")) == KV{{"threads", "9"}});
    CHECK_THROWS_WITH(parse_yaml_section(text, "a.yml", "none"), Catch::Contains("'none:'"));
    CHECK_THROWS_WITH(parse_yaml_section("uwsgi:\n  a: [1\n  b: 2\n", "b.yml", "uwsgi"),
                      Catch::Contains("b.yml:") && Catch::Contains("malformed YAML"));
    CHECK_THROWS_WITH(parse_yaml_section("uwsgi:\n  a:\n    b: 1\n", "c.yml", "uwsgi"),
                      Catch::Contains("c.yml:2") && Catch::Contains("'a'"));
}

TEST_CASE("xml and yaml files feed the option parser like ini: magic, placeholders, logic") {
    TempFile yml("site.yml", "uwsgi:\n  base: 4\n  threads: \"%(base)\"\n  if-env: HOME\n"
                             "  processes: 3\n  endif: \n  chdir: \"%d\"\n");
    TempFile xml("site.xml", "<uwsgi><listen>%(threads)</listen><yaml>" + yml.path +
                                 "</yaml><buffer-size>8192</buffer-size></uwsgi>");
    OptionSet s;
    s.add_table("core", kCoreOptions);
    setenv("HOME", "/root", 0);
    Config c = parse_options(s, {{yml.path}, {}}, "");
    CHECK(c.number("threads", 0) == 4);
    CHECK(c.number("processes", 0) == 3);
    CHECK(*c.get("chdir") == yml.path.substr(0, yml.path.rfind('/') + 1));
    Config x = parse_options(s, {{"--xml", xml.path}, {}}, "");
    CHECK(x.number("listen", 0) == 4);  // %(threads) from the yaml file it includes
    CHECK(x.number("buffer-size", 0) == 8192);
}
