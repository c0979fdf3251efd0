#include "plugin_search_path.hpp"

#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <sstream>
#include <unistd.h>

namespace core {

// A binary in BUILD/core/ finds the plugins built beside it in BUILD/plugins/NAME/.
static void add_build_tree_dirs(std::vector<std::string> &out) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    std::string path(exe, size_t(n));
    std::string dir = path.substr(0, path.rfind('/'));
    if (dir.size() < 5 || dir.compare(dir.size() - 5, 5, "/core") != 0) return;
    std::string plugins = dir.substr(0, dir.size() - 5) + "/plugins";
    if (access((dir.substr(0, dir.size() - 5) + "/meson-private").c_str(), F_OK) != 0) return;
    DIR *d = opendir(plugins.c_str());
    if (!d) return;
    while (dirent *e = readdir(d))
        if (e->d_name[0] != '.') out.push_back(plugins + "/" + e->d_name);
    closedir(d);
}

std::vector<std::string> plugin_search_path(const std::vector<std::string> &plugin_dirs) {
    std::vector<std::string> out = plugin_dirs;
    if (const char *env = getenv("UWSGI_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string dir;
        while (std::getline(ss, dir, ':'))
            if (!dir.empty()) out.push_back(dir);
    }
    out.push_back(UWSGI_PLUGIN_DIR);
    add_build_tree_dirs(out);
    return out;
}

std::string describe_search_path(const std::vector<std::string> &dirs) {
    std::string s;
    for (auto &d : dirs) s += (s.empty() ? "" : ", ") + d;
    return s;
}

}  // namespace core
