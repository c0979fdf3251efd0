// uWSGI's --log-maxsize BYTES / --log-backupname FILE: the --logto / --daemonize file is
// renamed (to FILE, else LOGFILE.UNIXTIME) once it grows past BYTES, and a new one is opened.
// The master fifo's `L` rotates it at once and `l` reopens it (after an outside logrotate).
#pragma once

#include "config.hpp"

#include <cstdint>
#include <string>

namespace core {

// Remembers the log file and the limit; ConfigError for a limit without a log file to rotate.
void configure_log_rotation(const Config &c);

// The master (or single process), each tick: rotates when the file is past the limit.
// A worker, each second (`may_rotate` false): when the path names another file than its
// stderr (the master rotated), reopens it, so a worker writes at most a second into the
// rotated file.
void check_log_rotation(bool may_rotate);

// The --logto/--daemonize file --log-maxsize rotates (path empty: none). With a log process
// (log_targets.hpp) stderr is its socket; the log process rotates this file then.
struct RotatedLog {
    std::string path, backup;
    uint64_t max = 0;
};
RotatedLog rotated_log();

// Renames the file at `path` (open as `fd`, `size` bytes) to `backup` (else PATH.UNIXTIME)
// and points `fd` at a fresh empty file, with uWSGI's note in the old one. Also the rotation
// of a `--logger file:logfile=PATH,maxsize=N` backend.
bool rotate_log_file(const std::string &path, const std::string &backup, uint64_t size, int fd);
// The master fifo's `l`: reopen the path (uWSGI's notes written into the old and new file);
// workers follow on their next tick. A warning when there is no log file.
void reopen_log_now();
// The master fifo's `L`: rotate now, whatever the size (uWSGI's uwsgi_log_rotate).
void rotate_log_now();

}  // namespace core
