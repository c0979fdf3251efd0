#include "spool_recycle.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <new>
#include <unistd.h>

namespace core {

void init_free_task_files(FreeTaskFiles &f) {
    new (&f) FreeTaskFiles();
    for (auto &s : f.slots) s.store(0);
    f.owner = getpid();
}

std::string free_task_path(const FreeTaskFiles &f, const std::string &dir, uint64_t id) {
    return fmt::format("{}/{}{}_{}", dir, kSpoolFreePrefix, int(f.owner), id);
}

uint64_t take_free_task_file(FreeTaskFiles &f) {
    for (auto &s : f.slots) {
        uint64_t id = s.load(std::memory_order_relaxed);
        if (id == 0 || id == FreeTaskFiles::kReserved) continue;
        if (s.compare_exchange_strong(id, 0)) return id;
    }
    return 0;
}

bool recycle_task_file(FreeTaskFiles &f, const std::string &dir, const std::string &path,
                       uint64_t &id, size_t &slot) {
    for (slot = 0; slot < FreeTaskFiles::kSlots; ++slot) {
        uint64_t empty = 0;
        if (f.slots[slot].compare_exchange_strong(empty, FreeTaskFiles::kReserved)) break;
    }
    if (slot == FreeTaskFiles::kSlots) return false;  // enough free files already
    id = f.next_id.fetch_add(1) + 1;
    if (rename(path.c_str(), free_task_path(f, dir, id).c_str()) == 0) return true;
    f.slots[slot].store(0);
    return false;
}

void offer_free_task_file(FreeTaskFiles &f, uint64_t id, size_t slot) { f.slots[slot].store(id); }

}  // namespace core
