#include "spool_file.hpp"

#include <uwsgi/packet.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

namespace core {

namespace packet = uwsgi::packet;

bool encode_task(const std::vector<SpoolPair> &pairs, std::string_view body, std::string &out) {
    std::string block;
    for (const auto &p : pairs)
        if (!packet::append_item(block, p.key) || !packet::append_item(block, p.value))
            return false;
    if (block.size() > packet::kMaxItem) return false;
    out.clear();
    out.reserve(packet::kHeaderSize + block.size() + body.size());
    packet::append_header(out, {kSpoolModifier1, uint16_t(block.size()), 0});
    out += block;
    out += body;
    return true;
}

bool decode_task(std::string_view file, DecodedTask &out) {
    if (file.size() < packet::kHeaderSize) return false;
    auto h = packet::decode_header(reinterpret_cast<const unsigned char *>(file.data()));
    if (file.size() - packet::kHeaderSize < h.size) return false;
    std::string_view block = file.substr(packet::kHeaderSize, h.size);
    out.pairs.clear();
    bool whole = packet::for_each_var(block, [&](std::string_view k, std::string_view v) {
        out.pairs.push_back({k, v});
        return true;
    });
    out.body = file.substr(packet::kHeaderSize + h.size);
    return whole;
}

SpoolPlacement placement_of(const std::vector<SpoolPair> &pairs) {
    SpoolPlacement p;
    for (const auto &kv : pairs) {
        if (kv.key == "spooler") p.spooler = kv.value;
        else if (kv.key == "priority") p.priority = kv.value;
        else if (kv.key == "at") {
            // uWSGI: "at can be a float", its digits up to the dot
            int64_t n = 0;
            for (char c : kv.value) {
                if (c < '0' || c > '9') break;
                n = n * 10 + (c - '0');
            }
            p.at = n;
        }
    }
    return p;
}

std::string check_priority(std::string_view priority) {
    if (priority.empty()) return "";
    if (priority.size() > 32 || priority.find_first_not_of("0123456789") != std::string_view::npos)
        return fmt::format("priority '{}' must be a number (it names a sub-directory the spooler "
                           "runs in order)",
                           priority);
    return "";
}

std::string spool_file_name(const std::string &hostname, pid_t pid, uint64_t counter) {
    timeval tv{};
    gettimeofday(&tv, nullptr);
    static thread_local std::minstd_rand rng{std::random_device{}()};
    return fmt::format("{}{}_{}_{}_{}_{}_{}", kSpoolFilePrefix, hostname, int(pid), counter,
                       int(rng() & 0x7fffffff), int64_t(tv.tv_sec), int64_t(tv.tv_usec));
}

namespace {

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(size_t(n));
    }
    return true;
}

bool set_mtime(int fd, int64_t at) {
    // uWSGI's convention: a task's mtime is the time it may run from (set before the task has
    // its name: a spooler must not see it early)
    timespec ts[2] = {{at, 0}, {at, 0}};
    return at <= 0 || futimens(fd, ts) == 0;
}

// A free file of the directory (spool_recycle.hpp) filled and renamed to `path`; false when
// there was none or any step failed (the free file is then removed: not a task either way).
// Durable: the bytes are synced before the rename, so a power loss can never leave the previous
// task's bytes under this task's name; the caller syncs the directory.
bool write_into_free_file(FreeTaskFiles &reuse, const std::string &dir, const std::string &path,
                          std::string_view bytes, int64_t at, bool durable) {
    uint64_t id = take_free_task_file(reuse);
    if (!id) return false;
    std::string free = free_task_path(reuse, dir, id);
    int fd = open(free.c_str(), O_WRONLY | O_CLOEXEC);
    // overwritten in place, then cut to its length: no block freed and allocated again (as
    // O_TRUNC would), so a durable sync writes the data block and the inode alone
    bool ok = fd >= 0 && write_all(fd, bytes) && ftruncate(fd, off_t(bytes.size())) == 0 &&
              set_mtime(fd, at) && (!durable || fsync(fd) == 0);
    // closed before the rename: the close's inotify event names the free file (no spooler
    // wakes for it), the rename's names the task
    if (fd >= 0 && close(fd) != 0) ok = false;
    if (ok && rename(free.c_str(), path.c_str()) == 0) return true;
    unlink(free.c_str());
    return false;
}

// A new file: a temporary name, renamed to `path`, then (durable) synced. The name first, then
// one sync of the file after it: on a journalling file system that fsync commits the file's
// data, its inode and the rename together (a sync before the rename made it two journal commits
// per task). A process crash still leaves the whole task or none (the data is in the page cache
// before the name exists); see "Spooler durability" in docs/ARCHITECTURE.md for a power loss.
// `ticket`: the directory's group commit's, taken right after the rename.
bool write_new_file(const std::string &dir, const std::string &name, const std::string &path,
                    std::string_view bytes, int64_t at, bool durable, DirCommit *commit,
                    uint64_t &ticket, std::string &error) {
    std::string temp = dir + "/" + std::string(kSpoolTempPrefix) + name;
    const int flags = O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC;
    int fd = open(temp.c_str(), flags, S_IRUSR | S_IWUSR);
    // a priority sub-directory is created by its first task (one mkdir, not one per task)
    if (fd < 0 && errno == ENOENT) {
        if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
            error = fmt::format("cannot create {}: {}", dir, strerror(errno));
            return false;
        }
        fd = open(temp.c_str(), flags, S_IRUSR | S_IWUSR);
    }
    if (fd < 0) {
        error = fmt::format("cannot create {}: {}", temp, strerror(errno));
        return false;
    }
    bool ok = write_all(fd, bytes) && set_mtime(fd, at);
    if (ok && rename(temp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        close(fd);
        unlink(temp.c_str());
        error = fmt::format("cannot write {}: {}", path, strerror(saved));
        return false;
    }
    if (ok && durable && commit) ticket = dir_commit_ticket(*commit);
    if (ok && durable) ok = fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        // not known to be on disk: not a task (a spooler that already took it runs it once)
        unlink(path.c_str());
        unlink(temp.c_str());
        error = fmt::format("cannot write {}: {}", path, strerror(saved));
    }
    return ok;
}

}  // namespace

std::string write_task_file(const std::string &dir, const std::string &name,
                            std::string_view bytes, int64_t at, std::string &error,
                            bool durable, DirCommit *commit, FreeTaskFiles *reuse) {
    std::string path = dir + "/" + name;
    uint64_t ticket = 0;
    if (reuse && write_into_free_file(*reuse, dir, path, bytes, at, durable)) {
        if (durable && commit) ticket = dir_commit_ticket(*commit);
    } else if (!write_new_file(dir, name, path, bytes, at, durable, commit, ticket, error)) {
        return "";
    }
    if (!durable) return path;
    // the directory's entry: shared with the writers of the same moment when there is a group
    if (commit ? dir_commit_wait(*commit, ticket, dir) : fsync_dir(dir)) return path;
    int saved = errno;
    unlink(path.c_str());  // not known to be on disk: not a task
    error = fmt::format("cannot write {}: {}", path, strerror(saved));
    return "";
}

LockedTask::~LockedTask() {
    if (fd >= 0) close(fd);  // releases the fcntl lock
}

TaskOpen open_task(const std::string &path, LockedTask &task) {
    task.fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (task.fd < 0) return TaskOpen::Gone;
    // uWSGI's protocol: whoever holds the write lock owns the task (a spooler running it, or
    // uWSGI's writer still filling it)
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(task.fd, F_SETLK, &fl) != 0) return TaskOpen::Busy;
    // the spooler that ran it may have unlinked it between our open and our lock
    struct stat st {}, named{};
    if (fstat(task.fd, &st) != 0 || st.st_nlink == 0) return TaskOpen::Gone;
    // or finished and its file reused (renamed to a free name, then maybe to a new task's)
    if (stat(path.c_str(), &named) != 0 || named.st_ino != st.st_ino || named.st_dev != st.st_dev)
        return TaskOpen::Gone;
    if (st.st_size == 0) return TaskOpen::Empty;
    task.content.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < task.content.size()) {
        ssize_t n = pread(task.fd, task.content.data() + got, task.content.size() - got,
                          off_t(got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += size_t(n);
    }
    task.content.resize(got);
    return TaskOpen::Ready;
}

bool read_task_file(const std::string &path, std::string &content) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    content.clear();
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) content.append(buf, size_t(n));
    close(fd);
    return n == 0;
}

}  // namespace core
