// uWSGI core options about the process itself (working directory, environment, umask, file
// descriptors, log file, daemon mode, process titles, socket ownership), applied by the server
// at the points uWSGI applies them.
#pragma once

#include "config.hpp"
#include "sockets.hpp"

#include <string>
#include <vector>

namespace core {

// Before sockets are bound and plugins start: --umask, --max-fd, --chdir, --env, --logto,
// --daemonize. Throws ConfigError naming the option and where it was set.
void apply_early_process_options(const Config &c);

// After privileges are dropped: --logto2.
void apply_late_log(const Config &c);

// After apps are loaded: --daemonize2. True when the process became a daemon (its pid changed).
bool daemonize_late(const Config &c);

// --chown-socket USER[:GROUP] on the UNIX sockets.
void chown_unix_sockets(const Config &c, const std::vector<Listener> &listeners);

// The memory of the process's own argv, where a title is written (as uWSGI does) so that ps
// shows it. Not called in library mode: the host's argv is not ours.
void remember_argv_area(int argc, char **argv);

// --auto-procname, --procname-prefix(-spaced), --procname-master: the name of this process
// ("uWSGI master", "uWSGI worker 3"...), set when any of them is given: in the argv area
// (ps, /proc/PID/cmdline; cut to the length of the original command line) and as the kernel's
// 15-byte comm (top, /proc/PID/comm).
void set_process_title(const Config &c, const std::string &role);

}  // namespace core
