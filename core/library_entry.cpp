// libuwsgi.so: the core as a library, for a host program that is already running (the
// "alternative approach" of uWSGI's PyPy plugin documentation: pypy3 loads it with ctypes,
// RTLD_GLOBAL, and calls uwsgi_init). This is the only symbol the library exports (see
// libuwsgi.map).
#include "server.hpp"

extern "C" __attribute__((visibility("default"))) int uwsgi_init(int argc, char **argv,
                                                                 char **envp) {
    return core::server_main(argc, argv, envp, {core::kBuiltinPlugins, true});
}
