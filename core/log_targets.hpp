// uWSGI's loggers, as its core and logfile plugin offer them: `--logger [NAME ]BACKEND` for
// the server's log, `--req-logger [NAME ]BACKEND` for request lines, BACKEND being
// `file:PATH`, `file:logfile=PATH,maxsize=BYTES,backupname=FILE`, `fd:N` or `stdio` (the
// original stderr); `--log-route NAME REGEX` / `--log-req-route NAME REGEX` send the lines a
// regex matches to the named logger only; `--log-encoder` / `--log-req-encoder` chains.
//
// As uWSGI's log master: with any of these options the log goes through a log process.
// Every process's stderr (and stdout) becomes one end of a SOCK_SEQPACKET socket pair, each
// write one message; the log process reads them and writes each to its loggers: to every
// logger whose route matches, else to every unnamed logger, else (no unnamed logger) to the
// original stderr. Request lines have their own pair, written without blocking (see
// write_request_line). The log process exits when the last writer is gone, after the
// master's last line: nothing is lost at shutdown.
#pragma once

#include "config.hpp"

#include <string_view>

namespace core {

// Throws ConfigError on an unknown backend, a file that cannot be opened, a bad keyval, a
// route to a logger no --logger names, a bad regex or encoder. Then starts the log process.
void configure_loggers(const Config &c);

// One request log line (ending in '\n'). With a log process: sent without waiting to its
// request queue (the socket's buffer, 1 MiB when root may raise it, else the system's maximum
// send buffer); when the queue is full, because the log disk is slower than the requests,
// the line is dropped and counted instead of holding the request thread, and the count is
// logged with the next line that fits (a slow disk costs log lines, never request latency).
// Without one: written to stderr (--logto, the terminal) in one write.
void write_request_line(std::string_view line);
// Whether request lines go through write_request_line as they are (no logger prefix).
bool request_logger_set();

}  // namespace core
