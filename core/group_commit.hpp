// A group commit of a directory's entries, shared by processes: writers that renamed a file into
// the directory at about the same moment share one fsync of it (the spooler's task files, many
// requests in flight in several workers and threads). It lives in memory mapped MAP_SHARED
// before fork; the mutex is robust, so a writer killed while it syncs leaves it to the next.
#pragma once

#include <atomic>
#include <cstdint>
#include <pthread.h>
#include <string>

namespace core {

struct DirCommit {
    pthread_mutex_t lock;              // held by the one writer that syncs for the group
    std::atomic<uint64_t> renamed{0};  // tickets handed out: one per rename into the directory
    std::atomic<uint64_t> synced{0};   // every ticket up to this one is on disk
    std::atomic<uint64_t> fsyncs{0};   // fsyncs of the directory done (tests, the bench)
};

// Sets up `c` in place (shared memory, before fork); false when the mutex cannot be made.
bool init_dir_commit(DirCommit &c);

// After renaming a file into the directory: the rename's ticket.
uint64_t dir_commit_ticket(DirCommit &c);

// Returns once an fsync of `dir` that began after `ticket` was taken has finished: the one of a
// concurrent writer that covered it, or this writer's own (it syncs for every ticket taken so
// far). False, errno set, when the fsync failed.
bool dir_commit_wait(DirCommit &c, uint64_t ticket, const std::string &dir);

// One fsync of a directory (its entries: created, renamed, removed names). False, errno set,
// when it cannot be opened or synced.
bool fsync_dir(const std::string &dir);

}  // namespace core
