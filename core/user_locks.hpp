// uWSGI's user locks (uwsgi.lock / unlock / is_locked, --locks N): ids 0..N, process-shared
// robust mutexes in an anonymous shared mapping made before fork. A process that dies holding
// one does not deadlock the others: the next locker recovers it and the event is logged.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace core {

void create_user_locks(int count);  // ids 0..count (uWSGI: lock 0 always exists)
int user_lock_count();              // the highest valid id + 1

// UWSGI_OK, or UWSGI_ERROR for an unknown id (logged).
int user_lock(uint32_t id);    // blocks
int user_unlock(uint32_t id);  // UWSGI_ERROR too when this thread does not hold it
int user_is_locked(uint32_t id);  // 1 held, 0 free
pid_t user_lock_holder(uint32_t id);  // for the stats server: the pid holding it, 0 when free

}  // namespace core
