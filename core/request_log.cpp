#include "request_log.hpp"

#include "app_table.hpp"
#include "log_targets.hpp"
#include "scoreboard.hpp"
#include "settings.hpp"
#include "stats_snapshot.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <unistd.h>
#include <unordered_map>

namespace core {
namespace {

using Kind = RequestLogFormat::Kind;

const std::unordered_map<std::string, Kind> &known_variables() {
    static const std::unordered_map<std::string, Kind> names = {
        {"addr", Kind::Addr},       {"user", Kind::User},       {"method", Kind::Method},
        {"uri", Kind::Uri},         {"proto", Kind::Proto},     {"status", Kind::Status},
        {"size", Kind::Size},       {"rsize", Kind::Size},      {"cl", Kind::Cl},
        {"msecs", Kind::Msecs},     {"micros", Kind::Micros},   {"time", Kind::Time},
        {"ltime", Kind::Ltime},     {"epoch", Kind::Epoch},     {"uagent", Kind::Uagent},
        {"referer", Kind::Referer}, {"host", Kind::Host},       {"pid", Kind::Pid},
        {"wid", Kind::Wid},         {"core", Kind::Core},       {"modifier1", Kind::Modifier1},
        {"modifier2", Kind::Modifier2}, {"rss", Kind::Rss},     {"vsz", Kind::Vsz},
        {"rssM", Kind::RssM},       {"vszM", Kind::VszM},       {"vars", Kind::Vars},
        {"pktsize", Kind::Pktsize}, {"ctime", Kind::Ctime},     {"headers", Kind::Headers},
        {"hsize", Kind::Hsize},     {"switches", Kind::Switches},
    };
    return names;
}

bool valid_name(const std::string &name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
            return false;
    return true;
}

std::string_view request_var(const uwsgi_request &req, std::string_view name) {
    return req.var(name);
}

template <class T> void append_number(std::string &out, T n) {
    char buf[32];
    auto r = fmt::format_to_n(buf, sizeof buf, "{}", n);
    out.append(buf, r.size);
}

void append_time(std::string &out, int64_t unix_s, const char *pattern) {
    char buf[64];
    time_t t = time_t(unix_s);
    tm local{};
    localtime_r(&t, &local);
    out.append(buf, strftime(buf, sizeof buf, pattern, &local));
}

// uWSGI's marks of how the body went (" via route() " needs its internal routing: none here)
std::string_view via_text(uwsgi_request::Via via) {
    switch (via) {
    case uwsgi_request::Via::sendfile: return " via sendfile() ";
    case uwsgi_request::Via::offload: return " via offload() ";
    case uwsgi_request::Via::none: break;
    }
    return " ";
}

RequestLogFormat g_format;
bool g_formatted = false;
RequestLogFormat g_default;  // uWSGI's line, for a --logger / --req-logger
RequestLogPolicy g_policy;

int64_t number(const Config &c, const char *name) {
    int64_t v = c.number(name, 0);
    if (v < 0)
        throw ConfigError(fmt::format("option --{} must be at least 0, got {}", name, v));
    return v;
}

}  // namespace

RequestLogFormat RequestLogFormat::parse(const std::string &format) {
    RequestLogFormat f;
    std::string text;
    size_t i = 0;
    while (i < format.size()) {
        if (format.compare(i, 2, "%(") != 0) {
            text += format[i++];
            continue;
        }
        size_t close = format.find(')', i + 2);
        if (close == std::string::npos)
            throw ConfigError(fmt::format(
                "--log-format: '%(' at offset {} is never closed: write %(name), e.g. %(uri)", i));
        std::string name = format.substr(i + 2, close - i - 2);
        if (!valid_name(name))
            throw ConfigError(fmt::format(
                "--log-format: '%({})' is not a variable name (letters, digits, _ . - only), "
                "e.g. %(status) or %(var.HTTP_HOST)",
                name));
        if (!text.empty()) f.parts_.push_back({Kind::Text, std::move(text)});
        text.clear();
        auto known = known_variables().find(name);
        if (known != known_variables().end())
            f.parts_.push_back({known->second, name});
        else if (name.rfind("var.", 0) == 0 && name.size() > 4)
            f.parts_.push_back({Kind::Var, name.substr(4)});
        else
            f.parts_.push_back({Kind::Logvar, name});  // set by the app, as in uWSGI
        i = close + 1;
    }
    if (!text.empty()) f.parts_.push_back({Kind::Text, std::move(text)});
    return f;
}

RequestLogFormat RequestLogFormat::uwsgi_default(bool memory_report) {
    // "%.*s" of uWSGI's line, as parts: Text between the variables
    const std::vector<Part> line = {
        {Kind::Text, "[pid: "}, {Kind::Pid, ""}, {Kind::Text, "|app: "}, {Kind::AppId, ""},
        {Kind::Text, "|req: "}, {Kind::AppRequests, ""}, {Kind::Text, "/"}, {Kind::Requests, ""},
        {Kind::Text, "] "}, {Kind::Addr, ""}, {Kind::Text, " ("}, {Kind::User, ""},
        {Kind::Text, ") {"}, {Kind::Vars, ""}, {Kind::Text, " vars in "}, {Kind::Pktsize, ""},
        {Kind::Text, " bytes} ["}, {Kind::Ctime, ""}, {Kind::Text, "] "}, {Kind::Method, ""},
        {Kind::Text, " "}, {Kind::Uri, ""}, {Kind::Text, " => generated "}, {Kind::Size, ""},
        {Kind::Text, " bytes in "}, {Kind::Msecs, ""}, {Kind::Text, " msecs"}, {Kind::Via, ""},
        {Kind::Text, "("},
        {Kind::Proto, ""}, {Kind::Text, " "}, {Kind::Status, ""}, {Kind::Text, ") "},
        {Kind::Headers, ""}, {Kind::Text, " headers in "}, {Kind::Hsize, ""},
        {Kind::Text, " bytes ("}, {Kind::Switches, ""}, {Kind::Text, " switches on core "},
        {Kind::Core, ""}, {Kind::Text, ")"},
    };
    RequestLogFormat f;
    if (memory_report)
        f.parts_ = {{Kind::Text, "{address space usage: "}, {Kind::Vsz, ""},
                    {Kind::Text, " bytes/"}, {Kind::VszM, ""}, {Kind::Text, "MB} {rss usage: "},
                    {Kind::Rss, ""}, {Kind::Text, " bytes/"}, {Kind::RssM, ""},
                    {Kind::Text, "MB} "}};
    f.parts_.insert(f.parts_.end(), line.begin(), line.end());
    return f;
}

void RequestLogFormat::render(const uwsgi_request &req, const RequestLogFacts &facts,
                              std::string &out) const {
    uint64_t rss = 0, vsz = 0;
    bool memory_read = false;
    auto memory = [&] {
        if (!memory_read) process_memory(getpid(), rss, vsz);
        memory_read = true;
    };
    for (auto &p : parts_) {
        switch (p.kind) {
        case Kind::Text: out += p.text; break;
        case Kind::Addr: {
            // --log-x-forwarded-for: the header as the proxy sent it (uWSGI takes it whole)
            std::string_view xff = addr_from_xff_ ? request_var(req, "HTTP_X_FORWARDED_FOR")
                                                  : std::string_view();
            out += xff.empty() ? request_var(req, "REMOTE_ADDR") : xff;
            break;
        }
        case Kind::User: out += request_var(req, "REMOTE_USER"); break;
        case Kind::Method: out += request_var(req, "REQUEST_METHOD"); break;
        case Kind::Uri: out += request_var(req, "REQUEST_URI"); break;
        case Kind::Proto: out += request_var(req, "SERVER_PROTOCOL"); break;
        case Kind::Status: append_number(out, req.status); break;
        case Kind::Size: append_number(out, req.bytes_sent); break;
        case Kind::Cl: out += request_var(req, "CONTENT_LENGTH"); break;
        case Kind::Msecs: append_number(out, facts.duration_us / 1000); break;
        case Kind::Micros: append_number(out, facts.duration_us); break;
        case Kind::Time: append_number(out, facts.start_unix_us / 1000000); break;
        case Kind::Ltime:
            append_time(out, facts.start_unix_us / 1000000, "%d/%b/%Y:%H:%M:%S %z");
            break;
        case Kind::Epoch: append_number(out, int64_t(time(nullptr))); break;
        case Kind::Uagent: out += request_var(req, "HTTP_USER_AGENT"); break;
        case Kind::Referer: out += request_var(req, "HTTP_REFERER"); break;
        case Kind::Host: out += request_var(req, "HTTP_HOST"); break;
        case Kind::Pid: append_number(out, int(getpid())); break;
        case Kind::Wid: append_number(out, facts.worker_id); break;
        case Kind::Core: append_number(out, facts.core); break;
        case Kind::Modifier1: append_number(out, int(req.modifier1)); break;
        case Kind::Modifier2: append_number(out, int(req.modifier2)); break;
        case Kind::Rss: memory(); append_number(out, rss); break;
        case Kind::Vsz: memory(); append_number(out, vsz); break;
        case Kind::RssM: memory(); append_number(out, rss / (1024 * 1024)); break;
        case Kind::VszM: memory(); append_number(out, vsz / (1024 * 1024)); break;
        case Kind::Vars: append_number(out, req.vars.size() * 2); break;  // uWSGI's iovecs
        case Kind::Pktsize: {
            size_t n = 0;  // the vars as a uwsgi packet's block: two 2-byte sizes each
            for (auto &v : req.vars) n += 4 + v.key.size() + v.value.size();
            append_number(out, n);
            break;
        }
        case Kind::Ctime: append_time(out, facts.start_unix_us / 1000000, "%a %b %e %H:%M:%S %Y"); break;
        case Kind::Headers: append_number(out, req.header_count); break;
        case Kind::Hsize:
            append_number(out, req.started ? request_var(req, "SERVER_PROTOCOL").size() +
                                                 req.head_bytes : 0);
            break;
        case Kind::Switches: append_number(out, req.body_writes); break;
        case Kind::AppId: append_number(out, req.app_id); break;
        case Kind::AppRequests:
            append_number(out, req.app_id >= 0 ? int64_t(app_counters(facts.worker_id, req.app_id)
                                                             .requests.load())
                                               : int64_t(-1));
            break;
        case Kind::Requests: append_number(out, total_requests()); break;
        case Kind::Via: out += via_text(req.via); break;
        case Kind::Var: out += request_var(req, p.text); break;
        case Kind::Logvar:
            if (const uwsgi_request::Var *v = req.logvar(p.text)) out += v->value;
            break;
        }
    }
}

bool RequestLogPolicy::wants(const uwsgi_request &req, int64_t duration_ms) const {
    return all || req.log_this || (status_4xx && req.status >= 400 && req.status < 500) ||
           (status_5xx && req.status >= 500) || (slow_ms && duration_ms > slow_ms) ||
           (big_bytes && req.bytes_sent > big_bytes);
}

void configure_request_log(const Config &c) {
    const std::string *format = c.get("log-format");
    if (format) {
        g_format = RequestLogFormat::parse(*format);
        g_format.addr_from_forwarded_for(c.flag("log-x-forwarded-for"));
        g_formatted = true;
    }
    g_default = RequestLogFormat::uwsgi_default(settings().memory_report);
    g_default.addr_from_forwarded_for(c.flag("log-x-forwarded-for"));
    g_policy.all = !c.flag("disable-logging");
    g_policy.status_4xx = settings().log_4xx;
    g_policy.status_5xx = settings().log_5xx;
    g_policy.slow_ms = number(c, "log-slow");
    g_policy.big_bytes = uint64_t(number(c, "log-big"));
}

bool request_log_wanted(const uwsgi_request &req, int64_t duration_ms) {
    return g_policy.wants(req, duration_ms);
}

bool write_formatted_request_log(const uwsgi_request &req, const RequestLogFacts &facts) {
    if (!g_formatted && !request_logger_set()) return false;
    thread_local std::string line;  // keeps its capacity: no allocation once warmed up
    line.clear();
    (g_formatted ? g_format : g_default).render(req, facts, line);
    line += '\n';
    // uWSGI writes the formatted line as it is, without the logger's prefix
    write_request_line(line);
    return true;
}

}  // namespace core
