#include "log_targets.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

std::vector<int> g_request_fds;  // --req-logger targets; empty: the server's log

// "file:PATH" -> an appending fd; "stdio" -> stderr as it is now (before any --logger).
int open_target(const std::string &spec, const char *option) {
    if (spec == "stdio") return dup(2);
    if (spec.rfind("file:", 0) == 0 && spec.size() > 5) {
        std::string path = spec.substr(5);
        int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0)
            throw ConfigError(fmt::format("--{} {}: cannot open '{}': {} (give a writable file)",
                                          option, spec, path, std::strerror(errno)));
        return fd;
    }
    if (spec.find(' ') != std::string::npos)
        throw ConfigError(fmt::format("--{} '{}': named loggers (for --log-route) are not "
                                      "supported here; give file:PATH or stdio alone",
                                      option, spec));
    throw ConfigError(fmt::format("--{} '{}': unknown logger backend (known: file:PATH, stdio)",
                                  option, spec));
}

}  // namespace

void configure_loggers(const Config &c) {
    for (auto &spec : c.all("req-logger")) g_request_fds.push_back(open_target(spec, "req-logger"));
    const std::vector<std::string> &general = c.all("logger");
    if (general.size() > 1)
        throw ConfigError(fmt::format("--logger given {} times: this server writes its log to "
                                      "one backend (give one --logger)",
                                      general.size()));
    if (general.empty()) return;
    // The server's log is stderr (the apps' too, as with --logto): point it at the backend.
    int fd = open_target(general[0], "logger");
    dup2(fd, 2);
    close(fd);
}

void write_request_line(std::string_view line) {
    if (g_request_fds.empty()) {
        ssize_t ignored = write(2, line.data(), line.size());
        (void)ignored;
        return;
    }
    for (int fd : g_request_fds) {
        ssize_t ignored = write(fd, line.data(), line.size());
        (void)ignored;  // a full disk must not fail the request
    }
}

bool request_logger_set() { return !g_request_fds.empty(); }

}  // namespace core
