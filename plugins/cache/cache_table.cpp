#include "cache_table.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cache {

namespace {

constexpr uint64_t kMagic = 0x3165686361637775ull;  // "uwcache1"
constexpr uint32_t kLayout = 1;

enum : uint32_t { kFree = 0, kLive = 1, kWriting = 2 };

uint64_t fnv1a(std::string_view key) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
    return h;
}

uint64_t now_seconds() { return uint64_t(::time(nullptr)); }

size_t round8(size_t n) { return (n + 7) & ~size_t(7); }

}  // namespace

struct Header {
    uint64_t magic;
    uint32_t layout;
    uint32_t next_full_sweep;  // unix seconds: sweep_on_full's next chance
    uint64_t items, blocksize, keysize, buckets;
    pthread_mutex_t lock;  // initialised at every start: no process holds it then
    uint64_t n_items, hits, misses, full;
    uint32_t free_head, lru_head, lru_tail, reserved2;
};

struct Slot {
    uint64_t hash;
    uint64_t valsize;
    uint64_t expires;  // unix seconds, 0 never
    uint64_t hits;
    uint32_t keysize;
    uint32_t state;
    uint32_t next;  // same bucket (1-based, 0 none); also the free list's link
    uint32_t lru_prev, lru_next;
    uint32_t reserved;
    char key[];
};

// Holds the cache's mutex; a holder that died is recovered by rebuilding every link.
class Table::Guard {
public:
    explicit Guard(Table &t) : t_(t) {
        int rc = pthread_mutex_lock(&t.header_->lock);
        if (rc == EOWNERDEAD) {
            t.rebuild();
            pthread_mutex_consistent(&t.header_->lock);
            t.log_(2, "cache \"" + t.spec_.name +
                          "\": a process died while holding it; rebuilt its index (" +
                          std::to_string(t.header_->n_items) + " items kept)");
        }
    }
    ~Guard() { pthread_mutex_unlock(&t_.header_->lock); }

private:
    Table &t_;
};

std::unique_ptr<Table> Table::create(const Spec &spec, const Logger &log, std::string &why) {
    std::unique_ptr<Table> t(new Table(spec, log));
    if (!t->map(why)) return nullptr;
    return t;
}

Table::~Table() {
    if (base_) ::munmap(base_, size_);
}

Slot *Table::slot(uint32_t index) const {
    return reinterpret_cast<Slot *>(slots_ + size_t(index - 1) * slot_size_);
}

char *Table::block(uint32_t index) const { return data_ + size_t(index - 1) * spec_.blocksize; }

bool Table::map(std::string &why) {
    uint64_t buckets = 16;
    while (buckets < (spec_.hashsize ? spec_.hashsize : spec_.items)) buckets <<= 1;
    slot_size_ = round8(sizeof(Slot) + spec_.keysize);
    size_t head = round8(sizeof(Header)) + round8(buckets * sizeof(uint32_t));
    size_ = head + slot_size_ * spec_.items + spec_.blocksize * spec_.items;

    bool existing = false;
    int fd = -1;
    if (!spec_.store.empty()) {
        fd = ::open(spec_.store.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            why = "cannot open store file " + spec_.store + ": " + std::strerror(errno);
            return false;
        }
        struct stat st {};
        ::fstat(fd, &st);
        existing = st.st_size > 0;
        if (existing && size_t(st.st_size) != size_ && spec_.store_delete) {
            log_(1, "cache \"" + spec_.name + "\": store file " + spec_.store +
                        " has another geometry; store_delete: starting it empty");
            existing = ::ftruncate(fd, 0) != 0;
        }
        if (existing && size_t(st.st_size) != size_) {
            ::close(fd);
            why = "store file " + spec_.store + " is " + std::to_string(st.st_size) +
                  " bytes, but this cache's items/blocksize/keysize need " + std::to_string(size_) +
                  ": remove the file or give the geometry it was made with";
            return false;
        }
        if (!existing && ::ftruncate(fd, off_t(size_)) != 0) {
            why = "cannot size store file " + spec_.store + ": " + std::strerror(errno);
            ::close(fd);
            return false;
        }
    }
    void *p = fd >= 0 ? ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                               -1, 0);
    if (fd >= 0) ::close(fd);
    if (p == MAP_FAILED) {
        why = "cannot map " + std::to_string(size_) + " bytes of shared memory: " +
              std::strerror(errno);
        return false;
    }
    base_ = p;
    header_ = static_cast<Header *>(p);
    buckets_ = reinterpret_cast<uint32_t *>(static_cast<char *>(p) + round8(sizeof(Header)));
    slots_ = static_cast<char *>(p) + head;
    data_ = slots_ + slot_size_ * spec_.items;

    if (existing) {
        const Header &h = *header_;
        bool same = h.magic == kMagic && h.layout == kLayout && h.items == spec_.items &&
                    h.blocksize == spec_.blocksize && h.keysize == spec_.keysize &&
                    h.buckets == buckets;
        if (!same && spec_.store_delete) {
            log_(1, "cache \"" + spec_.name + "\": store file " + spec_.store +
                        " has another geometry; store_delete: starting it empty");
            std::memset(base_, 0, size_);
            existing = false;
        } else if (!same) {
            why = "store file " + spec_.store +
                  " was not written by this cache (another items/blocksize/keysize, or not a "
                  "cache store): remove it or give the geometry it was made with";
            return false;
        }
    }
    if (!existing) {
        header_->magic = kMagic;
        header_->layout = kLayout;
        header_->items = spec_.items;
        header_->blocksize = spec_.blocksize;
        header_->keysize = spec_.keysize;
        header_->buckets = buckets;
    }
    initialise();
    rebuild();
    if (existing)
        log_(1, "cache \"" + spec_.name + "\": " + std::to_string(header_->n_items) +
                    " items restored from " + spec_.store);
    return true;
}

void Table::initialise() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&header_->lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

void Table::rebuild() {
    Header &h = *header_;
    std::memset(buckets_, 0, h.buckets * sizeof(uint32_t));
    h.free_head = h.lru_head = h.lru_tail = 0;
    h.n_items = 0;
    for (uint32_t i = uint32_t(spec_.items); i >= 1; --i) {  // free list ascending
        Slot *s = slot(i);
        if (s->state == kLive && s->keysize && s->keysize <= spec_.keysize &&
            s->valsize <= spec_.blocksize) {
            uint32_t &bucket = buckets_[s->hash & (h.buckets - 1)];
            s->next = bucket;
            bucket = i;
            ++h.n_items;
        } else {
            s->state = kFree;
            s->keysize = 0;
            s->next = h.free_head;
            h.free_head = i;
        }
    }
    for (uint32_t i = 1; i <= spec_.items; ++i)
        if (slot(i)->state == kLive) lru_push(i);
}

void Table::lru_push(uint32_t index) {
    Slot *s = slot(index);
    s->lru_prev = header_->lru_tail;
    s->lru_next = 0;
    if (header_->lru_tail)
        slot(header_->lru_tail)->lru_next = index;
    else
        header_->lru_head = index;
    header_->lru_tail = index;
}

void Table::lru_remove(uint32_t index) {
    Slot *s = slot(index);
    if (s->lru_prev)
        slot(s->lru_prev)->lru_next = s->lru_next;
    else
        header_->lru_head = s->lru_next;
    if (s->lru_next)
        slot(s->lru_next)->lru_prev = s->lru_prev;
    else
        header_->lru_tail = s->lru_prev;
    s->lru_prev = s->lru_next = 0;
}

void Table::unlink(uint32_t index) {
    Slot *s = slot(index);
    uint32_t *link = &buckets_[s->hash & (header_->buckets - 1)];
    while (*link && *link != index) link = &slot(*link)->next;
    if (*link) *link = s->next;
    lru_remove(index);
    s->state = kFree;
    s->keysize = 0;
    s->next = header_->free_head;
    header_->free_head = index;
    --header_->n_items;
}

uint32_t Table::find(std::string_view key, uint64_t hash, uint64_t now) {
    for (uint32_t i = buckets_[hash & (header_->buckets - 1)]; i; i = slot(i)->next) {
        Slot *s = slot(i);
        if (s->hash != hash || s->keysize != key.size() ||
            std::memcmp(s->key, key.data(), key.size()) != 0)
            continue;
        if (s->expires && s->expires <= now) {  // expired: gone for every reader at once
            unlink(i);
            return 0;
        }
        return i;
    }
    return 0;
}

uint32_t Table::allocate(uint64_t now) {
    Header &h = *header_;
    if (!h.free_head) {
        ++h.full;
        make_room(now);
        if (!h.free_head) {
            if (!spec_.ignore_full)
                log_(2, "cache \"" + spec_.name + "\" is full (" + std::to_string(spec_.items) +
                            " items): the item was not stored; raise items= or use purge_lru=1, "
                            "sweep_on_full= or clear_on_full=1");
            return 0;
        }
    }
    uint32_t i = h.free_head;
    h.free_head = slot(i)->next;
    return i;
}

// uWSGI's answers to a full cache, in its order: evict the least recently used item; else remove
// the expired ones (at most every sweep_on_full seconds); else, if that freed nothing, empty it.
void Table::make_room(uint64_t now) {
    Header &h = *header_;
    if (spec_.purge_lru && h.lru_head) {
        unlink(h.lru_head);
        return;
    }
    if (spec_.sweep_on_full && h.next_full_sweep <= now) {
        h.next_full_sweep = uint32_t(now + spec_.sweep_on_full);
        if (remove_expired(now)) return;
    }
    if (spec_.clear_on_full) {
        log_(1, "cache \"" + spec_.name + "\" is full: clear_on_full emptied it");
        clear_locked();
    }
}

uint64_t Table::deadline(uint64_t expires, uint64_t now) const {
    return expires && !spec_.no_expire ? now + expires : 0;
}

void Table::write_value(uint32_t index, std::string_view value) {
    Slot *s = slot(index);
    s->state = kWriting;  // a crash from here to kLive drops this item, nothing else
    std::memcpy(block(index), value.data(), value.size());
    s->valsize = value.size();
    s->state = kLive;
}

int Table::insert(std::string_view key, uint64_t hash, std::string_view value, uint64_t expires,
                  uint64_t now) {
    uint32_t i = allocate(now);
    if (!i) return UWSGI_ELIMIT;
    Slot *s = slot(i);
    s->state = kWriting;
    s->hash = hash;
    s->keysize = uint32_t(key.size());
    std::memcpy(s->key, key.data(), key.size());
    s->expires = deadline(expires, now);
    s->hits = 0;
    uint32_t &bucket = buckets_[hash & (header_->buckets - 1)];
    s->next = bucket;
    bucket = i;
    lru_push(i);
    ++header_->n_items;
    write_value(i, value);
    return UWSGI_OK;
}

int64_t Table::get(std::string_view key, void *buf, size_t buflen) {
    uint64_t hash = fnv1a(key);
    uint64_t now = now_seconds();
    Guard g(*this);
    uint32_t i = find(key, hash, now);
    if (!i) {
        ++header_->misses;
        return UWSGI_ERROR;
    }
    Slot *s = slot(i);
    ++s->hits;
    ++header_->hits;
    if (spec_.purge_lru) {
        lru_remove(i);
        lru_push(i);
    }
    if (s->valsize <= buflen) std::memcpy(buf, block(i), s->valsize);
    return int64_t(s->valsize);
}

int Table::set(std::string_view key, std::string_view value, uint64_t expires, uint32_t flags) {
    if (key.empty() || key.size() > spec_.keysize || value.empty() ||
        value.size() > spec_.blocksize)
        return UWSGI_ELIMIT;
    uint64_t hash = fnv1a(key);
    uint64_t now = now_seconds();
    Guard g(*this);
    uint32_t i = find(key, hash, now);
    if (!i) return insert(key, hash, value, expires, now);
    if (!(flags & UWSGI_CACHE_UPDATE)) return UWSGI_ERROR;
    slot(i)->expires = deadline(expires, now);
    lru_remove(i);
    lru_push(i);
    write_value(i, value);
    return UWSGI_OK;
}

int Table::del(std::string_view key) {
    uint64_t hash = fnv1a(key);
    uint64_t now = now_seconds();
    Guard g(*this);
    uint32_t i = find(key, hash, now);
    if (!i) return UWSGI_ERROR;
    unlink(i);
    return UWSGI_OK;
}

int Table::exists(std::string_view key) {
    uint64_t hash = fnv1a(key);
    uint64_t now = now_seconds();
    Guard g(*this);
    return find(key, hash, now) ? 1 : 0;
}

int Table::clear() {
    Guard g(*this);
    clear_locked();
    return UWSGI_OK;
}

void Table::clear_locked() {
    for (uint32_t i = 1; i <= spec_.items; ++i) slot(i)->state = kFree;
    rebuild();
}

int Table::math(std::string_view key, int32_t op, int64_t operand, uint64_t expires,
                int64_t *result) {
    if (key.empty() || key.size() > spec_.keysize || spec_.blocksize < 8) return UWSGI_ELIMIT;
    uint64_t hash = fnv1a(key);
    uint64_t now = now_seconds();
    Guard g(*this);
    uint32_t i = find(key, hash, now);
    int64_t n = spec_.math_initial;
    if (i) {
        if (slot(i)->valsize != 8) return UWSGI_ERROR;
        std::memcpy(&n, block(i), 8);
    }
    // wrapping arithmetic, as uWSGI's int64_t operations on the machine
    uint64_t u = uint64_t(n), d = uint64_t(operand);
    switch (op) {
        case UWSGI_CACHE_INC: n = int64_t(u + d); break;
        case UWSGI_CACHE_DEC: n = int64_t(u - d); break;
        case UWSGI_CACHE_MUL: n = int64_t(u * d); break;
        case UWSGI_CACHE_DIV:
            n = operand == 0 ? 0 : (operand == -1 ? int64_t(0 - u) : n / operand);
            break;
        default: return UWSGI_ERROR;
    }
    std::string_view bytes(reinterpret_cast<const char *>(&n), 8);
    if (!i) {
        int rc = insert(key, hash, bytes, expires, now);
        if (rc != UWSGI_OK) return rc;
    } else {
        write_value(i, bytes);  // the expiry stays (uWSGI's FIXEXPIRE)
    }
    if (result) *result = n;
    return UWSGI_OK;
}

int64_t Table::key_at(uint64_t *pos, void *buf, size_t buflen) {
    uint64_t now = now_seconds();
    Guard g(*this);
    for (uint64_t p = *pos; p < spec_.items; ++p) {
        Slot *s = slot(uint32_t(p + 1));
        if (s->state != kLive || (s->expires && s->expires <= now)) continue;
        if (s->keysize > buflen) {
            *pos = p;
            return s->keysize;
        }
        std::memcpy(buf, s->key, s->keysize);
        *pos = p + 1;
        return s->keysize;
    }
    *pos = spec_.items;
    return UWSGI_ERROR;
}

void Table::info(uwsgi_cache_info &out) {
    Guard g(*this);
    out.max_items = spec_.items;
    out.blocksize = spec_.blocksize;
    out.keysize = spec_.keysize;
    out.items = header_->n_items;
    out.hits = header_->hits;
    out.misses = header_->misses;
    out.full = header_->full;
    out.purge_lru = spec_.purge_lru ? 1 : 0;
    out.hashsize = header_->buckets;
}

uint64_t Table::sweep() {
    if (spec_.lazy_expire || spec_.no_expire) return 0;  // uWSGI's sweeper skips these caches
    Guard g(*this);
    return remove_expired(now_seconds());
}

uint64_t Table::remove_expired(uint64_t now) {
    uint64_t removed = 0;
    for (uint32_t i = 1; i <= spec_.items; ++i) {
        Slot *s = slot(i);
        if (s->state == kLive && s->expires && s->expires <= now) {
            unlink(i);
            ++removed;
        }
    }
    return removed;
}

void Table::sync() {
    if (!spec_.store.empty()) ::msync(base_, size_, MS_SYNC);
}

}  // namespace cache
