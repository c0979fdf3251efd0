#include "static_files.hpp"

#include "byte_range.hpp"
#include "host_table.hpp"
#include "http_date.hpp"
#include "mime_types.hpp"
#include "pcre_regex.hpp"
#include "static_path.hpp"
#include "static_path_cache.hpp"

#include <uwsgi/plugin.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <strings.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace core {
namespace {

// One --static-expires* rule: an Expires header SECS after now (or after the file's mtime).
struct ExpiresRule {
    enum Source { filename, path_info, uri, type } source = filename;
    bool from_mtime = false;
    std::string type_name;      // Source::type: the exact MIME type
    pcre2_code *re = nullptr;   // the others: the regular expression (never freed: for ever)
    int64_t secs = 0;
};

// --file-serve-mode: who sends the file's bytes.
enum class ServeMode { sendfile, x_sendfile, x_accel_redirect };

struct StaticConfig {
    std::vector<StaticMapping> maps;
    ServeMode mode = ServeMode::sendfile;  // uWSGI's order: --check-static, --static-map, --static-map2
    std::vector<std::string> index, safe, skip_ext, gzip_dirs, gzip_exts;
    std::vector<pcre2_code *> gzip_regexes;
    bool gzip_all = false;
    std::vector<ExpiresRule> expires;
    MimeTypes mime;
};

std::unique_ptr<StaticConfig> g_static;

// "KEY SECS" as uWSGI writes the regex forms (the regex may hold '='), or "KEY=SECS".
void split_rule(const std::string &option, const std::string &value, char sep, std::string &key,
                int64_t &secs) {
    auto at = value.rfind(sep);
    if (at == std::string::npos && sep == ' ') at = value.rfind('=');
    const char *want = sep == ' ' ? "REGEX SECS" : "MIME=SECS";
    if (at == std::string::npos || at == 0)
        throw ConfigError(fmt::format("--{} {}: give {} (e.g. {})", option, value, want,
                                      sep == ' ' ? "\"\\.css$ 3600\"" : "text/css=3600"));
    key = value.substr(0, at);
    std::string_view n = std::string_view(value).substr(at + 1);
    auto r = std::from_chars(n.data(), n.data() + n.size(), secs);
    if (r.ec != std::errc() || r.ptr != n.data() + n.size())
        throw ConfigError(fmt::format("--{} {}: {} is not a number of seconds (give {})", option,
                                      value, n, want));
}

void add_expires(StaticConfig &c, const Config &config) {
    static const struct {
        const char *option;
        ExpiresRule::Source source;
        bool mtime;
    } kinds[] = {
        {"static-expires", ExpiresRule::filename, false},
        {"static-expires-mtime", ExpiresRule::filename, true},
        {"static-expires-path-info", ExpiresRule::path_info, false},
        {"static-expires-path-info-mtime", ExpiresRule::path_info, true},
        {"static-expires-uri", ExpiresRule::uri, false},
        {"static-expires-uri-mtime", ExpiresRule::uri, true},
        {"static-expires-type", ExpiresRule::type, false},
        {"static-expires-type-mtime", ExpiresRule::type, true},
    };
    for (auto &k : kinds)
        for (auto &v : config.all(k.option)) {
            ExpiresRule rule;
            rule.source = k.source;
            rule.from_mtime = k.mtime;
            std::string key;
            split_rule(k.option, v, k.source == ExpiresRule::type ? '=' : ' ', key, rule.secs);
            if (k.source == ExpiresRule::type) rule.type_name = key;
            else rule.re = compile_regex(k.option, key);
            c.expires.push_back(std::move(rule));
        }
}

// The mapping's directory (or file), resolved once: a missing or unreadable one is a start-up
// error here. uWSGI resolves it at the first request and silently skips a missing one, so a
// typo serves the app's 404s for ever.
void resolve_root(StaticMapping &m, const std::string &option, const std::string &value) {
    char real[PATH_MAX];
    if (!realpath(m.root.c_str(), real))
        throw ConfigError(fmt::format("--{} {}: {}: {} (create it or fix the path)", option, value,
                                      m.root, strerror(errno)));
    struct stat st{};
    stat(real, &st);
    m.is_file = S_ISREG(st.st_mode);
    if (!m.is_file && !S_ISDIR(st.st_mode))
        throw ConfigError(fmt::format("--{} {}: {} is neither a directory nor a file", option,
                                      value, m.root));
    if (access(real, m.is_file ? R_OK : R_OK | X_OK) != 0)
        throw ConfigError(fmt::format("--{} {}: {} cannot be read: {} (fix its permissions)",
                                      option, value, real, strerror(errno)));
    m.root = real;
    // the directory stays open for the process's life: every file is opened below it
    if (!m.is_file) m.root_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

}  // namespace

namespace {

// uWSGI's names (case-insensitive); uWSGI ignores any other value, which serves the files
// itself while the front server waits for a header: refused here.
ServeMode parse_serve_mode(const Config &config) {
    const std::string *v = config.get("file-serve-mode");
    if (!v) return ServeMode::sendfile;
    auto is = [&](const char *name) { return strcasecmp(v->c_str(), name) == 0; };
    if (is("sendfile")) return ServeMode::sendfile;
    if (is("x-sendfile") || is("xsendfile")) return ServeMode::x_sendfile;
    if (is("x-accel-redirect") || is("xaccelredirect") || is("nginx"))
        return ServeMode::x_accel_redirect;
    throw ConfigError(fmt::format("--file-serve-mode {}: give x-sendfile (Apache, lighttpd), "
                                  "x-accel-redirect or nginx (nginx), or sendfile (the default)",
                                  *v));
}

}  // namespace

void configure_static_files(const Config &config) {
    auto c = std::make_unique<StaticConfig>();
    c->mode = parse_serve_mode(config);
    std::string error;
    for (auto &dir : config.all("check-static")) {
        StaticMapping m{"", dir, true, false};
        resolve_root(m, "check-static", dir);
        if (m.is_file)
            throw ConfigError(fmt::format("--check-static {}: give a directory", dir));
        c->maps.push_back(std::move(m));
    }
    for (auto [option, whole] : {std::pair{"static-map", false}, std::pair{"static-map2", true}})
        for (auto &spec : config.all(option)) {
            auto m = parse_static_map(spec, whole, error);
            if (!m) throw ConfigError(fmt::format("--{} {}: {}", option, spec, error));
            resolve_root(*m, option, spec);
            c->maps.push_back(std::move(*m));
        }
    if (c->maps.empty()) return;  // the other options only matter with a mapping

    c->index = config.all("static-index");
    for (auto &dir : config.all("static-safe")) {
        char real[PATH_MAX];
        // a safe path that does not exist yet can hold nothing: kept as written
        c->safe.push_back(realpath(dir.c_str(), real) ? std::string(real) : dir);
    }
    c->skip_ext = config.all("static-skip-ext");
    c->gzip_all = config.flag("static-gzip-all");
    for (auto o : {"static-gzip-dir", "static-gzip-prefix"})
        for (auto &v : config.all(o)) c->gzip_dirs.push_back(v);
    for (auto o : {"static-gzip-ext", "static-gzip-suffix"})
        for (auto &v : config.all(o)) c->gzip_exts.push_back(v);
    for (auto &v : config.all("static-gzip")) c->gzip_regexes.push_back(compile_regex("static-gzip", v));
    add_expires(*c, config);

    auto files = config.all("mimefile");
    if (files.empty()) files.push_back("/etc/mime.types");
    for (auto &f : files)
        if (!c->mime.load(f))
            spdlog::warn("static: cannot read MIME types from {} (install media-types); files "
                         "are served without Content-Type", f);
    if (c->mode != ServeMode::sendfile)
        spdlog::info("static: files are answered with {} for the front server to send",
                     c->mode == ServeMode::x_sendfile ? "X-Sendfile" : "X-Accel-Redirect");
    for (auto &m : c->maps)
        spdlog::info("static: {} {} => {}{}", m.mount.empty() ? "(every path)" : m.mount,
                     m.whole_path ? "(whole path)" : "", m.root, m.is_file ? " (a file)" : "");
    spdlog::info("static: {} MIME types", c->mime.size());
    g_static = std::move(c);
}

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool under_safe_path(std::string_view real) {
    for (auto &s : g_static->safe)
        if (path_within(real, s)) return true;
    return false;
}

bool gzip_wanted(std::string_view file) {
    const StaticConfig &c = *g_static;
    if (c.gzip_all) return true;
    for (auto &d : c.gzip_dirs)
        if (file.substr(0, d.size()) == d) return true;
    for (auto &e : c.gzip_exts)
        if (ends_with(file, e)) return true;
    for (auto *re : c.gzip_regexes)
        if (regex_matches(re, file)) return true;
    return false;
}

// "gzip" as a coding of Accept-Encoding, not refused with q=0.
bool accepts_gzip(std::string_view accept) {
    while (!accept.empty()) {
        auto comma = accept.find(',');
        std::string_view item = accept.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        auto semi = item.find(';');
        std::string_view coding = item.substr(0, semi);
        while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
        if (coding == "gzip" || coding == "x-gzip") {
            std::string_view params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
            auto q = params.find("q=");
            if (q == std::string_view::npos) return true;
            std::string_view v = params.substr(q + 2);
            return !(v.substr(0, 1) == "0" && v.find_first_of("123456789") == std::string_view::npos);
        }
        if (comma == std::string_view::npos) break;
        accept.remove_prefix(comma + 1);
    }
    return false;
}

const ExpiresRule *expires_rule(const uwsgi_request &req, std::string_view file,
                                std::string_view type) {
    for (auto &r : g_static->expires) {
        bool hit = false;
        switch (r.source) {
        case ExpiresRule::filename: hit = regex_matches(r.re, file); break;
        case ExpiresRule::path_info: hit = regex_matches(r.re, req.var("PATH_INFO")); break;
        case ExpiresRule::uri: hit = regex_matches(r.re, req.var("REQUEST_URI")); break;
        case ExpiresRule::type: hit = !type.empty() && r.type_name == type; break;
        }
        if (hit) return &r;  // one Expires header (uWSGI may send one per matching kind)
    }
    return nullptr;
}

uwsgi_str sv(std::string_view s) { return {s.data(), s.size()}; }

std::string_view number(char *buf, size_t cap, int64_t n) {
    auto r = std::to_chars(buf, buf + cap, n);
    return {buf, size_t(r.ptr - buf)};
}

StaticResult refuse(uwsgi_request &req, std::string_view path, const char *why) {
    spdlog::warn("static: {} refused: {}", path, why);
    uwsgi::respond(host_table(), &req, "403 Forbidden", "Forbidden\n");
    return StaticResult::served;
}

// The file a static response sends: an open descriptor and its path. `path` is absolute, with
// room for a ".gz" suffix; `beneath` (when not -1) is the mapped directory's descriptor and
// path + rel the same file relative to it, so the gzip twin is opened the same safe way.
struct OpenFile {
    int fd = -1;
    struct stat st {};
    char *path = nullptr;
    size_t len = 0;
    int beneath = -1;
    size_t rel = 0;
};

// openat2(RESOLVE_BENEATH): one syscall that opens a file below `dir` and fails with EXDEV
// when ".." or a symlink (absolute, or climbing out) would leave it; no realpath walk, no
// window between checking a path and opening it. O_NONBLOCK: a FIFO must not hang the thread.
int open_beneath(int dir, const char *rel) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return int(syscall(SYS_openat2, dir, rel, &how, sizeof how));
}

int open_plain(const char *path) { return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); }

// FILE.gz instead of FILE when wanted, accepted and present; false: FILE it is.
bool open_gzip_twin(uwsgi_request &req, OpenFile &f) {
    std::string_view name(f.path, f.len);
    if (!gzip_wanted(name) || !accepts_gzip(req.var("HTTP_ACCEPT_ENCODING")) ||
        f.len + 4 > PATH_MAX)
        return false;
    std::memcpy(f.path + f.len, ".gz", 4);
    int fd = f.beneath >= 0 ? open_beneath(f.beneath, f.path + f.rel) : open_plain(f.path);
    f.path[f.len] = '\0';
    struct stat st{};
    if (fd < 0) return false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
    }
    close(f.fd);
    f.fd = fd;
    f.st = st;
    return true;
}

void add_expires(uwsgi_request &req, std::string_view name, std::string_view type,
                 const struct stat &st, char *buf, uwsgi_header *h, size_t &n) {
    if (const ExpiresRule *rule = expires_rule(req, name, type)) {
        time_t base = rule->from_mtime ? st.st_mtime : time(nullptr);
        h[n++] = {uwsgi::str("Expires"), {buf, format_http_date(base + rule->secs, buf)}};
    }
}

// --file-serve-mode x-sendfile / x-accel-redirect: no body; the header names the file's real
// path (of the gzip twin when chosen) for the front server to send, as uWSGI. The file's own
// headers go with it; Range is left to the front server (it sees the client's header). An empty
// body with its Content-Length keeps the connection (uWSGI sends none and closes).
StaticResult answer_with_header(uwsgi_request &req, const OpenFile &f, std::string_view type,
                                bool gzip, std::string_view last_modified) {
    thread_local char real[PATH_MAX + 1];
    char link[32];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", f.fd);  // the very file opened
    ssize_t len = readlink(link, real, PATH_MAX);
    if (len <= 0) return StaticResult::not_static;
    const bool accel = g_static->mode == ServeMode::x_accel_redirect;
    uwsgi_header h[8];
    size_t n = 0;
    if (!type.empty()) h[n++] = {uwsgi::str("Content-Type"), sv(type)};
    h[n++] = {uwsgi::str(accel ? "X-Accel-Redirect" : "X-Sendfile"), {real, size_t(len)}};
    h[n++] = {uwsgi::str("Last-Modified"), sv(last_modified)};
    if (gzip) {
        h[n++] = {uwsgi::str("Content-Encoding"), uwsgi::str("gzip")};
        h[n++] = {uwsgi::str("Vary"), uwsgi::str("Accept-Encoding")};
    }
    char expires[kHttpDateLen + 1];
    add_expires(req, std::string_view(f.path, f.len), type, f.st, expires, h, n);
    h[n++] = {uwsgi::str("Content-Length"), uwsgi::str("0")};
    int rc = host_table().resp_start(&req, "200 OK", 6, h, n);
    return rc == UWSGI_OK ? StaticResult::served : StaticResult::failed;
}

// The response for an open regular file: the head, then the body (not for HEAD).
StaticResult send_file(uwsgi_request &req, OpenFile &f) {
    const std::string_view name(f.path, f.len);
    std::string_view type = g_static->mime.lookup(name);
    const bool gzip = open_gzip_twin(req, f);
    const struct stat &st = f.st;
    const bool head_only = req.var("REQUEST_METHOD") == "HEAD";
    char last_modified[kHttpDateLen + 1];
    std::string_view lm(last_modified, format_http_date(st.st_mtime, last_modified));

    if (auto ims = req.var("HTTP_IF_MODIFIED_SINCE"); !ims.empty()) {
        time_t t = parse_http_date(ims);
        if (t >= 0 && st.st_mtime <= t) {
            uwsgi_header h[] = {{uwsgi::str("Last-Modified"), sv(lm)}};
            host_table().resp_start(&req, "304 Not Modified", 16, h, 1);
            return StaticResult::served;
        }
    }

    if (g_static->mode != ServeMode::sendfile) return answer_with_header(req, f, type, gzip, lm);

    const int64_t size = st.st_size;
    ByteRange range;
    if (auto r = req.var("HTTP_RANGE"); !r.empty()) {
        range = parse_byte_range(r, size);
        // If-Range with a date: the range only when the file is unchanged since (RFC 9110
        // 13.1.5: an exact match of Last-Modified); an ETag we never sent fails too. uWSGI
        // serves the range when the date is older than the file, the wrong way round.
        if (auto ir = req.var("HTTP_IF_RANGE"); !ir.empty() && parse_http_date(ir) != st.st_mtime)
            range.kind = ByteRange::none;
    }
    char length[24];
    char content_range[80];
    uwsgi_header h[10];
    size_t n = 0;
    if (range.kind == ByteRange::unsatisfiable) {
        int l = std::snprintf(content_range, sizeof content_range, "bytes */%lld",
                              static_cast<long long>(size));
        h[n++] = {uwsgi::str("Content-Range"), {content_range, size_t(l)}};
        h[n++] = {uwsgi::str("Content-Length"), uwsgi::str("0")};
        host_table().resp_start(&req, "416 Range Not Satisfiable", 25, h, n);
        return StaticResult::served;
    }
    int64_t first = 0, count = size;
    if (range.kind == ByteRange::satisfiable) {
        first = range.first;
        count = range.last - range.first + 1;
        int l = std::snprintf(content_range, sizeof content_range, "bytes %lld-%lld/%lld",
                              static_cast<long long>(range.first),
                              static_cast<long long>(range.last), static_cast<long long>(size));
        h[n++] = {uwsgi::str("Content-Range"), {content_range, size_t(l)}};
    }
    if (!type.empty()) h[n++] = {uwsgi::str("Content-Type"), sv(type)};
    h[n++] = {uwsgi::str("Content-Length"), sv(number(length, sizeof length, count))};
    h[n++] = {uwsgi::str("Last-Modified"), sv(lm)};
    h[n++] = {uwsgi::str("Accept-Ranges"), uwsgi::str("bytes")};
    if (gzip) {
        h[n++] = {uwsgi::str("Content-Encoding"), uwsgi::str("gzip")};
        h[n++] = {uwsgi::str("Vary"), uwsgi::str("Accept-Encoding")};
    }
    char expires[kHttpDateLen + 1];
    add_expires(req, name, type, st, expires, h, n);
    const char *status = range.kind == ByteRange::satisfiable ? "206 Partial Content" : "200 OK";
    int rc = host_table().resp_start(&req, status, std::strlen(status), h, n);
    // with --offload-threads the body goes to an offload thread (request.cpp)
    if (rc == UWSGI_OK && !head_only) rc = host_table().resp_sendfile(&req, f.fd, first, count);
    return rc == UWSGI_OK ? StaticResult::served : StaticResult::failed;
}

// Closes the descriptor whatever the way out.
struct FdGuard {
    int &fd;
    ~FdGuard() {
        if (fd >= 0) close(fd);
    }
};

enum class Found { none, file, refused };

// The index file of the open directory f.fd (f.path its path), replacing it in f.
Found open_index(OpenFile &f) {
    for (auto &index : g_static->index) {
        if (f.len + 1 + index.size() + 4 > PATH_MAX) continue;
        // below the directory only: an index symlinked elsewhere is skipped
        int fd = open_beneath(f.fd, index.c_str());
        struct stat st{};
        if (fd < 0) continue;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            continue;
        }
        close(f.fd);
        f.fd = fd;
        f.st = st;
        f.path[f.len] = '/';
        std::memcpy(f.path + f.len + 1, index.c_str(), index.size() + 1);
        f.len += 1 + index.size();
        return Found::file;
    }
    return Found::none;
}

// The route for a mapping to one file, for symlinks out of a directory, and for every path with
// --static-cache-paths: realpath (or its cached answer), then the directory (or a safe path)
// must hold the result (uWSGI's check). Inside the directory the file is still opened below its
// descriptor, so a symlink put there since the path was cached cannot lead out.
Found open_resolved(const StaticMapping &m, const char *candidate, size_t len, OpenFile &f) {
    if (!resolve_static_path(candidate, len, f.path)) return Found::none;
    f.len = std::strlen(f.path);
    std::string_view real(f.path, f.len);
    const bool inside = path_within(real, m.root);
    if (!inside && !under_safe_path(real)) return Found::refused;
    if (inside && m.root_fd >= 0) {
        const size_t root_len = m.root == "/" ? 0 : m.root.size();
        f.fd = open_beneath(m.root_fd, f.len > root_len + 1 ? f.path + root_len + 1 : ".");
        f.beneath = m.root_fd;
        f.rel = root_len + 1;
    } else {
        f.fd = open_plain(f.path);
    }
    if (f.fd < 0) return errno == ENOENT || errno == ENOTDIR ? Found::none : Found::refused;
    if (fstat(f.fd, &f.st) != 0) return Found::none;
    return Found::file;
}

// The mapping's file for a candidate path: opened below the directory's descriptor.
Found open_beneath_root(const StaticMapping &m, char *candidate, size_t len, OpenFile &f) {
    const size_t root_len = m.root == "/" ? 0 : m.root.size();
    const char *rel = len > root_len + 1 ? candidate + root_len + 1 : ".";
    f.fd = open_beneath(m.root_fd, rel);
    if (f.fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG) return Found::none;
        // EXDEV: a symlink on the way, absolute or climbing out; it may still land inside (or
        // under --static-safe), which the realpath route decides. ENOSYS: a kernel before 5.6.
        if (errno == EXDEV || errno == ELOOP || errno == ENOSYS)
            return open_resolved(m, candidate, len, f);
        return Found::refused;  // EACCES ...
    }
    std::memcpy(f.path, candidate, len + 1);
    f.len = len;
    f.beneath = m.root_fd;
    f.rel = root_len + 1;  // path + rel: the file (or, after an index, its index) below root
    if (fstat(f.fd, &f.st) != 0) return Found::none;
    return Found::file;
}

}  // namespace

StaticResult serve_static_file(uwsgi_request &req) {
    if (!g_static) return StaticResult::not_static;
    std::string_view method = req.var("REQUEST_METHOD");
    if (method != "GET" && method != "HEAD") return StaticResult::not_static;
    std::string_view path = req.var("PATH_INFO");
    for (auto &e : g_static->skip_ext)
        if (ends_with(path, e)) return StaticResult::not_static;
    thread_local char candidate[PATH_MAX + 1];
    // + an index file name and a ".gz" suffix
    thread_local char opened[PATH_MAX + NAME_MAX + 8];
    for (auto &m : g_static->maps) {
        size_t len = 0;
        switch (static_candidate(m, path, candidate, sizeof candidate, len)) {
        case StaticLookup::no_match: continue;
        case StaticLookup::refused: return refuse(req, path, "a \"..\" segment, a NUL or too long");
        case StaticLookup::candidate: break;
        }
        OpenFile f;
        f.path = opened;
        FdGuard guard{f.fd};
        Found found = m.root_fd >= 0 && !static_path_cache_enabled()
                          ? open_beneath_root(m, candidate, len, f)
                          : open_resolved(m, candidate, len, f);
        if (found == Found::refused)
            return refuse(req, path, "it leads outside the mapped directory (a symlink out; "
                                     "--static-safe DIR allows one) or cannot be read");
        if (found == Found::none) continue;  // no such file: the next mapping, or the app
        if (S_ISDIR(f.st.st_mode) && open_index(f) != Found::file) continue;
        if (!S_ISREG(f.st.st_mode)) continue;
        return send_file(req, f);
    }
    return StaticResult::not_static;
}

}  // namespace core
