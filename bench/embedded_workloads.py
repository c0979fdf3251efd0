"""The workloads bench/embedded_vs_binary.py times, identical under /usr/bin/pypy3 and inside the
server. Each is timed in CPU time of the running thread (time.thread_time: on a loaded machine
wall time mostly measures the other processes), best of REPS after the JIT has warmed up.

run_all() returns {workload: seconds}. Run as a script (pypy3 or --pypy-exec) it writes that as
JSON to $BENCH_OUT, and with $BENCH_EXIT set leaves the process at once (inside the server's
master: the benchmark is over, nothing is to be served).
"""
import json
import os
import time

REPS = int(os.environ.get("BENCH_REPS", "7"))


def arithmetic():
    s = 0
    for i in range(30000000):
        s += (i * i) % 7
    return s


def string_join():
    # the case: a 3000-item list of strings, joined
    for _ in range(1500):
        parts = []
        for i in range(3000):
            parts.append(str(i) + "x")
        s = "".join(parts)
    return len(s)


def percent_format():
    out = 0
    for i in range(1000000):
        out += len("%s-%d-%.2f" % ("k", i, i / 3.0))
    return out


def dict_json():
    for i in range(100000):
        d = {"id": i, "name": "n%d" % i, "tags": ["a", "b", str(i)], "v": i * 0.5}
        json.loads(json.dumps(d))


WORKLOADS = (arithmetic, string_join, percent_format, dict_json)


def best(fn):
    times = []
    for _ in range(REPS):
        t = time.thread_time()
        fn()
        times.append(time.thread_time() - t)
    return min(times)


def run_all():
    return {fn.__name__: best(fn) for fn in WORKLOADS}


if __name__ == "__main__" and os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump(run_all(), f)
    if os.environ.get("BENCH_EXIT"):
        os._exit(0)
