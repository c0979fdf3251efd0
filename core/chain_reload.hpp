// uWSGI's chain reload (master fifo `c`): the workers are reloaded one at a time, the next only
// once the previous one's successor waits for connections, so the others keep serving and no
// request is refused or dropped (a graceful worker stop finishes its requests first).
#pragma once

#include <sys/types.h>
#include <vector>

namespace core {

class ChainReload {
public:
    void start();  // a chain already running goes on
    // Once per master tick: pids[id] and cheaped[id] for id 1..N. Sends SIGHUP to the next
    // worker when the previous one has been replaced and is ready.
    void step(const std::vector<pid_t> &pids, const std::vector<char> &cheaped);

private:
    size_t next_ = 0;    // the worker id being reloaded; 0: no chain
    pid_t cursed_ = 0;   // its old process, told to go and not yet replaced
};

}  // namespace core
