// Spooler task files: uWSGI's byte layout, special keys, names, the atomic write (no task name
// ever holds a partial task; the lock protocol uWSGI's writers and spoolers use), and the group
// commit of the durable write (group_commit.hpp): writers in several processes at once each
// return only after an fsync of the directory that began after their rename, writers waiting
// while one syncs share the next fsync, a writer killed while it syncs blocks no one.
#include "group_commit.hpp"
#include "spool_file.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace core;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/spool_file_test_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

std::vector<std::string> entries(const std::string &dir) {
    std::vector<std::string> out;
    DIR *d = opendir(dir.c_str());
    while (dirent *e = readdir(d))
        if (e->d_name[0] != '.' || std::string(e->d_name).size() > 2) out.push_back(e->d_name);
    closedir(d);
    return out;
}

// A DirCommit in memory shared with the children this test forks, as the spooler maps it.
DirCommit *shared_commit() {
    void *mem = mmap(nullptr, sizeof(DirCommit), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mem != MAP_FAILED);
    auto *c = static_cast<DirCommit *>(mem);
    REQUIRE(init_dir_commit(*c));
    return c;
}

}  // namespace

TEST_CASE("a task is uWSGI's packet: modifier1 17, little-endian size, modifier2 0, body after") {
    std::string out;
    REQUIRE(encode_task({{"a", "bc"}}, "BODY", out));
    // 2 + 1 + 2 + 2 = 7 bytes of vars
    std::string expected("\x11\x07\x00\x00\x01\x00" "a" "\x02\x00" "bc" "BODY", 4 + 7 + 4);
    CHECK(out == expected);
    DecodedTask t;
    REQUIRE(decode_task(out, t));
    REQUIRE(t.pairs.size() == 1);
    CHECK(t.pairs[0].key == "a");
    CHECK(t.pairs[0].value == "bc");
    CHECK(t.body == "BODY");
}

TEST_CASE("the key/value block is limited to 64 KiB, the body is not") {
    std::string big(70000, 'x'), out;
    CHECK_FALSE(encode_task({{"k", big}}, "", out));
    CHECK_FALSE(encode_task({{"k", std::string(40000, 'x')}, {"l", std::string(40000, 'y')}}, "",
                            out));
    REQUIRE(encode_task({{"k", "v"}}, big, out));
    DecodedTask t;
    REQUIRE(decode_task(out, t));
    CHECK(t.body.size() == big.size());
}

TEST_CASE("a truncated or malformed task does not decode") {
    std::string out;
    REQUIRE(encode_task({{"key", "value"}}, "", out));
    DecodedTask t;
    CHECK_FALSE(decode_task(out.substr(0, 3), t));
    CHECK_FALSE(decode_task(out.substr(0, out.size() - 1), t));
    std::string bad("\x11\x03\x00\x00\x05\x00" "a", 7);  // a key longer than the block
    CHECK_FALSE(decode_task(bad, t));
}

TEST_CASE("special keys: spooler, priority, at (a float's fraction dropped)") {
    std::vector<SpoolPair> pairs = {{"spooler", "/srv/s"}, {"priority", "3"}, {"at", "1700000000.75"}};
    SpoolPlacement p = placement_of(pairs);
    CHECK(p.spooler == "/srv/s");
    CHECK(p.priority == "3");
    CHECK(p.at == 1700000000);
    CHECK(check_priority("3").empty());
    CHECK_FALSE(check_priority("../x").empty());
    CHECK_FALSE(check_priority("high").empty());
}

TEST_CASE("names are uWSGI's: uwsgi_spoolfile_on_HOST_PID_COUNTER_RAND_SEC_USEC") {
    std::string n = spool_file_name("host", 42, 7);
    CHECK(n.rfind("uwsgi_spoolfile_on_host_42_7_", 0) == 0);
    int fields = 0;
    for (char c : n.substr(std::string("uwsgi_spoolfile_on_host_").size())) fields += c == '_';
    CHECK(fields == 4);
    CHECK(spool_file_name("host", 42, 7) != n);
}

TEST_CASE("a written task is whole under its name, with at as mtime; no temporary file stays") {
    std::string dir = temp_dir(), error, bytes;
    REQUIRE(encode_task({{"k", "v"}}, "body", bytes));
    std::string path = write_task_file(dir + "/5", "uwsgi_spoolfile_on_t_1", bytes, 2000000000,
                                       error);
    REQUIRE(path == dir + "/5/uwsgi_spoolfile_on_t_1");
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK(st.st_mtime == 2000000000);
    CHECK(entries(dir + "/5") == std::vector<std::string>{"uwsgi_spoolfile_on_t_1"});
    std::string content;
    REQUIRE(read_task_file(path, content));
    CHECK(content == bytes);
    LockedTask task;
    REQUIRE(open_task(path, task) == TaskOpen::Ready);
    CHECK(task.content == bytes);
}

TEST_CASE("without fsync (--spooler-no-fsync) a task is still renamed in whole") {
    std::string dir = temp_dir(), error, bytes;
    REQUIRE(encode_task({{"k", "v"}}, "body", bytes));
    std::string path = write_task_file(dir, "uwsgi_spoolfile_on_t_3", bytes, 0, error, false);
    REQUIRE(path == dir + "/uwsgi_spoolfile_on_t_3");
    CHECK(entries(dir) == std::vector<std::string>{"uwsgi_spoolfile_on_t_3"});
    std::string content;
    REQUIRE(read_task_file(path, content));
    CHECK(content == bytes);
}

TEST_CASE("an unwritable directory is an error naming it") {
    std::string error;
    CHECK(write_task_file("/proc/no/such", "uwsgi_spoolfile_on_x", "x", 0, error).empty());
    CHECK(error.find("/proc/no/such") != std::string::npos);
}

TEST_CASE("a task locked by another process (a spooler running it, uWSGI writing it) is busy") {
    std::string dir = temp_dir(), error, bytes;
    REQUIRE(encode_task({{"k", "v"}}, "", bytes));
    std::string path = write_task_file(dir, "uwsgi_spoolfile_on_t_2", bytes, 0, error);
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        LockedTask held;
        _exit(open_task(path, held) == TaskOpen::Ready && write(ready[1], "x", 1) == 1 &&
                      usleep(500 * 1000) == 0
                  ? 0
                  : 1);
    }
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    {
        LockedTask mine;
        CHECK(open_task(path, mine) == TaskOpen::Busy);
    }
    int status;
    waitpid(pid, &status, 0);
    LockedTask after;
    CHECK(open_task(path, after) == TaskOpen::Ready);
    unlink(path.c_str());
    LockedTask gone;
    CHECK(open_task(path, gone) == TaskOpen::Gone);
}

TEST_CASE("a finished task's file is reused: overwritten, cut to length, renamed") {
    bool durable = GENERATE(false, true);  // durable: synced before its rename, then the dir
    std::string dir = temp_dir(), error, big, small;
    REQUIRE(encode_task({{"k", "v"}}, std::string(5000, 'B'), big));
    REQUIRE(encode_task({{"k", "w"}}, "s", small));
    FreeTaskFiles free;
    init_free_task_files(free);
    CHECK(take_free_task_file(free) == 0);
    std::string first = write_task_file(dir, "uwsgi_spoolfile_on_t_4", big, 0, error, durable,
                                        nullptr, &free);
    REQUIRE(first == dir + "/uwsgi_spoolfile_on_t_4");
    struct stat was {};
    REQUIRE(stat(first.c_str(), &was) == 0);
    // the spooler, done with it under its lock: renamed to a free name, offered once closed
    uint64_t id = 0;
    size_t slot = 0;
    {
        LockedTask task;
        REQUIRE(open_task(first, task) == TaskOpen::Ready);
        REQUIRE(recycle_task_file(free, dir, first, id, slot));
        // a spooler that opened the old name before: the name is gone, so is its task
        LockedTask late;
        CHECK(open_task(first, late) == TaskOpen::Gone);
    }
    offer_free_task_file(free, id, slot);
    std::string second = write_task_file(dir, "uwsgi_spoolfile_on_t_5", small, 2000000000, error,
                                         durable, nullptr, &free);
    REQUIRE(second == dir + "/uwsgi_spoolfile_on_t_5");
    struct stat now {};
    REQUIRE(stat(second.c_str(), &now) == 0);
    CHECK(now.st_ino == was.st_ino);  // the same file, no new inode
    CHECK(now.st_mtime == 2000000000);
    CHECK(entries(dir) == std::vector<std::string>{"uwsgi_spoolfile_on_t_5"});
    std::string content;
    REQUIRE(read_task_file(second, content));
    CHECK(content == small);  // only the new task: the old bytes truncated
    CHECK(take_free_task_file(free) == 0);  // taken once
}

TEST_CASE("the table of free files is bounded: a full one leaves the file to be removed") {
    std::string dir = temp_dir(), error, bytes;
    REQUIRE(encode_task({{"k", "v"}}, "", bytes));
    FreeTaskFiles free;
    init_free_task_files(free);
    for (size_t i = 0; i <= FreeTaskFiles::kSlots; ++i) {
        std::string path = write_task_file(dir, "uwsgi_spoolfile_on_f_" + std::to_string(i),
                                           bytes, 0, error, false);
        uint64_t id = 0;
        size_t slot = 0;
        bool kept = recycle_task_file(free, dir, path, id, slot);
        CHECK(kept == (i < FreeTaskFiles::kSlots));
        if (kept) offer_free_task_file(free, id, slot);
        else CHECK(access(path.c_str(), F_OK) == 0);  // untouched: the caller removes it
    }
    // a free file removed meanwhile (an old one cleaned up): the writer creates a file instead
    uint64_t id = take_free_task_file(free);
    REQUIRE(id != 0);
    REQUIRE(unlink(free_task_path(free, dir, id).c_str()) == 0);
    offer_free_task_file(free, id, 0);
    std::string path = write_task_file(dir, "uwsgi_spoolfile_on_g", bytes, 0, error, false,
                                       nullptr, &free);
    CHECK(path == dir + "/uwsgi_spoolfile_on_g");
    std::string content;
    REQUIRE(read_task_file(path, content));
    CHECK(content == bytes);
}

TEST_CASE("an empty task file (a power loss before its bytes reached the disk) is told apart") {
    std::string dir = temp_dir(), path = dir + "/uwsgi_spoolfile_on_e";
    int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    LockedTask task;
    CHECK(open_task(path, task) == TaskOpen::Empty);
}

TEST_CASE("writers waiting while one syncs share one fsync of the directory") {
    std::string dir = temp_dir();
    DirCommit *c = shared_commit();
    REQUIRE(pthread_mutex_lock(&c->lock) == 0);  // as a writer in the middle of its fsync
    std::vector<uint64_t> tickets(5);
    for (auto &t : tickets) t = dir_commit_ticket(*c);  // five renames meanwhile
    std::vector<std::thread> writers;
    std::vector<int> ok(5, 0);
    for (size_t i = 0; i < 5; ++i)
        writers.emplace_back([&, i] { ok[i] = dir_commit_wait(*c, tickets[i], dir); });
    REQUIRE(pthread_mutex_unlock(&c->lock) == 0);
    for (auto &w : writers) w.join();
    CHECK(ok == std::vector<int>(5, 1));
    CHECK(c->fsyncs.load() == 1);  // the first to get the lock synced for all five
    CHECK(c->synced.load() == 5);
    // a later rename is not covered by that fsync: its writer syncs again
    uint64_t later = dir_commit_ticket(*c);
    CHECK(c->synced.load() < later);
    CHECK(dir_commit_wait(*c, later, dir));
    CHECK(c->fsyncs.load() == 2);
    CHECK(c->synced.load() == later);
}

TEST_CASE("a writer killed while it syncs leaves the group to the next one") {
    std::string dir = temp_dir();
    DirCommit *c = shared_commit();
    uint64_t ticket = dir_commit_ticket(*c);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&c->lock);
        _exit(0);  // dies holding the lock, its fsync unfinished
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(dir_commit_wait(*c, ticket, dir));
    CHECK(c->synced.load() >= ticket);
    CHECK(c->fsyncs.load() == 1);
    CHECK(dir_commit_wait(*c, dir_commit_ticket(*c), dir));  // and the lock still works
}

TEST_CASE("concurrent durable spools in several processes: each returns synced, each task whole") {
    std::string dir = temp_dir();
    DirCommit *c = shared_commit();
    const int processes = 4, per_process = 25;
    std::vector<pid_t> pids;
    for (int p = 0; p < processes; ++p) {
        pid_t pid = fork();
        if (pid == 0) {
            int bad = 0;
            for (int i = 0; i < per_process; ++i) {
                std::string bytes, error, name = spool_file_name("t", getpid(), uint64_t(i));
                std::string body(1000 + size_t(i), char('a' + p));
                if (!encode_task({{"n", std::to_string(i)}}, body, bytes)) _exit(2);
                // this write's ticket is after every ticket taken before it started
                uint64_t before = c->renamed.load();
                std::string path = write_task_file(dir, name, bytes, 0, error, true, c);
                if (path.empty() || c->synced.load() < before + 1) ++bad;
            }
            _exit(bad ? 1 : 0);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = -1;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    CHECK(c->renamed.load() == uint64_t(processes * per_process));
    CHECK(c->synced.load() == c->renamed.load());
    CHECK(c->fsyncs.load() >= 1);
    CHECK(c->fsyncs.load() <= uint64_t(processes * per_process));
    int tasks = 0;
    DIR *d = opendir(dir.c_str());
    while (dirent *e = readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        REQUIRE(name.rfind(std::string(kSpoolFilePrefix), 0) == 0);  // no temporary left
        std::string content;
        DecodedTask task;
        REQUIRE(read_task_file(dir + "/" + name, content));
        REQUIRE(decode_task(content, task));
        REQUIRE(task.pairs.size() == 1);
        size_t i = std::stoul(std::string(task.pairs[0].value));
        CHECK(task.body.size() == 1000 + i);
        CHECK(task.body.find_first_not_of(task.body[0]) == std::string_view::npos);
        ++tasks;
    }
    closedir(d);
    CHECK(tasks == processes * per_process);
}
