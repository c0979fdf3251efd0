#include "magic_vars.hpp"

#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

static std::string read_link(const char *link) {
    char buf[PATH_MAX];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// uWSGI's %j: its djb33x hash of the full path, as the hex of the hash's bytes in memory order.
static std::string path_hash(const std::string &path) {
    uint32_t hash = 5381;
    for (unsigned char c : path) hash = ((hash << 5) + hash) ^ c;
    std::string out;
    for (int i = 0; i < 4; ++i) out += fmt::format("{:02x}", (hash >> (8 * i)) & 0xff);
    return out;
}

void MagicVars::enter_file(const std::string &path, const std::string &section) {
    char resolved[PATH_MAX];
    std::string abs = realpath(path.c_str(), resolved) ? resolved : path;
    size_t slash = abs.rfind('/');
    std::string dir = slash == std::string::npos ? "./" : abs.substr(0, slash + 1);
    std::string file = slash == std::string::npos ? abs : abs.substr(slash + 1);
    size_t dot = file.rfind('.');
    std::string parent = dir.substr(0, dir.size() - 1);
    parent = parent.substr(parent.rfind('/') + 1);

    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    char cwd[PATH_MAX] = {0};
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    struct stat st {};
    struct passwd *pw = getpwuid(getuid());
    struct group *gr = getgrgid(getgid());
    auto now = std::chrono::system_clock::now().time_since_epoch();

    vars_ = {
        {'o', path}, {'p', abs}, {'s', file}, {'d', dir}, {'c', parent}, {'x', section},
        {'n', dot == std::string::npos ? file : file.substr(0, dot)},
        {'e', dot == std::string::npos ? "" : file.substr(dot + 1)},
        {'j', path_hash(abs)}, {'i', lstat(abs.c_str(), &st) == 0 ? std::to_string(st.st_ino) : ""},
        {'h', host}, {'v', cwd}, {'k', std::to_string(sysconf(_SC_NPROCESSORS_ONLN))},
        {'b', read_link("/proc/self/exe")}, {'V', UWSGI_VERSION},
        {'t', std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count())},
        {'T', std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count())},
        {'u', std::to_string(getuid())}, {'U', pw ? pw->pw_name : std::to_string(getuid())},
        {'g', std::to_string(getgid())}, {'G', gr ? gr->gr_name : std::to_string(getgid())},
        {'[', "\033"},
    };
    // %0..%9: the components of the file's directory
    size_t at = 1;
    for (char n = '0'; n <= '9'; ++n) {
        size_t end = dir.find('/', at);
        vars_[n] = end == std::string::npos ? "" : dir.substr(at, end - at);
        at = end == std::string::npos ? dir.size() : end + 1;
    }
    if (!first_done_) {
        for (char c : std::string("odspcenxij")) first_[c] = vars_[c];
        first_done_ = true;
    }
    for (auto &[c, v] : first_) vars_[char(std::toupper(c))] = v;
}

std::string MagicVars::substitute(const std::string &text) const {
    if (text.find('%') == std::string::npos) return text;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        char c = text[++i];
        if (c == '%') {
            out += '%';
        } else if (auto it = vars_.find(c); it != vars_.end()) {
            out += it->second;
        } else {
            out += '%';
            out += c;
        }
    }
    return out;
}

}  // namespace core
