// The request log line: uWSGI's --log-format / --logformat with its %(name) variables, and which
// requests are logged (--disable-logging with uWSGI's exceptions --log-4xx, --log-5xx,
// --log-slow MS, --log-big BYTES, and uwsgi.log_this_request()).
#pragma once

#include "config.hpp"
#include "request.hpp"

#include <string>
#include <vector>

namespace core {

struct RequestLogFacts {
    int worker_id = 0;
    int core = 0;               // the request thread
    int64_t duration_us = 0;
    int64_t start_unix_us = 0;  // wall clock at the request's start
};

class RequestLogFormat {
public:
    // Throws ConfigError naming the fault: an unclosed "%(", an empty "%()", or a name with
    // characters outside [A-Za-z0-9_.-]. Other names are uWSGI's variables, "var.NAME" (a
    // request var), or logvars set by the app (uwsgi.set_logvar), as in uWSGI.
    static RequestLogFormat parse(const std::string &format);
    // uWSGI's default request line (logging.c, uwsgi_logit_simple), with --memory-report's
    // prefix and its " via sendfile() " / " via offload() " marks; --log-micros' unit is left out.
    static RequestLogFormat uwsgi_default(bool memory_report);
    // Appends the line (no newline) to OUT; allocates nothing once OUT has grown.
    void render(const uwsgi_request &req, const RequestLogFacts &facts, std::string &out) const;

    enum class Kind {
        Text, Addr, User, Method, Uri, Proto, Status, Size, Cl, Msecs, Micros, Time, Ltime,
        Epoch, Uagent, Referer, Host, Pid, Wid, Core, Modifier1, Modifier2, Rss, Vsz, RssM, VszM,
        Vars, Pktsize, Ctime, Headers, Hsize, Switches, Var, Logvar,
        // in uWSGI's default line only (no variable names them)
        AppId, AppRequests, Requests, Via
    };
    struct Part {
        Kind kind;
        std::string text;  // the literal, the var or the logvar name
    };
    const std::vector<Part> &parts() const { return parts_; }
    // --log-x-forwarded-for: %(addr) is the X-Forwarded-For header when the request has one
    void addr_from_forwarded_for(bool on) { addr_from_xff_ = on; }

private:
    std::vector<Part> parts_;
    bool addr_from_xff_ = false;
};

struct RequestLogPolicy {
    bool all = true;  // off with --disable-logging
    bool status_4xx = false, status_5xx = false;
    int64_t slow_ms = 0;  // 0: off
    uint64_t big_bytes = 0;
    bool wants(const uwsgi_request &req, int64_t duration_ms) const;
};

// Read from the configuration at start-up (ConfigError on a bad format or number).
void configure_request_log(const Config &c);
bool request_log_wanted(const uwsgi_request &req, int64_t duration_ms);
// The --log-format line, or with a --logger/--req-logger uWSGI's default line; false when
// neither applies (the core's own line then goes to its log).
bool write_formatted_request_log(const uwsgi_request &req, const RequestLogFacts &facts);

}  // namespace core
