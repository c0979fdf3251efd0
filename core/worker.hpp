// A worker process: --threads request threads sharing one epoll set that holds the listening
// sockets and the idle keep-alive connections, so a thread serves whichever connection has a
// request ready and no thread is parked on an idle client.
#pragma once

#include "sockets.hpp"

#include <vector>

namespace core {

// HurriedStop and BrutalReload return with request threads still running: the caller must end
// the process at once (_exit or execv).
enum class WorkerExit { Stop, HurriedStop, Reload, BrutalReload, Recycle };

WorkerExit run_worker(int worker_id, const std::vector<Listener> &listeners);

}  // namespace core
