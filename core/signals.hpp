// uWSGI signals: 256 numbered events a process raises and the master routes to their target
// processes (any worker, one worker, all workers), where the handler registered for the number
// runs on the worker's signal thread, so request threads never wait for it. The master raises
// them too: timers, red-black timers (a count of iterations), cron entries and inotify file
// monitors, all registered in shared memory by any process and armed by the master's loop.
#pragma once

#include <uwsgi/plugin.h>

#include <cstdint>
#include <string>

namespace core {

// Before fork: the shared table and every pipe (master mode only; without a master signals
// are refused, as in uWSGI).
void create_signals(int workers, bool master);

// host functions (ABI 1.1); failures are logged and return UWSGI_ERROR
int signal_register(uint8_t sig, const char *target, uwsgi_signal_handler fn, void *ctx);
int signal_raise(uint8_t sig);
int signal_is_registered(uint8_t sig);
int signal_wait(int32_t sig, int32_t timeout_ms);  // the signal received, or UWSGI_ERROR
int signal_add_timer(uint8_t sig, int64_t interval_ms, int64_t iterations);
int signal_add_cron(uint8_t sig, int minute, int hour, int day, int month, int weekday);
int signal_add_file_monitor(uint8_t sig, const char *path);

// The master's part, once per turn of its loop while serving: routes what workers raised,
// fires due timers, cron entries and file monitors, and checks --touch-reload files.
void master_signal_tick();
// How long the master may wait before its next tick: until the next timer is due, at most
// `longest_ms`.
int64_t master_signal_wait_ms(int64_t longest_ms);

// An extra process kind (extra_processes.cpp): its signal targets ("NAME", "NAMEN", "NAMEs")
// and their pipes, made in the master before fork.
void add_signal_targets(const std::string &kind, int count);

// A worker's signal thread: started with the request threads, stopped before they are joined.
void start_worker_signal_thread(int worker_id);
// The signal thread of extra process `index` (1..count) of `kind`; runs until the process exits.
void start_process_signal_thread(const std::string &kind, int index);
void stop_worker_signal_thread();

// Called on the signal thread just before and just after each handler it runs, in any process
// (set before fork). The mules use it for --mule-harakiri and to end a mule_get_msg waiting
// with signals (uWSGI returns None from it after handling a signal).
struct SignalObserver {
    void (*before)(uint8_t sig) = nullptr;
    void (*after)(uint8_t sig) = nullptr;
};
void observe_signal_handlers(SignalObserver observer);

}  // namespace core
