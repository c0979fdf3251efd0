// uWSGI's spooler: `--spooler DIR` directories of task files (spool_file.hpp) that spooler
// processes scan and hand, one task at a time, to the handlers plugins registered
// (host->register_spooler; the pypy plugin's runs `uwsgi.spooler`). Any process enqueues with
// host->spool. The master spawns `spooler_process_count()` processes (each --spooler DIR times
// --spooler-processes) after the apps are loaded, respawns them and stops them with the server.
#pragma once

#include "config.hpp"

#include <uwsgi/plugin.h>

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace core {

// Before fork and before the plugins' init: the directories are created when missing (as
// uWSGI) and checked (an unusable one is a ConfigError naming it and the fix), and the table of
// spooler processes is mapped in shared memory.
void create_spoolers(const Config &c);

int spooler_process_count();
const std::string &spooler_process_dir(int index);

// The spooler process `index` (0-based; forked by the master, post_fork hooks run): the
// handlers' init, then scan, run, wait, until stop_spooler_process() (from another thread:
// the master's shutdown or reload; the task in hand finishes first) or --spooler-max-tasks.
// Returns the exit code.
int run_spooler_process(int index);
void stop_spooler_process();

// host functions (ABI 1.1)
int spool_task(const uwsgi_str *keys, const uwsgi_str *values, size_t count, const void *body,
               size_t body_len, char *task, size_t task_size);
int register_spooler_handler(uwsgi_spooler_handler handler, void (*init)(void *), void *ctx);
int read_spool_task(const char *task, uwsgi_spooler_handler fn, void *ctx);
int32_t spooler_pid_of(int32_t index);
const char *spooler_dir_of(int32_t index);
int32_t this_spooler_index();
void set_spooler_frequency(int32_t secs);

// What uWSGI's stats server lists under "spoolers", one per spooler process: its directory,
// pid (0 between a death and the respawn), tasks run since it started, times it was respawned,
// and whether a task runs now.
struct SpoolerFacts {
    std::string dir;
    pid_t pid = 0;
    uint64_t tasks = 0, respawns = 0;
    bool running = false;
};
std::vector<SpoolerFacts> spooler_facts();

}  // namespace core
