#include "build_plugin.hpp"

#include "runtime.hpp"
#include "self_location.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace core {

// The uwsgiconfig and plugin headers that belong to this binary: the source tree's when it runs
// from its build tree; else the ones installed beside it (BINDIR/uwsgiconfig and the include
// dir relative to it, so a DESTDIR or relocated install works); else the configured prefix's.
struct Candidates {
    std::vector<std::string> tools, includes;
};

static Candidates candidates() {
    Candidates c;
    if (!build_tree_root().empty()) {
        c.tools.push_back(UWSGI_SOURCE_ROOT "/tools/uwsgiconfig");
        c.includes.push_back(UWSGI_SOURCE_ROOT "/plugin-api/include");
    }
    std::string self = core_image_path();
    std::string dir = self.substr(0, self.rfind('/'));
    c.tools.push_back(dir + "/uwsgiconfig");
    c.includes.push_back(dir + "/" UWSGI_BINDIR_TO_INCLUDEDIR);
    c.tools.push_back(UWSGI_BINDIR "/uwsgiconfig");
    c.includes.push_back(UWSGI_INCLUDEDIR);
    return c;
}

// The first of paths where path + suffix is accessible, symlinks and ".." resolved.
static std::string first(const std::vector<std::string> &paths, const char *suffix, int mode) {
    char real[PATH_MAX];
    for (auto &p : paths)
        if (access((p + suffix).c_str(), mode) == 0) return realpath(p.c_str(), real) ? real : p;
    return {};
}

static std::string listed(const std::vector<std::string> &paths, const char *suffix) {
    std::string s;
    for (auto &p : paths) s += (s.empty() ? "" : ", ") + p + suffix;
    return s;
}

int build_plugin(const std::string &dir) {
    Candidates c = candidates();
    std::string tool = first(c.tools, "", X_OK);
    std::string include = first(c.includes, "/uwsgi/plugin.h", R_OK);
    if (tool.empty() || include.empty()) {
        spdlog::error("--build-plugin: {} not found (looked for {}); install uwsgi's development "
                      "files (meson install --tags devel) or run uwsgiconfig --plugin {} yourself",
                      tool.empty() ? "uwsgiconfig" : "the plugin headers",
                      tool.empty() ? listed(c.tools, "") : listed(c.includes, "/uwsgi/plugin.h"),
                      dir);
        return 1;
    }
    std::vector<std::string> args = {tool, "--plugin", dir, "--api", include};
    if (!runtime().library_mode) {
        args.push_back("--check-with");
        args.push_back(core_image_path());
    }
    spdlog::info("building plugin {} with {} (headers {})", dir, tool, include);
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    sigset_t none;  // the server blocks its signals; the build should stop on Ctrl-C
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(tool.c_str(), argv.data());
    spdlog::error("--build-plugin: cannot execute {}: {}", tool, strerror(errno));
    return 1;
}

}  // namespace core
