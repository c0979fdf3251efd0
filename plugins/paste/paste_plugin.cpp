// paste.deploy support. This plugin owns --pypy-paste and --pypy-ini-paste: the core reads the
// [uwsgi] section of an --pypy-ini-paste file as configuration (option kind UWSGI_OPT_CONFIG),
// this plugin checks at start-up that each file is a usable paste.deploy config, and the pypy
// plugin (required below) loads the app with paste.deploy.loadapp('config:/abs/path').
#include <uwsgi/plugin.hpp>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

constexpr const char *kPlugin = "paste";

const uwsgi_option options[] = {
    // paste / ini-paste: the names uWSGI's CPython plugin gives the same options
    {.name = "pypy-paste",
     .aliases = "paste",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "FILE",
     .help = "load the WSGI app of a paste.deploy .ini file ([config:]FILE[#name])"},
    {.name = "pypy-ini-paste",
     .aliases = "ini-paste",
     .kind = UWSGI_OPT_CONFIG,
     .metavar = "FILE",
     .help = "like --pypy-paste, and read the file's [uwsgi] section as configuration"},
    {.name = "paste-logger",
     .kind = UWSGI_OPT_FLAG,
     .help = "accepted: the logging sections of the paste file always configure Python's logging"},
    {},
};

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    size_t e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "config:app.ini#name" -> ("app.ini", "name"); the app name defaults to "main".
std::pair<std::string, std::string> split_spec(std::string spec) {
    if (spec.rfind("config:", 0) == 0) spec = spec.substr(7);
    size_t hash = spec.find('#');
    if (hash == std::string::npos) return {spec, "main"};
    return {spec.substr(0, hash), spec.substr(hash + 1)};
}

// The sections paste.deploy accepts for an app named `name`.
bool defines_app(const std::string &section, const std::string &name) {
    for (const char *kind : {"app", "pipeline", "composite", "filter-app"}) {
        std::string k = kind;
        if (section == k + ":" + name || (name == "main" && section == k)) return true;
    }
    return false;
}

int check_file(const char *option, const std::string &spec) {
    auto [path, name] = split_spec(spec);
    std::ifstream in(path);
    if (!in) {
        uwsgi::log(UWSGI_LOG_ERROR, kPlugin,
                   "--" + std::string(option) + " " + spec + ": cannot read " + path +
                       " (relative paths are resolved against the working directory)");
        return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
        std::string t = trim(line);
        if (t.size() > 2 && t.front() == '[' && t.back() == ']' &&
            defines_app(trim(t.substr(1, t.size() - 2)), name))
            return 0;
    }
    uwsgi::log(UWSGI_LOG_ERROR, kPlugin,
               "--" + std::string(option) + " " + spec + ": " + path + " defines no app '" +
                   name + "': add an [app:" + name + "] or [pipeline:" + name + "] section");
    return 1;
}

int init(const uwsgi_host *host) {
    uwsgi::Host::set(host);
    for (const char *option : {"pypy-paste", "pypy-ini-paste"})
        if (const char *spec = host->opt_get(option))
            if (check_file(option, spec) != 0) return 1;
    return 0;
}

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = kPlugin,
    .version = "1.0.0",
    .description = "paste.deploy .ini apps for the pypy plugin",
    .depends = "pypy",  // the app is loaded inside PyPy
    .options = options,
    .init = init,
    .modifier1 = -1,
};

}  // namespace

UWSGI_PLUGIN_EXPORT(paste, descriptor)
