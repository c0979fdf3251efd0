"""Run by --pypy-exec in the master before fork: a hot loop the JIT compiles. Writes the count
of compiled loops before and after it, and the pid, to $MODULE_TEST_DIR/master_loops."""
import os

import pypyjit


def compiled_loops():
    return pypyjit.get_stats_snapshot().counters["TOTAL_COMPILED_LOOPS"]


def spin(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total


before = compiled_loops()
for _ in range(200):
    spin(10000)
with open(os.path.join(os.environ["MODULE_TEST_DIR"], "master_loops"), "w") as f:
    f.write("%d %d %d" % (before, compiled_loops(), os.getpid()))
