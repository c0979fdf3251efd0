#include "server.hpp"

#include "attached_daemons.hpp"
#include "build_plugin.hpp"
#include "compat_notes.hpp"
#include "config_hooks.hpp"
#include "core_options.hpp"
#include "emperor.hpp"
#include "extra_processes.hpp"
#include "info_commands.hpp"
#include "ini_file.hpp"
#include "lifecycle.hpp"
#include "log.hpp"
#include "master.hpp"
#include "mules.hpp"
#include "systemd.hpp"
#include "zerg.hpp"
#include "request_log.hpp"
#include "plugin_search_path.hpp"
#include "log_rotation.hpp"
#include "log_targets.hpp"
#include "request_window.hpp"
#include "run_files.hpp"
#include "process_options.hpp"
#include "runtime.hpp"
#include "app_table.hpp"
#include "scoreboard.hpp"
#include "signals.hpp"
#include "spooler.hpp"
#include "user_locks.hpp"
#include "settings.hpp"
#include "stats_server.hpp"
#include "tls.hpp"
#include "static_files.hpp"
#include "static_path_cache.hpp"
#include "uwsgi_protocol.hpp"
#include "vassal_channel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <sys/types.h>
#include <pwd.h>
#include <unistd.h>

namespace core {
namespace {

// What must be known before the full parse: plugins given by path add options of their own,
// and --plugin-dir changes where the others are found. --check-plugin needs nothing else.
struct Prescan {
    std::vector<std::string> plugin_dirs, plugin_paths;
    std::string check_plugin;
    std::string build_plugin;
};

Prescan prescan(const std::vector<std::string> &args) {
    Prescan out;
    auto take = [&](const std::string &key, const std::string &value) {
        if (key == "plugin-dir") out.plugin_dirs.push_back(value);
        if (key == "plugin" || key == "plugins")
            for (auto &p : split_list({value}))
                if (p.find('/') != std::string::npos) out.plugin_paths.push_back(p);
        if (key == "check-plugin") out.check_plugin = value;
        if (key == "build-plugin") out.build_plugin = value;
    };
    auto scan_ini = [&](const std::string &spec) {
        try {
            for (auto &[k, v] : read_ini(spec)) take(k, v);
        } catch (const ConfigError &) {
            // reported by the full parse
        }
    };
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (a[0] != '-' && (format_of(split_ini_spec(a).first) != "ini" ||
                            (a.size() > 4 && a.compare(a.size() - 4, 4, ".ini") == 0)))
            scan_ini(a);
        if (a.rfind("--", 0) != 0) continue;
        std::string key = a.substr(2), value;
        size_t eq = key.find('=');
        if (eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        } else if (i + 1 < args.size()) {
            value = args[i + 1];
        }
        if (key == "ini" || key == "xml" || key == "yaml" || key == "yml") scan_ini(value);
        take(key, value);
    }
    return out;
}

// "python", "python3", "python311"...: the names of uWSGI's CPython plugin.
bool is_cpython_plugin_name(const std::string &name) {
    return name.rfind("python", 0) == 0 &&
           name.find_first_not_of("0123456789", 6) == std::string::npos;
}

// Plugins named with --plugin, plus the owner of every option used. A config written for the
// CPython plugin names it; without such a plugin installed, pypy (whose options take the
// CPython plugin's names as aliases) serves it instead. Another plugin that is not installed:
// named in a file (or UWSGI_PLUGINS), a warning and start-up goes on, as uWSGI does; named on
// the command line, an error (uWSGI warns there too and starts without it: an explicit request
// it cannot honour deserves a stop).
std::vector<std::string> plugins_to_activate(const Runtime &rt, const std::string &searched) {
    std::vector<std::string> names;
    const std::vector<std::string> &values = rt.config.all("plugin");
    const std::vector<std::string> &origins = rt.config.origins("plugin");
    for (size_t i = 0; i < values.size(); ++i)
        for (auto &p : split_list({values[i]})) {
            std::string name = p;
            if (p.find('/') != std::string::npos)
                for (auto &lp : rt.registry.installed())
                    if (lp.path == p) name = lp.desc->name;
            bool installed = rt.registry.find(name) != nullptr;
            if (is_cpython_plugin_name(name) && !installed && rt.registry.find("pypy")) {
                spdlog::info("plugin {} (uWSGI's CPython plugin) is not installed: the pypy "
                             "plugin serves the app instead, with the same options",
                             name);
                name = "pypy";
            } else if (name == "logfile" && !installed) {
                // uWSGI's file and stdio loggers are a plugin there; here they are in the core
                spdlog::info("plugin logfile: its loggers (file:PATH, stdio) are part of this "
                             "server's core");
                continue;
            } else if (!installed && i < origins.size() && origins[i] != "command line") {
                spdlog::warn("{}: plugin '{}' is not installed (searched: {}): going on "
                             "without it, as uWSGI does",
                             origins[i], name, searched);
                continue;
            }
            names.push_back(name);
        }
    for (size_t i = 0; i < rt.config.size(); ++i) {
        const OptionInfo *info = rt.options.find(rt.config.name_at(i));
        if (info && info->owner != "core") names.push_back(info->owner);
    }
    if (rt.config.value_or("protocol", "") == "http" || rt.config.has("https-socket"))
        names.push_back("http");
    return names;
}

std::vector<Listener> open_listeners(const Runtime &rt) {
    std::vector<Listener> out;
    // --protocol http: the --socket listeners speak HTTP (the http plugin's protocol)
    const uwsgi_protocol *socket_protocol = &uwsgi_socket_protocol();
    std::string protocol = rt.config.value_or("protocol", "uwsgi");
    if (protocol == "http") {
        socket_protocol = rt.registry.protocol_for_option("http-socket");
        if (!socket_protocol)
            throw ConfigError("--protocol http needs the http plugin, which is not active");
    } else if (protocol != "uwsgi") {
        throw ConfigError(fmt::format("--protocol {} ({}): this server speaks uwsgi and http on "
                                      "--socket",
                                      protocol, rt.config.origin_of("protocol")));
    }
    for (auto &addr : rt.config.all("socket"))
        out.push_back(open_listener("socket", addr, socket_protocol));
    // uWSGI's --http router without --socket: as uWSGI does, the workers get a uwsgi socket on
    // 127.0.0.1 with a free port, and the router passes requests to it (unless --http-to names
    // other nodes: the workers then still have a socket to serve).
    if ((rt.config.has("http") || rt.config.has("https")) && !rt.config.has("socket")) {
        out.push_back(open_listener("socket", "127.0.0.1:0", &uwsgi_socket_protocol()));
        set_router_socket(out.back().fd);
    }
    // --https-socket ADDR,CERT,KEY[,CIPHERS,CA]: the http plugin's protocol over TLS
    for (auto &value : rt.config.all("https-socket")) {
        TlsSpec spec = parse_tls_spec("https-socket", value);
        const uwsgi_protocol *http = rt.registry.protocol_for_option("http-socket");
        if (!http) throw ConfigError("--https-socket needs the http plugin, which is not active");
        auto tls = make_server_tls("https-socket", spec);  // before binding: errors come first
        out.push_back(open_listener("https-socket", spec.address, http));
        out.back().tls = std::move(tls);
    }
    for (auto *p : rt.registry.active()) {
        const uwsgi_protocol *proto = p->desc->protocol;
        if (!proto || !proto->socket_option) continue;
        for (auto &addr : rt.config.all(proto->socket_option))
            out.push_back(open_listener(proto->socket_option, addr, proto));
    }
    for (auto &l : adopt_unclaimed_activated(out, socket_protocol)) out.push_back(l);
    if (out.empty())
        throw ConfigError("no socket to serve: give --socket ADDR (uwsgi protocol, e.g. for "
                          "nginx), --http-socket ADDR (HTTP) or --https-socket ADDR,CERT,KEY");
    return out;
}

// --uid/--gid: a name, or a number when the value is all digits. An unknown name or an id out of
// range is fatal: it used to fall back to atoi() and run the server as root without a word.
uint32_t numeric_id(const std::string &option, const std::string &value) {
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
        value.size() > 10 || std::stoull(value) >= 0xffffffffull)
        throw ConfigError(fmt::format("--{} {}: no such {} (give an existing name or a numeric "
                                      "id below 4294967295)",
                                      option, value, option == "uid" ? "user" : "group"));
    return uint32_t(std::stoull(value));
}

gid_t resolve_gid(const std::string &value) {
    if (struct group *gr = getgrnam(value.c_str())) return gr->gr_gid;
    return gid_t(numeric_id("gid", value));
}

uid_t resolve_uid(const std::string &value) {
    if (struct passwd *pw = getpwnam(value.c_str())) return pw->pw_uid;
    return uid_t(numeric_id("uid", value));
}

void drop_privileges(const Config &c) {
    // Both are resolved before either is applied, so a bad --uid is reported with root intact.
    const std::string *g = c.get("gid"), *u = c.get("uid");
    gid_t gid = g ? resolve_gid(*g) : 0;
    uid_t uid = u ? resolve_uid(*u) : 0;
    if (g) {
        // root's supplementary groups must go too, or the workers keep them
        if (getuid() == 0 && setgroups(1, &gid) != 0)
            throw ConfigError(fmt::format("cannot drop supplementary groups for gid {}", *g));
        if (setgid(gid) != 0)
            throw ConfigError(fmt::format("cannot set gid to {}: {}", *g, strerror(errno)));
    }
    if (u && setuid(uid) != 0)
        throw ConfigError(fmt::format("cannot set uid to {}: {}", *u, strerror(errno)));
}

// uWSGI's --show-config layout, so the output can be read back as an ini file.
void show_config(const Config &c) {
    std::string out = "\n;uWSGI instance configuration\n[uwsgi]\n";
    for (auto &[key, value] : c.entries()) out += key + " = " + value + "\n";
    out += ";end of configuration\n\n";
    fputs(out.c_str(), stderr);
}

// --emperor: no app and no socket here; the vassals serve. The process options (log, pidfile,
// uid/gid) apply to the emperor, and through it to the vassals it starts.
int serve_emperor(Runtime &rt) {
    apply_early_process_options(rt.config);
    log_compat_notes(rt.config);
    for (const char *ignored : {"master", "processes", "socket", "http-socket"})
        if (rt.config.has(ignored))
            spdlog::info("--{} ({}): the Emperor serves nothing itself; its vassals do",
                         ignored, rt.config.origin_of(ignored));
    rt.master_pid = getpid();
    write_pidfile(rt.config);
    drop_privileges(rt.config);
    apply_late_log(rt.config);
    set_process_title(rt.config, "Emperor");
    int code = run_emperor(rt.config);
    remove_run_files({});
    return code;
}

int serve(Runtime &rt) {
    if (emperor_wanted(rt.config)) return serve_emperor(rt);
    if (rt.library_mode && (rt.config.has("daemonize") || rt.config.has("daemonize2")))
        throw ConfigError("--daemonize: in library mode the process belongs to the host program; "
                          "daemonize the host instead");
    systemd_notify("STATUS=initializing uWSGI\n");
    apply_early_process_options(rt.config);
    log_compat_notes(rt.config);
    run_config_hooks(rt.config, "asap");
    set_settings(Settings::from(rt.config));
    configure_log_rotation(rt.config);  // first: the log process rotates the --logto file
    configure_loggers(rt.config);
    configure_request_log(rt.config);
    configure_static_files(rt.config);
    if (!settings().honour_stdin) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        close(null);
    }
    rt.master_pid = getpid();
    // attached daemons need a master to supervise them (uWSGI turns it on for them too), and so
    // does a vassal: its master keeps the channel to the emperor
    bool master = settings().master || settings().processes > 1 ||
                  AttachedDaemons::wanted(rt.config) || has_emperor();
    // shared tables and pipes first: a plugin's init may already register a signal
    create_scoreboard(settings().processes, settings().threads);
    create_request_windows(settings().processes, settings().threads, settings().buffer_size,
                           settings().max_vars);
    create_app_table(settings().processes);
    create_user_locks(settings().locks);
    create_signals(settings().processes, master);
    allow_extra_processes(master);
    register_mules(rt.config);
    create_spoolers(rt.config);
    run_init_hooks();
    attach_static_path_cache(rt.config);  // after init: the cache plugin's caches exist
    attach_zergs(rt.config);
    std::vector<Listener> listeners = open_listeners(rt);
    if (rt.config.get("stats") && !master)
        throw ConfigError("--stats needs a master process (it serves the stats): add --master");
    bind_stats_server();
    write_pidfile(rt.config);
    chown_unix_sockets(rt.config, listeners);
    run_config_hooks(rt.config, "as-root");
    drop_privileges(rt.config);
    apply_late_log(rt.config);
    run_config_hooks(rt.config, "as-user");
    if (!settings().lazy_apps) load_apps_with_hooks();
    if (daemonize_late(rt.config)) {
        rt.master_pid = getpid();
        write_pidfile(rt.config);  // the daemon's pid now
    }
    if (master) {
        set_process_title(rt.config, "master");
        run_config_hooks(rt.config, "master-start");
    }
    spdlog::info("uwsgi {} serving: {} process(es) x {} thread(s){}", UWSGI_VERSION,
                 settings().processes, settings().threads, master ? ", with master" : "");
    rt.serving = true;
    systemd_notify("STATUS=uWSGI is ready\nREADY=1\n");  // uWSGI's words, before the workers
    int code = master ? run_master(listeners) : run_single(listeners);
    systemd_notify("STOPPING=1\nSTATUS=stopped\n");
    remove_run_files(listeners);
    return code;
}

// The host program's own command line (library mode): what a reload re-executes.
std::vector<std::string> host_cmdline() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> out;
    std::string arg;
    while (std::getline(in, arg, '\0')) out.push_back(arg);
    return out;
}

}  // namespace

int server_main(int argc, char **argv, char **envp, const Launch &launch) {
    init_logging();
    signal(SIGPIPE, SIG_IGN);
    Runtime &rt = runtime();
    rt.argv.assign(argv, argv + argc);
    rt.library_mode = launch.library_mode;
    rt.started_on = int64_t(time(nullptr));
    rt.is_a_reload = getenv("UWSGI_INHERITED_SOCKETS") != nullptr;
    if (!launch.library_mode) remember_argv_area(argc, argv);
    ParseInput input;
    input.args.assign(argv + 1, argv + argc);
    // A launcher may pass an empty envp (examples/fakeuwsgi.py, from uWSGI's PyPy plugin
    // documentation, does, so that nothing writes over the host's environ); UWSGI_* options are
    // then read from the process environment.
    if (launch.library_mode && (!envp || !*envp)) envp = environ;
    for (char **e = envp; e && *e; ++e) input.env.emplace_back(*e);
    if (launch.library_mode) {
        rt.host_cmdline = host_cmdline();
        std::string host;
        for (auto &a : rt.host_cmdline) host += (host.empty() ? "" : " ") + a;
        spdlog::info("library mode (uwsgi_init called by {}): process titles are left alone; a "
                     "reload re-executes --binary-path if given, else this command line",
                     host);
    }
    // Signals are taken with sigtimedwait by the process that owns them, never by handlers.
    sigset_t set;
    sigemptyset(&set);
    // SIGTSTP too: the master pauses its workers on it (uWSGI's pause), nobody stops
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR2, SIGTSTP}) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    try {
        Prescan pre = prescan(input.args);
        if (!pre.check_plugin.empty()) return check_plugin(pre.check_plugin);
        if (!pre.build_plugin.empty()) return build_plugin(pre.build_plugin);
        rt.options.add_table("core", kCoreOptions);
        rt.registry.add_builtins(launch.builtins, rt.options);
        std::vector<std::string> dirs = plugin_search_path(pre.plugin_dirs);
        std::string searched = describe_search_path(dirs);
        for (auto &path : pre.plugin_paths) rt.registry.add_file(path, rt.options);
        rt.registry.discover(dirs, rt.options);
        rt.config = parse_options(rt.options, input, searched);

        if (rt.config.flag("help")) return print_help();
        if (rt.config.flag("version")) return print_version();
        if (rt.config.flag("list-plugins")) return list_plugins();
        if (const std::string *sym = rt.config.get("print-sym")) return print_symbol(*sym);

        if (rt.config.flag("show-config")) show_config(rt.config);
        rt.registry.activate(plugins_to_activate(rt, searched), searched);
        for (auto *p : rt.registry.active())
            spdlog::info("plugin {} {} active ({})", p->desc->name, p->desc->version, p->path);
        return serve(rt);
    } catch (const NeedAppError &) {
        return kExitNoApp;
    } catch (const std::exception &e) {
        spdlog::error("{}", e.what());
        return 1;
    }
}

}  // namespace core
