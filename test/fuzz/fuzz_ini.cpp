// libFuzzer target: configuration parsing. The input is also parsed as an XML and a YAML config
// file. As an ini file's text: its [uwsgi] section
// is parsed with the magic variables expanded, and every key = value becomes a command-line
// option and an UWSGI_* environment variable for the option parser (Boost.Program_options over
// the core's option table), whose result goes through the typed settings. Only ConfigError may
// come out: it is how a user hears about a mistake. Anything else escaping is a bug.
#include "config.hpp"
#include "config_formats.hpp"
#include "core_options.hpp"
#include "ini_file.hpp"
#include "option_set.hpp"
#include "plugin_loader.hpp"
#include "settings.hpp"

#include <algorithm>
#include <sstream>
#include <string>

using namespace core;

namespace {

const OptionSet &options() {
    static OptionSet set = [] {
        OptionSet s;
        s.add_table("core", kCoreOptions);
        return s;
    }();
    return set;
}

// Options naming files would read the machine's files (think "ini = /dev/zero"): the file
// reading itself is read_ini's one ifstream, covered by the unit tests.
bool names_a_file(const std::string &key) {
    const OptionInfo *info = options().find(key);
    return key.find("ini") != std::string::npos ||
           (info && (info->opt->kind == UWSGI_OPT_CONFIG || std::string(info->opt->name) == "ini"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 16384) return 0;
    std::string text(reinterpret_cast<const char *>(data), size);
    KeyValues kvs;
    try {
        std::istringstream in(text);
        kvs = parse_ini(in, "/etc/uwsgi/apps/site.ini", "uwsgi");
    } catch (const ConfigError &) {
        return 0;
    }
    split_ini_spec(text);
    // the same text as an XML and a YAML config file (expat, libyaml)
    for (auto parse : {parse_xml_section, parse_yaml_section}) {
        try {
            parse(text, "/etc/uwsgi/apps/site", "uwsgi");
        } catch (const ConfigError &) {
        }
    }

    ParseInput input;
    for (auto &[key, value] : kvs) {
        // "--master --ini=/dev/zero" would name a file through a value, so skip those too
        // and @(file) reads a file too
        if (names_a_file(key) || value.find("ini") != std::string::npos ||
            value.find("@(") != std::string::npos)
            continue;
        input.args.push_back("--" + key);
        input.args.push_back(value);
        std::string env = key;
        std::transform(env.begin(), env.end(), env.begin(), [](unsigned char c) {
            return c == '-' ? '_' : static_cast<char>(std::toupper(c));
        });
        input.env.push_back("UWSGI_" + env + "=" + value);
    }
    try {
        Config config = parse_options(options(), input, "(fuzz)");
        Settings::from(config);
        split_list(config.all("plugin"));
    } catch (const ConfigError &) {
    }
    return 0;
}
