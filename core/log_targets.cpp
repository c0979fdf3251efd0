#include "log_targets.hpp"

#include "log_encoder.hpp"
#include "log_rotation.hpp"
#include "pcre_regex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace core {
namespace {

// A logger: where its lines go, and the name --log-route gives it.
struct LogSink {
    std::string id;  // "" = unnamed: gets every line no route took
    int fd = -1;
    std::string path, backup;  // file:logfile=...,maxsize=N rotation
    uint64_t maxsize = 0;
};

struct LogRoute {
    pcre2_code *pattern;  // for the life of the process
    const LogSink *sink;
};

// One side of the log (the server's lines, or request lines with --req-logger).
struct LogSide {
    std::vector<LogSink> sinks;
    std::vector<std::pair<std::string, std::string>> route_specs;  // name, regex
    std::vector<LogRoute> routes;
    std::vector<LogEncoder> encoders;
    bool active() const { return !sinks.empty() || !routes.empty() || !encoders.empty(); }
};

LogSide g_general, g_request;
LogSink g_raw;            // the original stderr, in the log process
int g_request_fd = -1;    // writers' end of the request queue; -1: no log process
std::atomic<uint64_t> g_dropped{0};
constexpr int kQueueBytes = 1 << 20;
// --log-master-bufsize: the most the log process reads at once (a longer message is cut, or
// with --log-master-stream comes in pieces); --log-master-stream: the general socket's type.
size_t g_read_bytes = kQueueBytes;
bool g_stream = false;
// Across a reload (re-exec) the master's stderr is the old log socket: this names a copy of
// the stderr of before, so the new log process writes raw lines there, not through the old one.
constexpr const char *kOriginalFdEnv = "UWSGI_LOG_ORIGINAL_FD";

int open_file(const std::string &path, const std::string &spec, const char *option) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        throw ConfigError(fmt::format("--{} {}: cannot open '{}': {} (give a writable file)",
                                      option, spec, path, std::strerror(errno)));
    return fd;
}

// uWSGI's file logger argument: PATH, or logfile=PATH,maxsize=BYTES,backupname=FILE.
void parse_file_arg(const std::string &arg, const std::string &spec, const char *option,
                    LogSink &sink) {
    if (arg.find('=') == std::string::npos) {
        sink.fd = open_file(arg, spec, option);
        return;
    }
    size_t start = 0;
    while (start <= arg.size()) {
        size_t end = arg.find(',', start);
        if (end == std::string::npos) end = arg.size();
        std::string item = arg.substr(start, end - start);
        size_t eq = item.find('=');
        std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        if (eq == std::string::npos || value.empty())
            throw ConfigError(fmt::format("--{} '{}': '{}' is not KEY=VALUE (keys: logfile, "
                                          "maxsize, backupname)", option, spec, item));
        if (key == "logfile") sink.path = value;
        else if (key == "backupname") sink.backup = value;
        else if (key == "maxsize") {
            char *rest = nullptr;
            sink.maxsize = std::strtoull(value.c_str(), &rest, 10);
            if (rest == value.c_str())
                throw ConfigError(fmt::format("--{} '{}': maxsize={} is not a number of bytes",
                                              option, spec, value));
        } else
            throw ConfigError(fmt::format("--{} '{}': unknown key '{}' (keys: logfile, maxsize, "
                                          "backupname)", option, spec, key));
        start = end + 1;
    }
    if (sink.path.empty())
        throw ConfigError(fmt::format("--{} '{}': the keyval form needs logfile=PATH", option,
                                      spec));
    sink.fd = open_file(sink.path, spec, option);
}

// "[NAME ]BACKEND[:ARG]" as uWSGI's setup_chosen_logger splits it: a name is the
// alphanumerics before the first space.
LogSink open_sink(const std::string &spec, const char *option) {
    LogSink sink;
    std::string rest = spec;
    if (size_t space = spec.find(' '); space != std::string::npos && space > 0) {
        bool is_id = true;
        for (size_t i = 0; i < space; ++i)
            if (!isalnum(static_cast<unsigned char>(spec[i]))) is_id = false;
        if (is_id) {
            sink.id = spec.substr(0, space);
            rest = spec.substr(space + 1);
        }
    }
    size_t colon = rest.find(':');
    std::string backend = rest.substr(0, colon);
    std::string arg = colon == std::string::npos ? "" : rest.substr(colon + 1);
    if (backend == "stdio") {
        sink.fd = dup(2);
    } else if (backend == "file" && !arg.empty()) {
        parse_file_arg(arg, spec, option, sink);
    } else if (backend == "fd" && !arg.empty() && isdigit(static_cast<unsigned char>(arg[0]))) {
        sink.fd = dup(atoi(arg.c_str()));
        if (sink.fd < 0)
            throw ConfigError(fmt::format("--{} '{}': fd {} is not open", option, spec, arg));
    } else {
        throw ConfigError(fmt::format("--{} '{}': unknown logger backend (known: file:PATH, "
                                      "file:logfile=PATH,maxsize=BYTES,backupname=FILE, fd:N, "
                                      "stdio; a name goes first: NAME file:PATH)",
                                      option, spec));
    }
    return sink;
}

// "NAME REGEX", uWSGI's --log-route value.
std::pair<std::string, std::string> split_route(const std::string &value, const char *option) {
    size_t space = value.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= value.size())
        throw ConfigError(fmt::format("--{} '{}': give NAME REGEX (the name of a --logger NAME "
                                      "BACKEND, a space, the regex)", option, value));
    return {value.substr(0, space), value.substr(space + 1)};
}

const LogSink *sink_named(const std::string &id) {
    // uWSGI looks a route's name up among the --logger loggers (also for --log-req-route);
    // a named --req-logger is found too
    for (const LogSide *side : {&g_general, &g_request})
        for (const LogSink &s : side->sinks)
            if (s.id == id) return &s;
    return nullptr;
}

void resolve_routes(LogSide &side, const char *option) {
    for (auto &[name, regex] : side.route_specs) {
        const LogSink *sink = sink_named(name);
        if (!sink)  // uWSGI ignores such a route silently; a typo should not lose lines
            throw ConfigError(fmt::format("--{} {} {}: no logger is named '{}' (add --logger "
                                          "{} file:PATH)", option, name, regex, name, name));
        side.routes.push_back({compile_regex(option, regex), sink});
    }
}

// The encoder chain for one logger, then one write (and the logger's rotation).
void deliver_to(const LogSink &sink, const std::vector<LogEncoder> &encoders,
                std::string_view msg, std::string &a, std::string &b) {
    std::string_view out = msg;
    for (const LogEncoder &e : encoders) {
        if (!e.applies_to(sink.id)) continue;
        b.clear();
        e.encode(out, b);
        a.swap(b);
        out = a;
    }
    ssize_t ignored = write(sink.fd, out.data(), out.size());
    (void)ignored;  // a full disk loses the line, as uWSGI
    if (!sink.maxsize) return;
    off_t size = lseek(sink.fd, 0, SEEK_CUR);
    if (size > 0 && uint64_t(size) > sink.maxsize)
        rotate_log_file(sink.path, sink.backup, uint64_t(size), sink.fd);
}

// uWSGI's uwsgi_master_log: the routes that match take the line; else every unnamed logger;
// else the original stderr.
void dispatch(const LogSide &side, std::string_view msg, std::string &a, std::string &b) {
    bool routed = false;
    for (const LogRoute &r : side.routes)
        if (regex_matches(r.pattern, msg)) {
            deliver_to(*r.sink, side.encoders, msg, a, b);
            routed = true;
        }
    if (routed) return;
    bool written = false;
    for (const LogSink &s : side.sinks)
        if (s.id.empty()) {
            deliver_to(s, side.encoders, msg, a, b);
            written = true;
        }
    if (!written) deliver_to(g_raw, side.encoders, msg, a, b);
}

void close_other_fds(std::initializer_list<int> keep_fds) {
    std::vector<int> keep(keep_fds);
    for (const LogSide *side : {&g_general, &g_request})
        for (const LogSink &s : side->sinks) keep.push_back(s.fd);
    std::vector<int> open_fds;
    if (DIR *d = opendir("/proc/self/fd")) {
        while (dirent *e = readdir(d))
            if (isdigit(static_cast<unsigned char>(e->d_name[0])))
                open_fds.push_back(atoi(e->d_name));
        closedir(d);
    }
    for (int fd : open_fds)
        if (fd > 2 && std::find(keep.begin(), keep.end(), fd) == keep.end()) close(fd);
}

// The log process: reads whole messages until every writer is gone.
[[noreturn]] void run_log_process(int general_fd, int request_fd) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGTSTP})
        signal(sig, SIG_IGN);  // it stops when the last writer is gone, after their last line
    prctl(PR_SET_NAME, "uwsgi logger");
    close_other_fds({general_fd, request_fd});
    g_raw.fd = 2;  // the --logto file, the terminal, ...
    if (g_general.active()) {  // the master's stderr is our socket: --log-maxsize is ours
        RotatedLog logto = rotated_log();
        g_raw.path = logto.path;
        g_raw.backup = logto.backup;
        g_raw.maxsize = logto.max;
    }
    // request lines use the request side when there is one (--req-logger, --log-req-route,
    // --log-req-encoder), else they are server lines as in uWSGI (where they go to stderr)
    bool request_side = g_request.active();
    std::vector<char> buf(g_read_bytes);
    std::string a, b;
    pollfd fds[2] = {{general_fd, POLLIN, 0}, {request_fd, POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            // --log-master-stream: what the stream holds now is read to its end first, so a
            // long message a worker wrote before its request line is not cut by that line
            int flags = 0;
            for (;;) {
                ssize_t n = recv(fds[i].fd, buf.data(), buf.size(), flags);
                if (n < 0) break;  // EINTR, or nothing more for now
                if (n == 0) {      // every writer closed its end
                    fds[i].fd = -1;
                    break;
                }
                std::string_view msg(buf.data(), size_t(n));
                dispatch(i == 1 && request_side ? g_request : g_general, msg, a, b);
                if (!(i == 0 && g_stream)) break;
                flags = MSG_DONTWAIT;
            }
        }
    }
    _exit(0);
}

void set_queue_size(int fd) {
    int bytes = int(std::max<size_t>(kQueueBytes, g_read_bytes));
    // root may go past net.core.wmem_max; otherwise the kernel caps it there
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

// After a reload the stderr of before, not the old log socket.
void restore_original_stderr() {
    const char *env = getenv(kOriginalFdEnv);
    if (!env) return;
    int fd = atoi(env);
    if (fd > 2 && fcntl(fd, F_GETFD) >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    unsetenv(kOriginalFdEnv);
}

void start_log_process() {
    bool general = g_general.active();
    int gen[2] = {-1, -1}, req[2] = {-1, -1};
    const int general_type = g_stream ? SOCK_STREAM : SOCK_SEQPACKET;
    if ((general && socketpair(AF_UNIX, general_type | SOCK_CLOEXEC, 0, gen) != 0) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, req) != 0)
        throw ConfigError(fmt::format("cannot create the log sockets: {}", std::strerror(errno)));
    set_queue_size(req[1]);
    if (general) set_queue_size(gen[1]);
    // twice forked: the log process is no child of the master, whose child accounting and
    // shutdown wait stay about workers; it ends by itself after the last writer
    pid_t middle = fork();
    if (middle < 0) throw ConfigError(fmt::format("cannot fork the log process: {}", std::strerror(errno)));
    if (middle == 0) {
        if (fork() == 0) run_log_process(gen[0], req[0]);
        _exit(0);
    }
    waitpid(middle, nullptr, 0);
    for (int fd : {gen[0], req[0]})
        if (fd >= 0) close(fd);
    for (LogSide *side : {&g_general, &g_request})
        for (LogSink &s : side->sinks) close(s.fd);  // the log process writes them
    if (general) {
        int original = dup(2);  // no close-on-exec: a reload finds it by its number
        setenv(kOriginalFdEnv, std::to_string(original).c_str(), 1);
        dup2(gen[1], 1);
        dup2(gen[1], 2);
        close(gen[1]);
    }
    fcntl(req[1], F_SETFL, fcntl(req[1], F_GETFL) | O_NONBLOCK);
    g_request_fd = req[1];
}

void load_side(const Config &c, LogSide &side, const char *logger, const char *route,
               const char *encoder) {
    for (auto &spec : c.all(logger)) side.sinks.push_back(open_sink(spec, logger));
    for (auto &value : c.all(route)) side.route_specs.push_back(split_route(value, route));
    for (auto &spec : c.all(encoder)) side.encoders.push_back(LogEncoder::parse(spec, encoder));
}

}  // namespace

void configure_loggers(const Config &c) {
    restore_original_stderr();
    const int64_t read_bytes = c.number("log-master-bufsize", kQueueBytes);
    if (read_bytes < 1 || read_bytes > (int64_t(1) << 30))
        throw ConfigError(fmt::format("--log-master-bufsize {}: give the log process's read size "
                                      "in bytes, 1 to 1073741824 (uWSGI's default: 8192)",
                                      read_bytes));
    g_read_bytes = size_t(read_bytes);
    g_stream = c.flag("log-master-stream");
    load_side(c, g_general, "logger", "log-route", "log-encoder");
    load_side(c, g_request, "req-logger", "log-req-route", "log-req-encoder");
    // the sinks vectors are complete: routes may point into them now
    resolve_routes(g_general, "log-route");
    resolve_routes(g_request, "log-req-route");
    if (g_general.active() || g_request.active()) start_log_process();
}

void write_request_line(std::string_view line) {
    if (g_request_fd < 0) {
        ssize_t ignored = write(2, line.data(), line.size());
        (void)ignored;
        return;
    }
    if (send(g_request_fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        g_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (g_dropped.load(std::memory_order_relaxed) == 0) return;
    uint64_t lost = g_dropped.exchange(0);
    char note[160];
    auto r = fmt::format_to_n(note, sizeof note,
                              "uwsgi: {} request log line(s) of pid {} dropped: the log was "
                              "writing slower than requests came (log queue full)\n",
                              lost, getpid());
    send(g_request_fd, note, r.size, MSG_DONTWAIT | MSG_NOSIGNAL);
}

bool request_logger_set() { return g_request_fd >= 0; }

}  // namespace core
