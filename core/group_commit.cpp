#include "group_commit.hpp"

#include <cerrno>
#include <fcntl.h>
#include <new>
#include <unistd.h>

namespace core {

bool fsync_dir(const std::string &dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = fsync(fd) == 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return ok;
}

bool init_dir_commit(DirCommit &c) {
    new (&c) DirCommit();
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return false;
    bool ok = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
              pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 &&
              pthread_mutex_init(&c.lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    return ok;
}

uint64_t dir_commit_ticket(DirCommit &c) { return c.renamed.fetch_add(1) + 1; }

bool dir_commit_wait(DirCommit &c, uint64_t ticket, const std::string &dir) {
    if (c.synced.load() >= ticket) return true;  // a sync that began after our rename is done
    // Writers arriving while one syncs wait here; the next to get the lock syncs once for all of
    // them (every ticket taken before its fsync began), the others find themselves covered.
    int rc = pthread_mutex_lock(&c.lock);
    if (rc == EOWNERDEAD) pthread_mutex_consistent(&c.lock);  // its sync may not have finished
    else if (rc != 0) return fsync_dir(dir);                  // no group: sync alone
    bool ok = true;
    if (c.synced.load() < ticket) {
        uint64_t upto = c.renamed.load();  // taken after their renames: this fsync covers them
        ok = fsync_dir(dir);
        if (ok) {
            c.fsyncs.fetch_add(1);
            uint64_t seen = c.synced.load();
            while (seen < upto && !c.synced.compare_exchange_weak(seen, upto)) {
            }
        }
    }
    int saved = errno;
    pthread_mutex_unlock(&c.lock);
    errno = saved;
    return ok;
}

}  // namespace core
