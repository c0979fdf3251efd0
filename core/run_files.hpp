// The files a running server leaves on disk: the --pidfile and its UNIX sockets.
#pragma once

#include "config.hpp"
#include "sockets.hpp"

#include <vector>

namespace core {

// Writes the master's pid to --pidfile, if given. Throws ConfigError when it cannot: a pidfile
// that silently is not there breaks whatever supervises the server through it.
void write_pidfile(const Config &config);

// On exit: removes the UNIX sockets this server bound and its pidfile.
void remove_run_files(const std::vector<Listener> &listeners);

}  // namespace core
