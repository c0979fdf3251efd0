#!/usr/bin/env python3
"""Cache benchmark: cache_get / cache_update / cache_inc per second from the app, and an app-side
SQLite lookup of the same key, with 1 and 2 workers, on our server (PyPy) and on Debian's uWSGI
(CPython plugin). Each worker runs operations for SECS seconds inside one request (so HTTP is not
measured); with 2 workers both run at once on one shared cache (one hot key: the worst case for
its lock). Prints a markdown table (docs/PERFORMANCE.md).

usage: bench/cache_bench.py [BUILD_DIR] [SECS]
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
APP = os.path.join(HERE, "cache_app.py")
CACHE = ["--cache2", "name=bench,items=1000,blocksize=4096"]

SERVERS = {
    "ours-pypy": [os.path.join(BUILD, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
                  "--pypy-wsgi-file", APP],
    "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(port, path, timeout=300):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    body = conn.getresponse().read().decode()
    conn.close()
    return body


def start(cmd, workers):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    p = subprocess.Popen(cmd + ["--http-socket", "127.0.0.1:%d" % port, "--master",
                                "--processes", str(workers)] + CACHE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            ask(port, "/run?op=get&secs=0", timeout=5)
            return p, port
        except OSError:
            time.sleep(0.2)
    p.kill()
    raise RuntimeError("server did not answer: %s" % cmd)


def measure(port, op, workers):
    """Total operations per second of `workers` concurrent runs (warmed up first)."""
    ask(port, "/run?op=%s&secs=0.5" % op)  # warm-up (PyPy's JIT)
    for _ in range(5):
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            ask(port, "/run?op=%s&secs=%s" % (op, SECS)).split())) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if len({r[0] for r in results}) == workers:  # every worker took part
            return sum(float(r[1]) for r in results)
    return sum(float(r[1]) for r in results)


def main():
    rows = []
    for name, cmd in SERVERS.items():
        for workers in (1, 2):
            p, port = start(cmd, workers)
            try:
                rates = {op: measure(port, op, workers) for op in ("get", "set", "inc", "sqlite")}
            finally:
                # uWSGI 2.0 takes SIGTERM for a brutal reload; SIGINT stops it (and us)
                p.send_signal(signal.SIGINT)
                p.wait(30)
            rows.append((name, workers, rates))
    print("| server | workers | cache_get/s | cache_update/s | cache_inc/s | SQLite lookup/s | "
          "get vs SQLite |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, workers, r in rows:
        print("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.1fx |" % (
            name, workers, r["get"], r["set"], r["inc"], r["sqlite"], r["get"] / r["sqlite"]))


if __name__ == "__main__":
    main()
