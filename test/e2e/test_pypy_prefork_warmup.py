"""Warming PyPy's JIT up before fork (README, "Warming PyPy's JIT before fork"): code compiled in
the master by a `--pypy-exec` script is every worker's from its first request, because a worker
is a fork of the master. Checked with pypyjit's count of compiled loops, not with timings.
Ours only: Debian has no uWSGI PyPy plugin to compare with, and its CPython plugin has no JIT."""
import os

import pytest

from conftest import Flavour, plugin_available, read, wait_for
from module_helpers import APPS, from_each_worker, start_app


def test_jit_code_compiled_before_fork_is_in_every_worker(server, tmp_path):
    if not plugin_available("pypy"):
        pytest.skip("plugin pypy is not built here")
    s = start_app(server, Flavour("pypy"), tmp_path, "prefork_jit_app.py",
                  "--pypy-exec", os.path.join(APPS, "prefork_jit_warmup.py"))
    # the socket listens before the apps load: wait for the warm-up's line
    path = os.path.join(s.out_dir, "master_loops")
    assert wait_for(lambda: len(read(path).split()) == 3, timeout=60), s.output()[-3000:]
    before, after, pid = (int(x) for x in read(path).split())
    assert pid == s.pid  # the warm-up ran in the master, before fork
    assert after > before  # and its loop was compiled there
    seen = from_each_worker(s, "/")
    assert sorted(seen) == [1, 2]
    # each worker had the master's compiled loops before it served anything of its own
    assert all(loops >= after for loops in seen.values()), (before, after, seen)
