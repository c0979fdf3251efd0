// Finished task files reused for new tasks instead of removed and created anew. Why: on ext4
// creating a file allocates an inode, and the allocator walks past every inode freed in the
// last minute or so (it reads each one's deletion time), so at thousands of tasks a
// second each create costs 50-150 us of kernel time under the directory's lock, in the workers,
// with the spooler spinning on that lock to unlink (perf: find_inode_bit, recently_deleted; a C
// loop on this machine: create+rename+unlink 180-200 us per task, reusing the inode 36-40 us).
//
// The spooler renames a task it finished (SPOOL_OK) to a free name, `.uwsgi_spoolfree_PID_ID`
// (PID the master's, so two servers sharing a directory never share a name; ignored by every
// spooler, ours and uWSGI's), and offers ID in a table in shared memory; a worker that takes an ID
// truncates and fills that file and renames it to its task's name. Taking an ID is the claim
// (an atomic exchange): one writer per file. Anything unexpected (the file gone, a rename that
// fails, the table full or empty) falls back to removing / creating a file as before.
//
// Durable spooling syncs the new bytes before the rename (spool_file.cpp): a reused file renamed
// before they reach the disk could, after a power loss, hold the previous task's bytes under the
// new task's name. Overwritten in place (no O_TRUNC), that sync writes one data block and the
// inode, cheaper than a new file's.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace core {

constexpr std::string_view kSpoolFreePrefix = ".uwsgi_spoolfree_";

struct FreeTaskFiles {
    static constexpr size_t kSlots = 64;      // free files kept; more are removed
    static constexpr uint64_t kReserved = ~uint64_t(0);  // a spooler is renaming into the slot
    pid_t owner = 0;                          // the master's pid, part of every free name
    std::atomic<uint64_t> next_id{0};
    std::atomic<uint64_t> slots[kSlots];      // 0: empty, kReserved, or a free file's ID
};

// In place, in shared memory before fork (by the master: its pid names the files).
void init_free_task_files(FreeTaskFiles &f);

std::string free_task_path(const FreeTaskFiles &f, const std::string &dir, uint64_t id);

// A writer's claim on a free file of the directory: its ID, or 0 when there is none.
uint64_t take_free_task_file(FreeTaskFiles &f);

// A spooler done with the task at `path` (it holds its lock): renames it to a free name when the
// table has room. True: renamed; then offer_free_task_file once the task's fd is closed. False:
// nothing done (the caller removes the file as before).
bool recycle_task_file(FreeTaskFiles &f, const std::string &dir, const std::string &path,
                       uint64_t &id, size_t &slot);
void offer_free_task_file(FreeTaskFiles &f, uint64_t id, size_t slot);

}  // namespace core
