// uWSGI's logger backends, as its logfile plugin offers them: `--logger BACKEND` for the
// server's log and `--req-logger BACKEND` for request lines, each `file:PATH` (appending) or
// `stdio` (the original stderr). Set up once at start-up, before sockets and apps.
#pragma once

#include "config.hpp"

#include <string_view>

namespace core {

// Throws ConfigError on an unknown backend, a file that cannot be opened, or a named logger
// (`NAME file:PATH`, for --log-route, which this server does not route).
void configure_loggers(const Config &c);

// One request log line (ending in '\n'): to every --req-logger, else to the server's log
// (stderr, which --logger / --logto point at the right file). One write per target, so lines
// from several threads and processes stay whole.
void write_request_line(std::string_view line);
bool request_logger_set();

}  // namespace core
