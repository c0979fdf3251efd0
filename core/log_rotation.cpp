#include "log_rotation.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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

std::string g_path;    // the --logto/--daemonize file; empty: none
std::string g_backup;  // --log-backupname
uint64_t g_max = 0;    // --log-maxsize; 0: rotated only by the master fifo's `L`
// The inode of the log file this process's stderr was last pointed at by us: a worker follows
// the path only while its stderr is still that file (a --logger file:PATH took stderr
// elsewhere: left alone).
ino_t g_ino = 0;
dev_t g_dev = 0;

// Raw into the log file, as uWSGI writes its rotation notes (not through the logger).
void write_raw(const std::string &text) {
    ssize_t ignored = write(2, text.data(), text.size());
    (void)ignored;
}

// Points stdout and stderr at a fresh open of the log path.
bool reopen(int flags) {
    int fd = open(g_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0640);
    if (fd < 0) return false;
    dup2(fd, 1);
    dup2(fd, 2);
    struct stat st {};
    if (fstat(fd, &st) == 0) {
        g_ino = st.st_ino;
        g_dev = st.st_dev;
    }
    close(fd);
    return true;
}

// stderr is the log file we manage (remembered on first sight).
bool stderr_is_log(const struct stat &fd_st, bool path_ok, const struct stat &path_st) {
    if (g_ino == 0 && path_ok && path_st.st_ino == fd_st.st_ino && path_st.st_dev == fd_st.st_dev) {
        g_ino = fd_st.st_ino;
        g_dev = fd_st.st_dev;
    }
    return g_ino != 0 && fd_st.st_ino == g_ino && fd_st.st_dev == g_dev;
}

void rotate(uint64_t size) {
    if (!rotate_log_file(g_path, g_backup, size, 2)) return;
    dup2(2, 1);
    struct stat st {};
    if (fstat(2, &st) == 0) {  // the fresh file is the one we manage now
        g_ino = st.st_ino;
        g_dev = st.st_dev;
    }
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
    struct stat fd_st {}, path_st {};
    if (!g_path.empty() && fstat(2, &fd_st) == 0)
        stderr_is_log(fd_st, stat(g_path.c_str(), &path_st) == 0, path_st);
}

// g_path is kept without --log-maxsize too (for the fifo's l and L); rotated only with it.
RotatedLog rotated_log() { return {g_max ? g_path : std::string(), g_backup, g_max}; }

void check_log_rotation(bool may_rotate) {
    if (g_path.empty()) return;
    struct stat fd_st {}, path_st {};
    if (fstat(2, &fd_st) != 0 || !S_ISREG(fd_st.st_mode)) return;
    bool path_ok = stat(g_path.c_str(), &path_st) == 0;
    if (!stderr_is_log(fd_st, path_ok, path_st)) return;
    if (!path_ok || path_st.st_ino != fd_st.st_ino || path_st.st_dev != fd_st.st_dev) {
        // A worker follows the path (the master rotated or reopened it). The master follows a
        // file moved by hand only under --log-maxsize; else it waits for the fifo's `l` (what
        // logrotate's postrotate sends), so the old file gets uWSGI's reopen note.
        if (!may_rotate || g_max) reopen(0);
        return;
    }
    if (may_rotate && g_max && uint64_t(fd_st.st_size) > g_max) rotate(uint64_t(fd_st.st_size));
}

namespace {

// stderr is the --logto/--daemonize file (not a --logger's log process or another file).
bool stderr_is_managed_log(struct stat &fd_st) {
    struct stat path_st {};
    if (g_path.empty() || fstat(2, &fd_st) != 0 || !S_ISREG(fd_st.st_mode)) return false;
    return stderr_is_log(fd_st, stat(g_path.c_str(), &path_st) == 0, path_st);
}

}  // namespace

void reopen_log_now() {
    struct stat st {};
    if (!stderr_is_managed_log(st)) {
        spdlog::warn("log reopen asked, but the log does not go to a --logto/--daemonize file "
                     "(none given, or --logger backends own it)");
        return;
    }
    uint64_t size = uint64_t(st.st_size);
    write_raw(fmt::format("[{}] logsize: {}, triggering log-reopen...\n", time(nullptr), size));
    if (!reopen(0)) {
        spdlog::error("cannot reopen the log file {}: {}; still writing to the old one", g_path,
                      strerror(errno));
        return;
    }
    write_raw(fmt::format("[{}] {} reopened.\n", time(nullptr), g_path));
}

void rotate_log_now() {
    struct stat st {};
    if (!stderr_is_managed_log(st)) {
        spdlog::warn("log rotation asked, but the log does not go to a --logto/--daemonize file "
                     "(none given, or --logger backends own it)");
        return;
    }
    rotate(uint64_t(st.st_size));
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
