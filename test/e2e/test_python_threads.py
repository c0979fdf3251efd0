"""Python threads in a worker: what --enable-threads and --threads N > 1 change, measured on
Debian's uWSGI with its CPython plugin and encoded for both servers (the `flavour` fixture).

uWSGI: without either option it logs "Python threads support is disabled" and never releases
the GIL outside the app's own code, so a thread the app starts runs only while a request is in
Python (sleeping, doing I/O) and stands still while the worker waits for requests; with either
it logs "python threads support enabled" and the thread runs all the time. uwsgi.has_threads
says which.

Ours: PyPy's threads (its GIL) follow the same rule and the start-up log says which: off, JIT
loops run faster. But PyPy turns them on by itself when the app starts a thread, so that thread
always runs, also while the worker waits. That is better than uWSGI's stalled thread (a metrics
flusher, an error reporter's queue, a cache refresher do their work), so it is what ours
asserts. uwsgi.has_threads follows uWSGI's rule."""
import os
import time

import pytest

from conftest import Flavour, plugin_available
from module_helpers import get, start_app, wait_for

MODES = {"default": [], "enable-threads": ["--enable-threads"], "threads-4": ["--threads", "4"]}
ASKED = {"default": None, "enable-threads": "--enable-threads", "threads-4": "--threads 4"}


def ticks(s):
    try:
        with open(os.path.join(s.out_dir, "ticks")) as f:
            return int(f.read() or 0)
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("mode", list(MODES))
def test_a_thread_the_app_starts(server, flavour, tmp_path, mode):
    s = start_app(server, flavour, tmp_path, "threads_app.py", *MODES[mode], workers=1)
    asked = ASKED[mode] is not None
    if flavour.upstream:
        assert s.wait_log("python threads support enabled" if asked
                          else "Python threads support is disabled. You can enable it with "
                               "--enable-threads")
    else:
        assert s.wait_log("PyPy threads: on (%s)" % ASKED[mode] if asked
                          else "PyPy threads: off (no --enable-threads, --threads 1)")
    assert get(s, "/facts")[1] == (1 if asked else 0)

    get(s, "/start")
    if asked or not flavour.upstream:
        # the thread runs while the worker waits for requests: no request is sent meanwhile
        wait_for(lambda: ticks(s) >= 20, what="20 ticks with no request in flight")
        return
    # uWSGI without threads: the worker holds the GIL while it waits, so the thread stands
    # still. A fixed window, as standing still is what is asserted (load cannot make it move);
    # the first 0.3 s let the request that started it finish.
    time.sleep(0.3)
    still = ticks(s)
    time.sleep(1.0)
    assert ticks(s) == still, "the app's thread ran while the worker waited"
    # ... and runs while a request is in Python and lets go of the GIL (time.sleep)
    get(s, "/sleep?s=0.3")
    assert ticks(s) > still


PYPY_MODES = {
    "processes-2": ([], "off (no --enable-threads, --threads 1)"),
    "threads-2": (["--threads", "2"], "on (--threads 2)"),
    "enable-threads": (["--enable-threads"], "on (--enable-threads)"),
    "no-master": (["--threads", "1"], "off (no --enable-threads, --threads 1)"),
}


@pytest.mark.skipif(not plugin_available("pypy"), reason="plugin pypy is not built here")
@pytest.mark.parametrize("mode", list(PYPY_MODES))
def test_pypy_thread_mode_and_a_joined_thread(server, tmp_path, mode):
    """The start-up log says PyPy's thread mode, and in every mode a request that starts a
    thread and joins it gets its result: with threads off PyPy turns them on as the thread
    starts, while the request runs on the worker's request thread (entered through cpyext, as
    in a single process without --master)."""
    extra, line = PYPY_MODES[mode]
    s = start_app(server, Flavour("pypy"), tmp_path, "threads_app.py", *extra,
                  workers=2 if mode == "processes-2" else 1, master=mode != "no-master")
    assert s.wait_log("PyPy threads: " + line)
    for _ in range(3):
        assert get(s, "/join")[1] == [499500]
    assert get(s, "/facts")[1] == (0 if line.startswith("off") else 1)


@pytest.mark.skipif(not plugin_available("pypy"), reason="plugin pypy is not built here")
def test_pypy_signal_handler_runs_while_a_request_is_in_python(server, tmp_path):
    """Threads off by the options (--threads 1), but the app registers a signal handler: its
    cffi callback turns PyPy's threads on, so the worker's signal thread runs the handler while
    the request thread loops in Python, instead of aborting PyPy ("the GIL was not
    initialized")."""
    s = start_app(server, Flavour("pypy"), tmp_path, "threads_signal_app.py", workers=1)
    assert s.wait_log("PyPy threads: off (no --enable-threads, --threads 1)")
    for _ in range(3):
        assert get(s, "/spin")[1] == 1
