#include "pypy_library.hpp"

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uwsgi_pypy {

namespace {

std::string dirname_of(const std::string &path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

std::string basename_of(const std::string &path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string real_path(const std::string &path) {
    char buf[PATH_MAX];
    if (!realpath(path.c_str(), buf)) return path;
    return buf;
}

bool is_file(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string last_dlerror() {
    const char *e = dlerror();
    return e ? e : "unknown error";
}

}  // namespace

Home find_home(const SearchConfig &cfg) {
    if (!cfg.home.empty()) return {cfg.home, "--pypy-home"};
    if (!cfg.env_home.empty()) return {cfg.env_home, "$PYPY_HOME"};
    // An installation is "PREFIX/bin/pypy3"; Debian's /usr/bin/pypy3 -> pypy3.9 gives /usr,
    // whose libpypy3.9-c.so the dynamic linker finds, and PyPy knows its stdlib from there.
    size_t start = 0;
    const std::string &p = cfg.path_env;
    while (start <= p.size()) {
        size_t end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        std::string dir = p.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string exe = dir + "/pypy3";
        if (access(exe.c_str(), X_OK) == 0 && is_file(exe)) {
            std::string real = real_path(exe);
            std::string bindir = dirname_of(real);
            std::string home = basename_of(bindir) == "bin" ? dirname_of(bindir) : bindir;
            return {home, "pypy3 on PATH (" + exe + " -> " + real + ")"};
        }
        start = end + 1;
    }
    return {};
}

std::vector<std::string> library_names() {
    std::vector<std::string> names;
    for (int minor = 12; minor >= 6; --minor)
        names.push_back("libpypy3." + std::to_string(minor) + "-c.so");
    names.push_back("libpypy3-c.so");
    names.push_back("libpypy-c.so");
    return names;
}

// A home the user named must be a PyPy installation: its standard library holds PyPy's own
// _pypy_interact.py (upstream: lib_pypy/ up to 3.9, lib/pypy3.X/ from 3.10; Debian: the
// directory itself). Otherwise the library would be found elsewhere and PyPy would quietly use
// another installation's standard library, or none.
bool is_pypy_home(const std::string &dir, std::vector<std::string> &tried) {
    std::vector<std::string> candidates = {dir + "/lib_pypy/_pypy_interact.py"};
    for (int minor = 12; minor >= 6; --minor)
        candidates.push_back(dir + "/lib/pypy3." + std::to_string(minor) + "/_pypy_interact.py");
    candidates.push_back(dir + "/_pypy_interact.py");
    for (const auto &c : candidates) {
        if (is_file(c)) return true;
        tried.push_back(c);
    }
    return false;
}

bool Library::load(const SearchConfig &cfg, std::string &err) {
    // A library given exactly brings its own installation unless a home is given too.
    if (cfg.lib.empty() || !cfg.home.empty() || !cfg.env_home.empty()) home_ = find_home(cfg);
    std::vector<std::string> tried;
    if (!cfg.home.empty() || !cfg.env_home.empty()) {
        if (!is_pypy_home(home_.dir, tried)) {
            err = home_.dir + " (" + home_.origin + ") is not a PyPy installation; none of these "
                  "exist:";
            for (const auto &t : tried) err += "\n    " + t;
            err += "\nfix: give --pypy-home the PyPy installation (e.g. /usr/lib/pypy3.9, or the "
                   "directory holding bin/pypy3 and lib_pypy/)";
            return false;
        }
    }

    auto try_open = [&](const std::string &what, const std::string &label) {
        dlerror();
        void *h = dlopen(what.c_str(), RTLD_NOW | RTLD_GLOBAL);
        if (h) {
            handle_ = h;
            path_ = what;
            // A bare name came through the linker path: say which file that was.
            struct link_map *lm = nullptr;
            if (what.find('/') == std::string::npos && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 &&
                lm && lm->l_name && *lm->l_name)
                path_ = lm->l_name;
            return true;
        }
        tried.push_back(label + ": " + last_dlerror());
        return false;
    };

    if (!cfg.lib.empty()) {
        if (try_open(cfg.lib, cfg.lib + " (--pypy-lib)")) return true;
    } else {
        auto names = library_names();
        if (!home_.dir.empty()) {
            for (const char *sub : {"", "/bin", "/lib"}) {
                for (const auto &n : names) {
                    std::string candidate = home_.dir + sub + "/" + n;
                    if (!is_file(candidate)) {
                        tried.push_back(candidate + ": not found");
                        continue;
                    }
                    if (try_open(candidate, candidate)) return true;
                }
            }
        }
        for (const auto &n : names)
            if (try_open(n, n + " (dynamic linker path)")) return true;
    }

    err = "cannot load libpypy-c";
    if (!home_.dir.empty()) err += " (home " + home_.dir + " from " + home_.origin + ")";
    err += "; tried:";
    for (const auto &t : tried) err += "\n    " + t;
    err += "\nfix: give the library with --pypy-lib FILE or the installation with --pypy-home DIR";
    return false;
}

bool Library::attach_running() {
    if (!dlsym(RTLD_DEFAULT, "pypy_execute_source_ptr")) return false;
    handle_ = RTLD_DEFAULT;
    running_ = true;
    Dl_info info;
    void *probe = dlsym(RTLD_DEFAULT, "pypy_execute_source_ptr");
    path_ = (dladdr(probe, &info) && info.dli_fname) ? info.dli_fname : "(running PyPy)";
    return true;
}

void *Library::symbol(const char *name, std::string &err) {
    std::lock_guard<std::mutex> lock(syms_mutex_);
    for (const auto &s : syms_)
        if (s.name == name) return s.addr;
    dlerror();
    void *addr = dlsym(handle_, name);
    if (!addr) {
        err = "libpypy-c " + path_ + " has no symbol " + name +
              ": it is not a PyPy built with the embedding API (--shared); " + last_dlerror();
        return nullptr;
    }
    syms_.push_back({name, addr});
    return addr;
}

std::string Library::setup_home_arg() const {
    if (!home_.dir.empty()) return home_.dir;
    // No home given: the directory holding the library is inside the installation.
    Dl_info info;
    void *probe = handle_ ? dlsym(handle_, "rpython_startup_code") : nullptr;
    if (probe && dladdr(probe, &info) && info.dli_fname) return dirname_of(real_path(info.dli_fname));
    return dirname_of(path_);
}

std::string loaded_cpython() {
    void *py_init = dlsym(RTLD_DEFAULT, "Py_Initialize");
    if (!py_init) return {};
    Dl_info info;
    std::string file = (dladdr(py_init, &info) && info.dli_fname) ? info.dli_fname : "";
    if (!file.empty()) {
        // A PyPy that exported Py_Initialize would also export its embedding API.
        void *h = dlopen(file.c_str(), RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            bool is_pypy = dlsym(h, "pypy_execute_source_ptr") != nullptr;
            dlclose(h);
            if (is_pypy) return {};
        }
    }
    return file.empty() ? std::string("(unknown object)") : file;
}

}  // namespace uwsgi_pypy
