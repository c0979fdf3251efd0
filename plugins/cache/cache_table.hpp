// One cache: a fixed hash table of items in one shared mapping (anonymous, or the store= file),
// created before fork so every process shares it, guarded by one process-shared robust mutex.
//
// Layout: header | bucket heads | item slots (header + key) | one value block per slot.
// A slot is free, live, or being written; every link (buckets, LRU, free list) is rebuilt from
// the slots' states after a crash (a holder that died: EOWNERDEAD) and when a store is mapped,
// so a worker killed in the middle of a write loses at most the item it was writing.
#pragma once

#include "cache_spec.hpp"

#include <uwsgi/cache.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cache {

struct Header;
struct Slot;

class Table {
public:
    using Logger = std::function<void(int level, const std::string &msg)>;

    // Maps the cache. False with `why` (a store file of another geometry, mmap failure...).
    static std::unique_ptr<Table> create(const Spec &spec, const Logger &log, std::string &why);
    ~Table();
    Table(const Table &) = delete;
    Table &operator=(const Table &) = delete;

    const Spec &spec() const { return spec_; }

    int64_t get(std::string_view key, void *buf, size_t buflen);
    int set(std::string_view key, std::string_view value, uint64_t expires, uint32_t flags);
    int del(std::string_view key);
    int exists(std::string_view key);
    int clear();
    int math(std::string_view key, int32_t op, int64_t operand, uint64_t expires, int64_t *result);
    int64_t key_at(uint64_t *pos, void *buf, size_t buflen);
    void info(uwsgi_cache_info &out);
    uint64_t sweep();  // removes expired items; the number removed
    void sync();       // flushes a store file (msync); nothing for an anonymous cache

private:
    class Guard;
    Table(const Spec &spec, const Logger &log) : spec_(spec), log_(log) {}
    bool map(std::string &why);
    void initialise();
    void rebuild();  // every link from the slots' states
    Slot *slot(uint32_t index) const;
    char *block(uint32_t index) const;
    uint32_t find(std::string_view key, uint64_t hash, uint64_t now);
    void unlink(uint32_t index);
    void lru_push(uint32_t index);
    void lru_remove(uint32_t index);
    uint32_t allocate(uint64_t now);
    void make_room(uint64_t now);
    uint64_t remove_expired(uint64_t now);
    void clear_locked();
    uint64_t deadline(uint64_t expires, uint64_t now) const;  // 0: never
    int insert(std::string_view key, uint64_t hash, std::string_view value, uint64_t expires,
               uint64_t now);
    void write_value(uint32_t index, std::string_view value);

    Spec spec_;
    Logger log_;
    void *base_ = nullptr;
    size_t size_ = 0;
    Header *header_ = nullptr;
    uint32_t *buckets_ = nullptr;
    char *slots_ = nullptr;
    char *data_ = nullptr;
    size_t slot_size_ = 0;
};

}  // namespace cache
