#!/usr/bin/env python3
"""Spooler benchmark: spooled tasks per second end to end, on our server (PyPy) and on Debian's
uWSGI (CPython plugin), with 1 and 2 spooler processes. CLIENTS concurrent HTTP clients
enqueue TASKS tasks (one uwsgi.spool() per request, 2 workers) while the spooler runs them
(each a trivial handler returning SPOOL_OK); the clock runs from the first request until the last
task file is gone. Also prints the enqueue rate alone (requests/s while enqueueing). Prints a
markdown table for docs/PERFORMANCE.md.

usage: bench/spooler_bench.py [BUILD_DIR] [TASKS]
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

from cache_bench import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
TASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
CLIENTS = 4
APP = os.path.join(HERE, "spooler_app.py")

OURS = [os.path.join(BUILD, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
        "--pypy-wsgi-file", APP]
SERVERS = {
    "ours-pypy": OURS,  # durable: each task file and its directory fsynced before spool() returns
    "ours-pypy --spooler-no-fsync": OURS + ["--spooler-no-fsync"],  # atomic, not fsynced
    "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
}


def pending(spool_dir):
    return sum(1 for n in os.listdir(spool_dir) if n.startswith("uwsgi_spoolfile_on_"))


def start(cmd, spool_dir, spoolers):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    p = subprocess.Popen(cmd + ["--http-socket", "127.0.0.1:%d" % port, "--master",
                                "--processes", "2", "--disable-logging", "--spooler", spool_dir,
                                "--spooler-processes", str(spoolers), "--spooler-quiet",
                                "--spooler-frequency", "1"],
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


def run(port, spool_dir, tasks, tag):
    """(end-to-end tasks/s, enqueue requests/s)."""
    per_client = tasks // CLIENTS
    errors = []
    threads = [threading.Thread(target=enqueue, args=(port, per_client, "%s%d" % (tag, c), errors))
               for c in range(CLIENTS)]
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
    total = per_client * CLIENTS
    return total / (t_done - t0), total / (t_enqueued - t0)


def main():
    rows = []
    for name, cmd in SERVERS.items():
        for spoolers in (1, 2):
            spool_dir = tempfile.mkdtemp(prefix="spooler-bench-", dir=os.path.join(HERE, ".."))
            p, port = start(cmd, spool_dir, spoolers)
            try:
                run(port, spool_dir, max(TASKS // 5, CLIENTS), "warm")  # JIT warm-up
                e2e, enq = run(port, spool_dir, TASKS, "run")
                rows.append((name, spoolers, e2e, enq))
                print(name, spoolers, "%.0f tasks/s end to end, %.0f spool requests/s"
                      % (e2e, enq), file=sys.stderr)
            finally:
                p.send_signal(2)  # SIGINT stops both servers
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                shutil.rmtree(spool_dir, ignore_errors=True)
    print("| server | spooler processes | tasks/s end to end | spool requests/s |")
    print("| --- | ---: | ---: | ---: |")
    for name, spoolers, e2e, enq in rows:
        print("| %s | %d | %.0f | %.0f |" % (name, spoolers, e2e, enq))
    theirs = {s: e for n, s, e, _ in rows if n == "uwsgi-cpython"}
    for mine in SERVERS:
        if mine == "uwsgi-cpython":
            continue
        ours = {s: e for n, s, e, _ in rows if n == mine}
        for s in (1, 2):
            if s in ours and s in theirs:
                print("\n%s, %d spooler process(es): ours / uWSGI+CPython = %.2fx"
                      % (mine, s, ours[s] / theirs[s]))


if __name__ == "__main__":
    main()
