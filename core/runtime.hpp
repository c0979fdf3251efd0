// Process-wide state of the running server that the host table exposes to plugins.
#pragma once

#include "config.hpp"
#include "plugin_registry.hpp"

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace core {

struct Runtime {
    Config config;
    PluginRegistry registry;
    OptionSet options;
    int worker_id = 0;  // 0 in the master and in extra processes
    // An extra process (extra_processes.hpp): its kind ("mule", ...) and index 1..count; empty
    // in the master and in workers.
    std::string process_kind;
    int process_index = 0;
    pid_t master_pid = 0;
    std::vector<std::string> apps;  // "plugin: description" of every app loaded
    std::vector<std::string> argv;  // for re-execution on reload
    // Library mode: the core runs inside a host program that called uwsgi_init() (PyPy through
    // ctypes). The host's argv and environ are not ours to rewrite, and a reload re-executes
    // the host's command line (host_cmdline, from /proc/self/cmdline) or the --binary-path.
    bool library_mode = false;
    std::vector<std::string> host_cmdline;
    int64_t started_on = 0;    // unix time this image started
    bool is_a_reload = false;  // started by a reload (it inherited the listening sockets)
    // Set once the process model starts (fork or single-process serving): from then on the set
    // of active plugins is fixed, so nothing is activated on demand.
    bool serving = false;
};

Runtime &runtime();

// Asks the master (or the single process) to reload / stop gracefully.
void request_reload();
void request_stop();

}  // namespace core
