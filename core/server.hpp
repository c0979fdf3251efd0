// The whole server run: configuration, plugins, sockets, then master or single process.
#pragma once

#include "builtin_plugins.hpp"

namespace core {

// How this core was started: by the uwsgi executable, or by uwsgi_init() in libuwsgi.so.
struct Launch {
    const BuiltinPlugin *builtins = nullptr;  // plugins linked into this image
    bool library_mode = false;                // a host program (PyPy via ctypes) called us
};

int server_main(int argc, char **argv, char **envp, const Launch &launch);

}  // namespace core
