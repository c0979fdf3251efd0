#!/usr/bin/env python3
"""Spooler benchmark: spooled tasks per second end to end, on our server (PyPy) and on Debian's
uWSGI (CPython plugin), with 1 and 2 spooler processes (and 1 with 2 workers x 4 threads under 8
clients). CLIENTS concurrent HTTP clients enqueue TASKS tasks (one uwsgi.spool() per request,
2 workers) while the spooler runs them
(each a trivial handler returning SPOOL_OK); the clock runs from the first request until the last
task file is gone. Also prints the enqueue rate alone (requests/s while enqueueing).

The servers are measured in turn (interleaved rounds); median ratios and the load average go
into its docs/PERFORMANCE.md section, which it rewrites.

usage: bench/spooler_bench.py [BUILD_DIR] [TASKS] [ROUNDS]
"""
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import run as bench_run
from cache_bench import free_port
from deploy_bench import uptime

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
TASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 600
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
HEADING = "## Spooler (bench/spooler_bench.py)"
CLIENTS = 4
# (spooler processes, HTTP clients, extra server options): the 1 and 2 spooler
# processes, and many spools in flight at once (2 workers x 4 threads, 8 clients), where the
# durable writes share their directory's fsync (group commit)
CONFIGS = [(1, CLIENTS, []), (2, CLIENTS, []), (1, 8, ["--threads", "4", "--enable-threads"])]
APP = os.path.join(HERE, "spooler_app.py")
# spools per server before the measured rounds: PyPy's JIT compiles the request and spool path
# only after a thousand or so calls per worker (a warm-up of TASKS / 3 left ours interpreted)
WARMUP = 3000

OURS = [os.path.join(BUILD, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
        "--pypy-wsgi-file", APP]
SERVERS = {
    "ours-pypy": OURS,  # durable: each task file and its directory fsynced before spool() returns
    "ours-pypy --spooler-no-fsync": OURS + ["--spooler-no-fsync"],  # atomic, not fsynced
    "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
}


def pending(spool_dir):
    return sum(1 for n in os.listdir(spool_dir) if n.startswith("uwsgi_spoolfile_on_"))


def start(cmd, spool_dir, spoolers, extra):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    p = subprocess.Popen(cmd + ["--http-socket", "127.0.0.1:%d" % port, "--master",
                                "--processes", "2", "--disable-logging", "--spooler", spool_dir,
                                "--spooler-processes", str(spoolers), "--spooler-quiet",
                                "--spooler-frequency", "1"] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port
        except OSError:
            time.sleep(0.2)
    p.kill()
    raise RuntimeError("server did not listen: %s" % cmd)


def enqueue(port, count, tag, errors):
    # one connection per request: uWSGI's --http-socket closes after each answer
    try:
        for i in range(count):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/spool?%s-%d" % (tag, i))
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status != 200 or not body.startswith(b"/"):
                raise RuntimeError("spool failed: %s %r" % (resp.status, body[:200]))
    except Exception as e:  # reported by run()
        errors.append(e)


def run(port, spool_dir, tasks, tag, clients=CLIENTS):
    """(end-to-end tasks/s, enqueue requests/s)."""
    per_client = tasks // clients
    errors = []
    threads = [threading.Thread(target=enqueue, args=(port, per_client, "%s%d" % (tag, c), errors))
               for c in range(clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_enqueued = time.time()
    if errors:
        raise errors[0]
    while pending(spool_dir):
        time.sleep(0.005)
    t_done = time.time()
    total = per_client * clients
    return total / (t_done - t0), total / (t_enqueued - t0)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def stop(p):
    p.send_signal(2)  # SIGINT stops both servers
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    results = {}  # (name, config index) -> [(e2e, enq)] per round
    loads = [uptime()]
    for k, (spoolers, clients, extra) in enumerate(CONFIGS):
        started = {}
        try:
            for name, cmd in SERVERS.items():
                spool_dir = tempfile.mkdtemp(prefix="spooler-bench-", dir=os.path.join(HERE, ".."))
                p, port = start(cmd, spool_dir, spoolers, extra)
                started[name] = (p, port, spool_dir)
            for name, (p, port, spool_dir) in started.items():
                run(port, spool_dir, max(WARMUP, clients), "warm", clients)  # JIT warm-up
            for r in range(ROUNDS):
                for name, (p, port, spool_dir) in started.items():  # interleaved
                    e2e, enq = run(port, spool_dir, TASKS, "r%d" % r, clients)
                    results.setdefault((name, k), []).append((e2e, enq))
                    print(name, spoolers, r, "%.0f tasks/s end to end, %.0f spool requests/s"
                          % (e2e, enq), file=sys.stderr)
        finally:
            for p, _, spool_dir in started.values():
                stop(p)
                shutil.rmtree(spool_dir, ignore_errors=True)
        loads.append(uptime())
    lines = [HEADING, "",
             "Written by `bench/spooler_bench.py build %d %d`: spooled tasks per second end to end. "
             "%d HTTP clients (a connection per request) enqueue %d tasks, one `uwsgi.spool()` per "
             "request on 2 workers (the last rows: 8 clients, 2 workers of 4 threads each), while "
             "the spooler processes run them (a trivial handler returning `SPOOL_OK`); the clock runs from the first request until the last task "
             "file is gone. \"spool requests/s\" is the enqueueing alone. Ours runs durable (the "
             "default: each task's file and directory synced before `spool()` returns, the "
             "directory's fsync shared by tasks spooled at the same moment) and with "
             "`--spooler-no-fsync`; uWSGI never syncs. The three servers run side by side and "
             "are measured in turn for %d rounds after a warm-up each; ratios are medians of "
             "the per-round ratios. Machine: %s, %d cores shared with other engineers' work, "
             "%s UTC, load average (1, 5, 15 min) %s." % (
                 TASKS, ROUNDS, CLIENTS, TASKS, ROUNDS, os.uname().machine, os.cpu_count(),
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime()), " / ".join(loads)), "",
             "| server | spooler processes, clients | tasks/s end to end (median) | each round | "
             "spool requests/s (median) | ours / uWSGI (median, range) |",
             "| --- | --- | ---: | --- | ---: | ---: |"]
    for k, (spoolers, clients, extra) in enumerate(CONFIGS):
        theirs = results[("uwsgi-cpython", k)]
        for name in SERVERS:
            rs = results[(name, k)]
            ratio = ""
            if name != "uwsgi-cpython":
                per_round = [o / u for (o, _), (u, _) in zip(rs, theirs)]
                ratio = "**%.2fx** (%.2fx to %.2fx)" % (median(per_round), min(per_round),
                                                        max(per_round))
            lines.append("| %s | %d, %d clients%s | %.0f | %s | %.0f | %s |" % (
                name, spoolers, clients, ", `%s`" % " ".join(extra[:2]) if extra else "", median([e for e, _ in rs]), " ".join("%.0f" % e for e, _ in rs),
                median([q for _, q in rs]), ratio))
    notes = os.path.join(HERE, "spooler_bench_notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines += ["", f.read().strip("\n")]
    print("\n".join(lines))
    bench_run.replace_section(HEADING, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
