#include "plugin_search_path.hpp"

#include "self_location.hpp"

#include <cstdlib>
#include <dirent.h>
#include <sstream>

namespace core {

// A core in BUILD/core/ (the uwsgi binary or libuwsgi.so) finds the plugins built beside it in
// BUILD/plugins/NAME/.
static void add_build_tree_dirs(std::vector<std::string> &out) {
    std::string root = build_tree_root();
    if (root.empty()) return;
    std::string plugins = root + "/plugins";
    DIR *d = opendir(plugins.c_str());
    if (!d) return;
    while (dirent *e = readdir(d))
        if (e->d_name[0] != '.' && (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN))
            out.push_back(plugins + "/" + e->d_name);
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
