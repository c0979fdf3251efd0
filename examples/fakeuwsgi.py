#!/usr/bin/env pypy3
"""Runs uwsgi inside this PyPy: library mode, the "alternative approach" of uWSGI's PyPy plugin
documentation.

    pypy3 examples/fakeuwsgi.py --http-socket 127.0.0.1:9090 --master --processes 2 --threads 8 \
        --pypy-pp examples/hello --pypy-wsgi app --binary-path examples/fakeuwsgi.py

The core is loaded from $LIBUWSGI, else ./libuwsgi.so, else libuwsgi.so on the linker path, into
the global namespace (RTLD_GLOBAL), so the pypy plugin finds the running PyPy and uses it: no
--pypy-home or --pypy-lib. The arguments are uwsgi's; argv[0] is this script, which is what a
reload with --binary-path re-executes (it runs the script through this PyPy when the script is
not executable).
"""
import ctypes
import os
import sys


def library_path():
    if os.environ.get("LIBUWSGI"):
        return os.environ["LIBUWSGI"]
    if os.path.exists("./libuwsgi.so"):
        return "./libuwsgi.so"
    return "libuwsgi.so"


# load the uwsgi library in the global namespace
path = library_path()
try:
    uwsgi = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
except OSError as e:
    sys.exit("fakeuwsgi: cannot load %s (%s); build it with `UWSGI_PROFILE=pypy "
             "UWSGI_AS_LIB=libuwsgi.so make` or set LIBUWSGI to its path" % (path, e))

# build command line args (NULL-terminated, like a C argv)
argv = (ctypes.c_char_p * (len(sys.argv) + 1))()
for pos, arg in enumerate(sys.argv):
    argv[pos] = os.fsencode(arg)

# an empty environ: the core reads UWSGI_* options from the process environment instead and
# never writes over PyPy's
envs = (ctypes.c_char_p * 1)()

uwsgi.uwsgi_init.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                             ctypes.POINTER(ctypes.c_char_p)]
uwsgi.uwsgi_init.restype = ctypes.c_int
sys.exit(uwsgi.uwsgi_init(len(sys.argv), argv, envs))
