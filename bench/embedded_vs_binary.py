#!/usr/bin/python3
"""Times the same Python workloads (bench/embedded_workloads.py: arithmetic, string building and
join, %-formatting, dict/JSON) under /usr/bin/pypy3 and inside our server on the same
libpypy3.9-c.so, and writes the embedded/binary ratios (goal: <= 1.05) into their section of
docs/PERFORMANCE.md (or prints it with --print).

    bench/embedded_vs_binary.py [--rounds 5] [--print]

Modes, each started afresh in every round; the rounds interleave the modes (the order turns by
one each round), so a load spike hits every mode:
  binary           /usr/bin/pypy3 embedded_workloads.py
  binary+thread    the same after starting one thread (PyPy then runs with its GIL enabled,
                   as the server does with --threads N > 1 or --enable-threads)
  server master    uwsgi --pypy-exec embedded_workloads.py (before fork; threads off)
  worker 1 thread  a request to a forked worker (--master --processes 1) runs them in its
                   request thread (threads off)
  worker 2 threads the same with --threads 2 (threads on)
The binary runs with PYPY_GC_NURSERY=4M, the server's default nursery, unless the environment
sets one (then both use it). Figures are CPU time of the running thread, best of BENCH_REPS per
process. Each round gives
each mode's ratio to that round's binary and binary+thread; the table shows the median ratio
over the rounds (and the spread), so a load spike in one round does not decide it. Only
127.0.0.1; every process started is stopped by its pid.
"""
import argparse
import json
import os
import platform
import signal
import statistics
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
SECTION = "## Embedded PyPy against the pypy3 binary (bench/embedded_vs_binary.py)"


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


# The server gives PyPy a 4 MB nursery when the environment sets none (plugins/pypy/README.md);
# the binary gets the same, so the ratios compare the embedding, not two GC settings.
SAME_GC = {} if "PYPY_GC_NURSERY" in os.environ else {"PYPY_GC_NURSERY": "4M"}


def binary():
    return run_script([PYPY3, WORKLOADS], SAME_GC)


def binary_thread():
    code = ("import threading; t = threading.Thread(target=lambda: 0); t.start(); t.join(); "
            "exec(compile(open(%r).read(), %r, 'exec'))" % (WORKLOADS, WORKLOADS))
    return run_script([PYPY3, "-c", code], SAME_GC)


def server_master():
    return run_script([UWSGI, "--http-socket", "127.0.0.1:%d" % free_port(),
                       "--pypy-exec", WORKLOADS])


def server_worker(threads):
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-emb-worker-", suffix=".log", delete=False)
    proc = subprocess.Popen([UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--master",
                             "--processes", "1", "--threads", str(threads), "--pythonpath", HERE,
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
         ("server master", server_master), ("worker 1 thread", lambda: server_worker(1)),
         ("worker 2 threads", lambda: server_worker(2))]
SERVER_MODES = [m for m, _ in MODES[2:]]


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def measure(rounds, log):
    """[{mode: {workload: seconds}}] per round, the modes' order turning by one each round."""
    out = []
    for r in range(rounds):
        order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
        got = {}
        for name, fn in order:
            got[name] = fn()
            log("round %d/%d: %s done (load %s)" % (r + 1, rounds, name, load()))
        out.append(got)
    return out


def ratio_cell(per_round, mode, ref, work):
    ratios = sorted(rd[mode][work] / rd[ref][work] for rd in per_round)
    return "%.2f (%.2f-%.2f)" % (statistics.median(ratios), ratios[0], ratios[-1])


def report(per_round, started, loads):
    works = list(per_round[0]["binary"])
    lines = [SECTION, "",
             "Written by `bench/embedded_vs_binary.py` (its docstring says how). Machine: %s, %d "
             "cores, %s; %d rounds, best of %s runs per process, thread CPU time; load average "
             "(1/5/15 min) %s. GC nursery: %s for the binary and the server alike."
             % (platform.machine(), os.cpu_count(), started, len(per_round),
                os.environ.get("BENCH_REPS", "7"), "; ".join(loads),
                os.environ.get("PYPY_GC_NURSERY", "4M (the server's default)")),
             "Cells: the median over the rounds of each round's ratio, (lowest-highest).", "",
             "| workload | pypy3 s (best) | binary+thread / pypy3 | "
             + " | ".join("%s / pypy3" % m for m in SERVER_MODES) + " | "
             + " | ".join("%s / pypy3+thread" % m for m in SERVER_MODES) + " |",
             "| --- " * (3 + 2 * len(SERVER_MODES)) + "|"]
    for w in works:
        best = min(rd["binary"][w] for rd in per_round)
        cells = [w, "%.4f" % best, ratio_cell(per_round, "binary+thread", "binary", w)]
        cells += [ratio_cell(per_round, m, "binary", w) for m in SERVER_MODES]
        cells += [ratio_cell(per_round, m, "binary+thread", w) for m in SERVER_MODES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--print", action="store_true", help="print the section, do not write it")
    args = ap.parse_args()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads = ["start " + load()]
    per_round = measure(args.rounds, log)
    loads.append("end " + load())
    text = report(per_round, started, loads)
    if args.print:
        print(text)
    else:
        sys.path.insert(0, HERE)
        import run
        run.replace_section(SECTION, text)


if __name__ == "__main__":
    main()
