#include "log_rotation.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace core {
namespace {

std::string g_path;    // the --logto/--daemonize file; empty: no rotation
std::string g_backup;  // --log-backupname
uint64_t g_max = 0;

// Points stdout and stderr at a fresh open of the log path.
bool reopen(int flags) {
    int fd = open(g_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | flags, 0640);
    if (fd < 0) return false;
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    return true;
}

}  // namespace

void configure_log_rotation(const Config &c) {
    g_max = uint64_t(std::max<int64_t>(0, c.number("log-maxsize", 0)));
    if (const std::string *b = c.get("log-backupname")) g_backup = *b;
    for (const char *name : {"logto", "logto2", "daemonize", "daemonize2"})
        if (const std::string *p = c.get(name)) g_path = *p;
    if (g_max && g_path.empty())
        throw ConfigError("--log-maxsize rotates the --logto or --daemonize file: give one of "
                          "them (or rotate a logger: --logger file:logfile=PATH,maxsize=BYTES)");
    if (!g_max) g_path.clear();
}

RotatedLog rotated_log() { return {g_path, g_backup, g_max}; }

void check_log_rotation(bool may_rotate) {
    if (g_path.empty()) return;
    struct stat fd_st {}, path_st {};
    if (fstat(2, &fd_st) != 0 || !S_ISREG(fd_st.st_mode)) return;
    bool path_ok = stat(g_path.c_str(), &path_st) == 0;
    if (!path_ok || path_st.st_ino != fd_st.st_ino || path_st.st_dev != fd_st.st_dev) {
        reopen(0);  // rotated by the master (or removed by hand): follow the path
        return;
    }
    if (!may_rotate || uint64_t(fd_st.st_size) <= g_max) return;
    if (rotate_log_file(g_path, g_backup, uint64_t(fd_st.st_size), 2)) dup2(2, 1);
}

bool rotate_log_file(const std::string &path, const std::string &backup, uint64_t size, int fd) {
    std::string to = backup.empty() ? fmt::format("{}.{}", path, time(nullptr)) : backup;
    // uWSGI's words, written raw into the file being rotated
    std::string note = fmt::format("logsize: {}, triggering rotation to {}...\n", size, to);
    ssize_t ignored = write(fd, note.data(), note.size());
    (void)ignored;
    if (std::rename(path.c_str(), to.c_str()) != 0) {
        std::string err = fmt::format("unable to rotate log: rename({}, {}): {}\n", path, to,
                                      std::strerror(errno));
        ignored = write(fd, err.data(), err.size());
        return false;
    }
    int fresh = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
    if (fresh < 0) return false;
    dup2(fresh, fd);  // dup2 clears close-on-exec: fd keeps the flags it had as stderr
    close(fresh);
    return true;
}

}  // namespace core
