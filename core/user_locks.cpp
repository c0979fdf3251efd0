#include "user_locks.hpp"

#include <uwsgi/plugin.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

namespace core {
namespace {

struct UserLock {
    pthread_mutex_t mutex;
    pid_t holder;  // for the recovery message; written only by the holder
};

UserLock *g_locks = nullptr;
int g_count = 0;

UserLock *find(uint32_t id, const char *what) {
    if (!g_locks || id >= uint32_t(g_count)) {
        spdlog::error("{}: no user lock {} (ids are 0..{}; raise --locks)", what, id,
                      g_count - 1);
        return nullptr;
    }
    return &g_locks[id];
}

// EOWNERDEAD: the previous holder died with the lock; the state it protected may be half
// written, but refusing the lock for ever would hang every worker. Mark it usable and say so.
void recover(UserLock &l, uint32_t id) {
    spdlog::warn("user lock {}: its holder (pid {}) died holding it; recovered", id, l.holder);
    pthread_mutex_consistent(&l.mutex);
}

}  // namespace

void create_user_locks(int count) {
    g_count = count + 1;
    size_t size = sizeof(UserLock) * size_t(g_count);
    void *mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("cannot map the user locks");
    g_locks = static_cast<UserLock *>(mem);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    for (int i = 0; i < g_count; ++i) {
        pthread_mutex_init(&g_locks[i].mutex, &attr);
        g_locks[i].holder = 0;
    }
    pthread_mutexattr_destroy(&attr);
}

int user_lock_count() { return g_count; }

int user_lock(uint32_t id) {
    UserLock *l = find(id, "lock");
    if (!l) return UWSGI_ERROR;
    int rc = pthread_mutex_lock(&l->mutex);
    if (rc == EOWNERDEAD) recover(*l, id);
    else if (rc != 0) {
        spdlog::error("lock {}: {}", id, strerror(rc));
        return UWSGI_ERROR;
    }
    l->holder = getpid();
    return UWSGI_OK;
}

int user_unlock(uint32_t id) {
    UserLock *l = find(id, "unlock");
    if (!l) return UWSGI_ERROR;
    pid_t was = l->holder;
    l->holder = 0;
    if (pthread_mutex_unlock(&l->mutex) == 0) return UWSGI_OK;
    l->holder = was;  // not ours to unlock: it stays held
    return UWSGI_ERROR;
}

pid_t user_lock_holder(uint32_t id) {
    return id < uint32_t(g_count) ? g_locks[id].holder : 0;
}

int user_is_locked(uint32_t id) {
    UserLock *l = find(id, "is_locked");
    if (!l) return UWSGI_ERROR;
    int rc = pthread_mutex_trylock(&l->mutex);
    if (rc == EBUSY) return 1;
    if (rc == EOWNERDEAD) recover(*l, id);
    else if (rc != 0) return UWSGI_ERROR;
    pthread_mutex_unlock(&l->mutex);
    return 0;
}

}  // namespace core
