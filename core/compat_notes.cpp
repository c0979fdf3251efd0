#include "compat_notes.hpp"

#include <spdlog/spdlog.h>

#include <set>
#include <string>
#include <utility>

namespace core {

namespace {

const std::pair<const char *, const char *> kNotes[] = {
    {"vacuum", "UNIX sockets and the pidfile are always removed at exit here"},
    {"die-on-term", "SIGTERM always shuts down here (uWSGI 2.0 reloads on it without this)"},
    {"enable-threads", "threads are always enabled here"},
    {"thunder-lock", "not needed: each listener is re-armed one-shot in epoll, so one thread "
                     "accepts a connection (no thundering herd)"},
    {"harakiri-verbose", "harakiri kills are always logged with the worker, its pid and how long "
                         "the request ran"},
    {"ignore-sigpipe", "SIGPIPE is always ignored here"},
    {"ignore-write-errors", "a client gone mid-response ends the request with an info line, "
                            "never an error"},
    {"reaper", "the master always reaps its children"},
    {"master-as-root", "the master runs as the user it was started as, until --uid/--gid"},
    {"close-on-exec", "every socket and file the server opens is close-on-exec (listening "
                      "sockets pass only to the server re-executed on reload)"},
    {"log-reopen", "the log file is reopened on every reload: the server re-executes itself"},
    {"log-date", "log lines always start with the date"},
    {"logdate", "log lines always start with the date"},
    {"threaded-logger", "log writes already happen in a log process of their own (with "
                        "--logger, --req-logger, --log-route or --log-encoder), off the master"},
    {"log-master", "every process writes its own lines to the same log; with --logger, "
                   "--req-logger, --log-route or --log-encoder a log process takes them all"},
    {"post-buffering", "request bodies are read from the socket as the app reads wsgi.input; "
                       "nothing is buffered ahead (wsgi.input is not seekable)"},
    {"lazy", "as --lazy-apps: apps load in each worker"},
    {"worker-reload-mercy", "as --reload-mercy: how long stopping workers may take"},
};

}  // namespace

void log_compat_notes(const Config &c) {
    std::set<std::string> used;
    for (auto &[key, value] : c.entries()) used.insert(key);
    for (auto &[key, note] : kNotes)
        if (used.count(key)) spdlog::info("--{}: {}", key, note);
}

}  // namespace core
