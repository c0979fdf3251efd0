// uWSGI's spooler task files: the bytes of a task (a uwsgi packet of key/value pairs with
// modifier1 17, then an optional body), uWSGI's file names, and writing one atomically.
//
// uWSGI writes a task in place under an fcntl lock, so a crash mid-write leaves a truncated
// task under a task's name. Here a task is written under a temporary name the spooler ignores,
// given its `at` time, renamed, and synced: a crash of the server at any moment leaves the whole
// task or none, and a task spool() returned survives a power loss.
// Readers still honour uWSGI's fcntl lock, so a directory shared with uWSGI works both ways.
#pragma once

#include "group_commit.hpp"
#include "spool_recycle.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace core {

constexpr uint8_t kSpoolModifier1 = 17;
constexpr std::string_view kSpoolFilePrefix = "uwsgi_spoolfile_on_";
// Files being written: no task name, so neither our spooler nor uWSGI's picks them up.
constexpr std::string_view kSpoolTempPrefix = ".uwsgi_spooltmp_";

struct SpoolPair {
    std::string_view key, value;
};

// What a task's keys say about where and when it runs (uWSGI's special keys).
struct SpoolPlacement {
    std::string_view spooler;   // the target --spooler directory, "" for the first
    std::string_view priority;  // a sub-directory, "" for none
    int64_t at = 0;             // unix time it may run from (a float's fraction dropped), 0 now
};

// The file's bytes: header (modifier1 17, the block's size, modifier2 0), the block, the body.
// False (out untouched) when the key/value block exceeds 65535 bytes, as in uWSGI.
bool encode_task(const std::vector<SpoolPair> &pairs, std::string_view body, std::string &out);

// A task file's content split into its pairs (views into `file`) and body. False when the file
// is shorter than its header says, or the block is malformed.
struct DecodedTask {
    std::vector<SpoolPair> pairs;
    std::string_view body;
};
bool decode_task(std::string_view file, DecodedTask &out);

SpoolPlacement placement_of(const std::vector<SpoolPair> &pairs);

// A priority must be a plain directory name: digits, as uWSGI's ordered spooler expects (it only
// descends into numeric sub-directories). Empty `why` when it is.
std::string check_priority(std::string_view priority);

// uWSGI's name: uwsgi_spoolfile_on_HOST_PID_COUNTER_RAND_SEC_USEC.
std::string spool_file_name(const std::string &hostname, pid_t pid, uint64_t counter);

// Writes `bytes` as a new task in `dir` (created when missing, 0777 & ~umask, as uWSGI does for
// priorities): temporary file, mtime = at (when > 0), rename, fsync of the file, fsync of the
// directory, all before it returns: a task returned is on disk. With `commit`, the directory's
// fsync is shared with the writers (threads, processes) that renamed a task into `dir` at about
// the same moment (group_commit.hpp). Without `durable` (--spooler-no-fsync) both fsyncs are
// left out: the write stays atomic for a crash of the server (a whole task or none) but a power
// loss may take tasks spool() returned. With `reuse` (spool_recycle.hpp) the bytes go into a
// finished task's file the spooler left, when there is one, instead of a new file (durable:
// synced before its rename, then the directory as above). Returns the task's path, or "" with `error` set.
std::string write_task_file(const std::string &dir, const std::string &name,
                            std::string_view bytes, int64_t at, std::string &error,
                            bool durable = true, DirCommit *commit = nullptr,
                            FreeTaskFiles *reuse = nullptr);

// The state of a task file a spooler may run: opened read-write and fcntl-locked (by this
// process; the lock goes with the fd), with its content. Not runnable: another process holds
// the lock (a spooler running it, or uWSGI still writing it), it is gone (removed, or its name
// now names another file: a spooler finished it and reused the file), or it is empty.
struct LockedTask {
    int fd = -1;
    std::string content;
    LockedTask() = default;
    LockedTask(const LockedTask &) = delete;
    LockedTask &operator=(const LockedTask &) = delete;
    ~LockedTask();
};
enum class TaskOpen { Ready, Busy, Gone, Empty };
TaskOpen open_task(const std::string &path, LockedTask &task);

// Reads a task file without locking it (uwsgi.spooler_get_task): false when missing/unreadable.
bool read_task_file(const std::string &path, std::string &content);

}  // namespace core
