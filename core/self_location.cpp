#include "self_location.hpp"

#include <climits>
#include <cstdlib>
#include <dlfcn.h>
#include <unistd.h>

namespace core {

std::string core_image_path() {
    // dladdr names the shared object that holds this function; for the main program it gives
    // argv[0] or nothing, so the executable is asked for through /proc instead.
    Dl_info info{};
    const std::string so = ".so";
    if (dladdr(reinterpret_cast<void *>(&core_image_path), &info) && info.dli_fname) {
        std::string f = info.dli_fname;
        if (f.find(so) != std::string::npos) {
            char real[PATH_MAX];
            return realpath(f.c_str(), real) ? std::string(real) : f;
        }
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    return n > 0 ? std::string(exe, size_t(n)) : std::string();
}

std::string build_tree_root() {
    std::string path = core_image_path();
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {};
    std::string dir = path.substr(0, slash);
    const std::string core = "/core";
    if (dir.size() <= core.size() || dir.compare(dir.size() - core.size(), core.size(), core) != 0)
        return {};
    std::string root = dir.substr(0, dir.size() - core.size());
    if (access((root + "/meson-private").c_str(), F_OK) != 0) return {};
    return root;
}

}  // namespace core
