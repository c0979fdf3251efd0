#include "process_options.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {
namespace {

char *g_argv_area = nullptr;
size_t g_argv_area_len = 0;

ConfigError option_error(const Config &c, const std::string &name, const std::string &what) {
    std::string origin = c.origin_of(name);
    return ConfigError(fmt::format("--{} {}{}: {}", name, *c.get(name),
                                   origin.empty() ? "" : " (" + origin + ")", what));
}

// The log file of --logto/--daemonize, appending, with --logfile-chmod applied.
int open_log(const Config &c, const std::string &name) {
    const std::string *path = c.get(name);
    int fd = open(path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw option_error(c, name, strerror(errno));
    if (const std::string *mode = c.get("logfile-chmod")) {
        char *end = nullptr;
        long m = std::strtol(mode->c_str(), &end, 8);
        if (end == mode->c_str() || m < 0 || m > 07777)
            throw option_error(c, "logfile-chmod", "give an octal mode such as 640");
        if (fchmod(fd, mode_t(m)) != 0) throw option_error(c, "logfile-chmod", strerror(errno));
    }
    return fd;
}

// uWSGI's logto: the file takes both stdout and stderr, so app prints land there too.
void log_to(const Config &c, const std::string &name) {
    if (!c.has(name)) return;
    int fd = open_log(c, name);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

void become_daemon(const Config &c, const std::string &name) {
    const std::string *log = c.get(name);
    if (!log) return;
    int fd = open_log(c, name);
    spdlog::info("--{}: becoming a daemon, logging to {}", name, *log);
    pid_t pid = fork();
    if (pid < 0) throw option_error(c, name, std::string("fork: ") + strerror(errno));
    if (pid > 0) _exit(0);  // the caller's shell gets its prompt back
    setsid();
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    close(null);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

}  // namespace

void apply_early_process_options(const Config &c) {
    if (const std::string *mask = c.get("umask")) {
        char *end = nullptr;
        long m = std::strtol(mask->c_str(), &end, 8);
        if (end == mask->c_str() || m < 0 || m > 0777)
            throw option_error(c, "umask", "give an octal mode such as 022");
        umask(mode_t(m));
    }
    if (c.has("max-fd")) {
        rlim_t n = rlim_t(c.number("max-fd", 0));
        struct rlimit rl {n, n};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            throw option_error(c, "max-fd", std::string("setrlimit: ") + strerror(errno) +
                                                " (raising the hard limit needs root)");
    }
    if (const std::string *dir = c.get("chdir")) {
        if (chdir(dir->c_str()) != 0) throw option_error(c, "chdir", strerror(errno));
        spdlog::info("chdir() to {}", *dir);
    }
    for (auto &kv : c.all("env")) {
        size_t eq = kv.find('=');
        if (kv.empty() || eq == 0) throw ConfigError(fmt::format("--env '{}': give KEY=VALUE", kv));
        if (eq == std::string::npos)
            unsetenv(kv.c_str());
        else
            setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
    log_to(c, "logto");
    become_daemon(c, "daemonize");
}

void apply_late_log(const Config &c) { log_to(c, "logto2"); }

bool daemonize_late(const Config &c) {
    if (!c.has("daemonize2")) return false;
    become_daemon(c, "daemonize2");
    return true;
}

void chown_unix_sockets(const Config &c, const std::vector<Listener> &listeners) {
    const std::string *spec = c.get("chown-socket");
    if (!spec) return;
    std::string user = spec->substr(0, spec->find(':'));
    std::string group = spec->find(':') == std::string::npos ? "" : spec->substr(spec->find(':') + 1);
    struct passwd *pw = getpwnam(user.c_str());
    if (!pw) throw option_error(c, "chown-socket", "no user " + user);
    gid_t gid = pw->pw_gid;
    if (!group.empty()) {
        struct group *gr = getgrnam(group.c_str());
        if (!gr) throw option_error(c, "chown-socket", "no group " + group);
        gid = gr->gr_gid;
    }
    for (auto &l : listeners)
        if (!l.unix_path.empty() && chown(l.unix_path.c_str(), pw->pw_uid, gid) != 0)
            throw option_error(c, "chown-socket", l.unix_path + ": " + strerror(errno));
}

void remember_argv_area(int argc, char **argv) {
    if (argc < 1 || !argv[0]) return;
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc && argv[i] == end; ++i) end = argv[i] + strlen(argv[i]) + 1;
    g_argv_area = argv[0];
    g_argv_area_len = size_t(end - argv[0]);
}

void set_process_title(const Config &c, const std::string &role) {
    std::string name = role == "master" ? c.value_or("procname-master", "") : "";
    bool wanted = c.flag("auto-procname") || c.has("procname-prefix") ||
                  c.has("procname-prefix-spaced") || !name.empty();
    if (!wanted) return;
    if (name.empty()) name = "uWSGI " + role;
    if (const std::string *p = c.get("procname-prefix-spaced")) name = *p + " " + name;
    if (const std::string *p = c.get("procname-prefix")) name = *p + name;
    prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);  // the kernel keeps 15 bytes of it
    if (g_argv_area_len > 1) {
        size_t n = std::min(name.size(), g_argv_area_len - 1);
        memcpy(g_argv_area, name.data(), n);
        memset(g_argv_area + n, 0, g_argv_area_len - n);
    }
}

}  // namespace core
