#!/usr/bin/env python3
"""Mule message benchmark: one worker sends N messages of SIZE bytes to a programmed mule with
uwsgi.mule_msg (retrying after 0.5 ms when the queue is full) and the mule receives them with
uwsgi.mule_get_msg; messages per second from the mule's first message to its last, on our
server (PyPy) and on Debian's uWSGI (CPython plugin). Both servers run side by side; after a
warm-up round each (the JIT) they are measured in turn, ours then uWSGI's, for ROUNDS short
rounds per message size, and the median of the per-round ratios is reported with the load
average. Rewrites its section of docs/PERFORMANCE.md.

usage: bench/mule_bench.py [BUILD_DIR] [N] [ROUNDS]
"""
import os
import subprocess
import sys
import tempfile
import time

import run
from cache_bench import ask, free_port  # the same loopback helpers
from deploy_bench import uptime

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 7
SIZES = (64, 4096)
APP = os.path.join(HERE, "mule_app.py")
MULE = "--mule=" + os.path.join(HERE, "mule_receiver.py")
HEADING = "## Mule messages (bench/mule_bench.py)"

SERVERS = {
    "ours-pypy": [os.path.join(BUILD, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
                  "--pypy-wsgi-file", APP],
    "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
}


def run_round(server, n, size):
    port, out = server["port"], server["out"]
    if os.path.exists(out):
        os.unlink(out)
    sent, full = ask(port, "/send?n=%d&size=%d" % (n, size)).split()
    deadline = time.time() + 300
    while not os.path.exists(out) and time.time() < deadline:
        time.sleep(0.05)
    with open(out) as f:
        count, secs = f.read().split()
    assert int(count) == n == int(sent), (count, n, sent)
    return n / float(secs), int(full)


def start(cmd):
    port = free_port()
    out = os.path.join(tempfile.mkdtemp(prefix="mule-bench-"), "result")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    env["MULE_BENCH_OUT"] = out
    # the full-queue log lines (both servers log each refused send) go nowhere
    p = subprocess.Popen(cmd + ["--http-socket", "127.0.0.1:%d" % port, "--master",
                                "--processes", "1", MULE],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    while True:
        try:
            ask(port, "/send?n=0", timeout=5)
            return {"proc": p, "port": port, "out": out}
        except OSError:
            if time.time() > deadline:
                p.kill()
                raise
            time.sleep(0.2)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    servers = {}
    loads = [uptime()]
    try:
        for name, cmd in SERVERS.items():
            servers[name] = start(cmd)
        results = {}  # (name, size) -> [(rate, full)]
        for size in SIZES:
            for s in servers.values():
                run_round(s, N // 4, size)  # warm-up
            for r in range(ROUNDS):
                for name, s in servers.items():  # interleaved: ours, uWSGI, ours, uWSGI...
                    rate, full = run_round(s, N, size)
                    results.setdefault((name, size), []).append((rate, full))
                    print(size, r, name, "%.0f msg/s, %d retried" % (rate, full),
                          file=sys.stderr)
            loads.append(uptime())
    finally:
        for s in servers.values():
            s["proc"].send_signal(2)  # SIGINT stops both servers
            s["proc"].wait(timeout=60)
    lines = [HEADING, "",
             "Written by `bench/mule_bench.py build %d %d`: one worker sends %d messages to a "
             "programmed mule with `uwsgi.mule_msg` (a full queue is retried after 0.5 ms, so "
             "none is lost) and the mule reads them with `uwsgi.mule_get_msg`; messages per "
             "second from the mule's first message to the end. Both servers run side by side "
             "and are measured in turn (ours, uWSGI, ours, ...) for %d rounds per size after a "
             "warm-up round each; the ratio is the median of the per-round ratios. Machine: %s, "
             "%d cores shared with other engineers' work, %s UTC, load average (1, 5, 15 min) "
             "%s." % (N, ROUNDS, N, ROUNDS, os.uname().machine, os.cpu_count(),
                      time.strftime("%Y-%m-%d %H:%M", time.gmtime()), " / ".join(loads)), "",
             "| message | server | messages/s (median) | each round | sends retried (median) |",
             "| ---: | --- | ---: | --- | ---: |"]
    ratios = {}
    for size in SIZES:
        for name in SERVERS:
            rs = results[(name, size)]
            lines.append("| %d B | %s | %.0f | %s | %.0f |" % (
                size, name, median([r for r, _ in rs]), " ".join("%.0f" % r for r, _ in rs),
                median([f for _, f in rs])))
        per_round = [o / u for (o, _), (u, _) in zip(results[("ours-pypy", size)],
                                                     results[("uwsgi-cpython", size)])]
        ratios[size] = (median(per_round), min(per_round), max(per_round))
    lines.append("")
    for size, (med, lo, hi) in ratios.items():
        lines.append("- %d B: ours / uWSGI+CPython = **%.2fx** (median of %d rounds; %.2fx to "
                     "%.2fx)." % (size, med, ROUNDS, lo, hi))
    notes = os.path.join(HERE, "mule_bench_notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines += [f.read().rstrip("\n")]
    print("\n".join(lines))
    run.replace_section(HEADING, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
