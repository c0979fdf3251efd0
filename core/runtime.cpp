#include "runtime.hpp"

#include <csignal>

namespace core {

Runtime &runtime() {
    static Runtime r;
    return r;
}

void request_reload() { kill(runtime().master_pid, SIGHUP); }
void request_stop() { kill(runtime().master_pid, SIGTERM); }

}  // namespace core
