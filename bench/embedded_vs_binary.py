#!/usr/bin/python3
"""Times the same Python workloads (bench/embedded_workloads.py: arithmetic, string building and
join, %-formatting, dict/JSON) under /usr/bin/pypy3 and inside our server on the same
libpypy3.9-c.so, and prints embedded/binary ratios (goal: <= 1.05).

    bench/embedded_vs_binary.py [--rounds 3] [--markdown]

Modes, each started afresh per round (rounds alternate the modes, so a load spike hits all):
  binary           /usr/bin/pypy3 embedded_workloads.py
  binary+thread    the same after starting one thread (PyPy then runs with its GIL enabled,
                   which the server always does: it is the fair reference for the next two)
  server master    uwsgi --pypy-exec embedded_workloads.py (before fork)
  server worker    a request to a forked worker with --threads 2 runs them in a request thread
Figures are CPU time of the running thread, best of BENCH_REPS per process and best over
rounds: on a loaded machine compare the ratios, not the seconds. Only 127.0.0.1; every process
started is stopped by its pid.
"""
import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
UWSGI = os.environ.get("UWSGI_BIN", os.path.join(ROOT, "build", "core", "uwsgi"))
PYPY3 = "/usr/bin/pypy3"
WORKLOADS = os.path.join(HERE, "embedded_workloads.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(argv, extra_env=None):
    with tempfile.NamedTemporaryFile(prefix="bench-emb-", suffix=".json") as out:
        env = dict(os.environ, BENCH_OUT=out.name, BENCH_EXIT="1", **(extra_env or {}))
        proc = subprocess.run(argv, env=env, cwd=HERE, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=600)
        data = open(out.name).read()
        if not data:
            raise RuntimeError("%s wrote no result (exit %s):\n%s%s"
                               % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
        return json.loads(data)


def binary():
    return run_script([PYPY3, WORKLOADS])


def binary_thread():
    code = ("import threading; t = threading.Thread(target=lambda: 0); t.start(); t.join(); "
            "exec(compile(open(%r).read(), %r, 'exec'))" % (WORKLOADS, WORKLOADS))
    return run_script([PYPY3, "-c", code])


def server_master():
    return run_script([UWSGI, "--http-socket", "127.0.0.1:%d" % free_port(),
                       "--pypy-exec", WORKLOADS])


def server_worker():
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-emb-worker-", suffix=".log", delete=False)
    proc = subprocess.Popen([UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--master",
                             "--processes", "1", "--threads", "2", "--pythonpath", HERE,
                             "--wsgi-file", os.path.join(HERE, "embedded_app.py")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited: see %s" % log.name)
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=600) as r:
                    return json.loads(r.read())
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


MODES = [("binary", binary), ("binary+thread", binary_thread),
         ("server master", server_master), ("server worker", server_worker)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--markdown", action="store_true", help="print the docs/PERFORMANCE.md table")
    args = ap.parse_args()
    best = {}
    for r in range(args.rounds):
        for name, fn in MODES:
            for work, secs in fn().items():
                key = (name, work)
                best[key] = min(best.get(key, secs), secs)
            print("round %d: %s done" % (r + 1, name), file=sys.stderr)
    works = [w for (m, w) in best if m == "binary"]
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print("Machine: %s, %d cores, %s UTC, load average %s at the end; best of %s runs x %d "
          "rounds, thread CPU time." % (platform.machine(), os.cpu_count(),
                                        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), load,
                                        os.environ.get("BENCH_REPS", "7"), args.rounds))
    head = ["workload", "pypy3 s"] + ["%s / pypy3" % m for m, _ in MODES[1:]] + \
        ["master / pypy3+thread", "worker / pypy3+thread"]
    rows = []
    for w in works:
        b, bt = best[("binary", w)], best[("binary+thread", w)]
        sm, sw = best[("server master", w)], best[("server worker", w)]
        rows.append([w, "%.4f" % b, "%.2f" % (bt / b), "%.2f" % (sm / b), "%.2f" % (sw / b),
                     "%.2f" % (sm / bt), "%.2f" % (sw / bt)])
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| --- " * len(head) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        for row in [head] + rows:
            print("  ".join(x.rjust(n) for x, n in zip(row, widths)))


if __name__ == "__main__":
    main()
