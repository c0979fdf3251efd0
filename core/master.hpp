// The master process: forks the workers, respawns the ones that die, enforces --harakiri,
// and turns signals into graceful reload (SIGHUP), shutdown (SIGTERM/SIGINT) and brutal reload
// (SIGQUIT). Without --master a single process serves and handles the same signals itself.
#pragma once

#include "sockets.hpp"

#include <vector>

namespace core {

// Returns the process exit code; a reload re-executes the binary and does not return.
int run_master(const std::vector<Listener> &listeners);
int run_single(const std::vector<Listener> &listeners);

}  // namespace core
