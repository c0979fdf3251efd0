#include "config_hooks.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace core {
namespace {

int run_command(const std::string &cmd) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void write_file(const std::string &arg, int flags, const std::string &what) {
    size_t space = arg.find(' ');
    std::string path = arg.substr(0, space);
    std::string text = space == std::string::npos ? "" : arg.substr(space + 1);
    int fd = open(path.c_str(), flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 || write(fd, text.data(), text.size()) != ssize_t(text.size()))
        throw std::runtime_error(fmt::format("{} {}: {}", what, path, strerror(errno)));
    close(fd);
}

// uWSGI's unix_signal:SIGNUM FUNCTION points a signal at a function of uWSGI's C core; here
// the signals are fixed, so only the pairs that say what already happens are accepted.
void unix_signal(const std::string &arg) {
    int signum = std::atoi(arg.c_str());
    std::string func = arg.substr(arg.find(' ') == std::string::npos ? arg.size() : arg.find(' ') + 1);
    bool stop = func == "gracefully_kill_them_all" || func == "kill_them_all";
    if ((signum == SIGTERM || signum == SIGINT) && stop) {
        spdlog::info("unix_signal:{}: signal {} already shuts the server down gracefully here",
                     arg, signum);
        return;
    }
    throw std::runtime_error(
        "this server's signals are fixed (HUP: graceful reload, TERM/INT: graceful shutdown, "
        "QUIT: brutal reload); only unix_signal:15 or 2 with gracefully_kill_them_all or "
        "kill_them_all is accepted");
}

void run_action(const std::string &action, const std::string &arg) {
    if (action == "exec" || action == "safeexec") {
        int code = run_command(arg);
        if (code != 0 && action == "exec")
            throw std::runtime_error(fmt::format("command exited with code {}", code));
        if (code != 0) spdlog::warn("safeexec:{} exited with code {}", arg, code);
    } else if (action == "chdir" || action == "cd") {
        if (chdir(arg.c_str()) != 0) throw std::runtime_error(strerror(errno));
    } else if (action == "mkdir") {
        if (mkdir(arg.c_str(), 0777) != 0 && errno != EEXIST)
            throw std::runtime_error(strerror(errno));
    } else if (action == "putenv") {
        if (arg.find('=') == std::string::npos) throw std::runtime_error("give KEY=VALUE");
        setenv(arg.substr(0, arg.find('=')).c_str(), arg.substr(arg.find('=') + 1).c_str(), 1);
    } else if (action == "unlink") {
        if (unlink(arg.c_str()) != 0 && errno != ENOENT) throw std::runtime_error(strerror(errno));
    } else if (action == "write") {
        write_file(arg, O_TRUNC, "write");
    } else if (action == "append") {
        write_file(arg, O_APPEND, "append");
    } else if (action == "create" || action == "creat") {
        write_file(arg, 0, "create");
    } else if (action == "print" || action == "log") {
        spdlog::info("{}", arg);
    } else if (action == "exit") {
        spdlog::info("hook exit:{}: exiting", arg);
        std::exit(arg.empty() ? 0 : std::atoi(arg.c_str()));
    } else if (action == "unix_signal") {
        unix_signal(arg);
    } else {
        throw std::runtime_error(
            "unknown action (this server knows exec, safeexec, chdir, cd, mkdir, putenv, unlink, "
            "write, append, create, print, log, exit, unix_signal)");
    }
}

void run_one(const Config &c, const std::string &option, const std::string &action,
             const std::string &arg, const std::string &shown) {
    spdlog::info("running --{} {}", option, shown);
    try {
        run_action(action, arg);
    } catch (const std::exception &e) {
        std::string origin = c.origin_of(option);
        throw ConfigError(fmt::format("--{} {}{}: {}", option, shown,
                                      origin.empty() ? "" : " (" + origin + ")", e.what()));
    }
}

}  // namespace

void run_config_hooks(const Config &c, const char *phase) {
    std::string hook = std::string("hook-") + phase;
    for (auto &spec : c.all(hook)) {
        size_t colon = spec.find(':');
        run_one(c, hook, spec.substr(0, colon),
                colon == std::string::npos ? "" : spec.substr(colon + 1), spec);
    }
    std::string exec = std::string("exec-") + phase;
    for (auto &cmd : c.all(exec)) run_one(c, exec, "exec", cmd, cmd);
}

}  // namespace core
