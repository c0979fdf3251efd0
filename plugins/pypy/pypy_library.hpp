// Finding, loading and resolving libpypy-c at run time. Nothing from PyPy is linked: the plugin
// builds without PyPy installed and can switch PyPy versions without a rebuild.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace uwsgi_pypy {

// Where to look, as configured. Empty strings mean "not given".
struct SearchConfig {
    std::string lib;         // --pypy-lib: used exactly
    std::string home;        // --pypy-home
    std::string env_home;    // $PYPY_HOME
    std::string path_env;    // $PATH, to find a pypy3 executable when no home is given
};

// A home directory and where it came from, for messages.
struct Home {
    std::string dir;
    std::string origin;
};

// The PyPy home implied by the configuration: --pypy-home, else $PYPY_HOME, else the installation
// of the pypy3 found on PATH (symlinks resolved; ".../bin/pypy3" gives "..."). Empty dir if none.
Home find_home(const SearchConfig &cfg);

// The file names libpypy-c goes by, newest first: libpypy3.X-c.so, libpypy3-c.so, libpypy-c.so.
std::vector<std::string> library_names();

class Library {
public:
    // Loads libpypy-c (RTLD_NOW | RTLD_GLOBAL): --pypy-lib exactly, else the home, home/bin and
    // home/lib, then the dynamic linker path, under each of library_names(). On failure returns false and sets err to a
    // message that lists every path tried.
    bool load(const SearchConfig &cfg, std::string &err);

    // Library mode: PyPy is already in the process (it loaded us); use its symbols as they are.
    // False when no PyPy is running.
    bool attach_running();

    // A symbol of libpypy-c, resolved on first use; nullptr with err naming it when missing.
    // Thread-safe: every request thread resolves pypy_thread_attach in thread_init at once.
    void *symbol(const char *name, std::string &err);

    const std::string &path() const { return path_; }
    const Home &home() const { return home_; }
    // The argument for pypy_setup_home(): a directory inside the PyPy installation. PyPy treats
    // it as the parent of a made-up executable and searches upward from it for the stdlib.
    std::string setup_home_arg() const;
    bool running() const { return running_; }

private:
    struct Sym {
        std::string name;
        void *addr;
    };
    void *handle_ = nullptr;
    bool running_ = false;
    std::string path_;
    Home home_;
    std::mutex syms_mutex_;  // the request threads' first lookups race (it crashed the server)
    std::vector<Sym> syms_;
};

// Names the loaded CPython library when one is in the process (Py_Initialize resolves to
// something that is not PyPy); empty otherwise. Mixing libpython and libpypy-c is refused.
std::string loaded_cpython();

}  // namespace uwsgi_pypy
