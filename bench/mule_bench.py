#!/usr/bin/env python3
"""Mule message benchmark: one worker sends N messages of SIZE bytes to a programmed mule with
uwsgi.mule_msg (retrying when the queue is full) and the mule receives them with
uwsgi.mule_get_msg; messages per second from the mule's first message to its last, on our
server (PyPy) and on Debian's uWSGI (CPython plugin). A warm-up round first (the JIT), then the
measured round. Prints a markdown table (docs/PERFORMANCE.md).

usage: bench/mule_bench.py [BUILD_DIR] [N]
"""
import os
import subprocess
import sys
import tempfile
import time

from cache_bench import ask, free_port  # the same loopback helpers

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
APP = os.path.join(HERE, "mule_app.py")
MULE = "--mule=" + os.path.join(HERE, "mule_receiver.py")

SERVERS = {
    "ours-pypy": [os.path.join(BUILD, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
                  "--pypy-wsgi-file", APP],
    "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
}


def run_round(port, out, n, size):
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


def bench(name, cmd, size):
    port = free_port()
    out = os.path.join(tempfile.mkdtemp(prefix="mule-bench-"), "result")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    env["MULE_BENCH_OUT"] = out
    p = subprocess.Popen(cmd + ["--http-socket", "127.0.0.1:%d" % port, "--master",
                                "--processes", "1", MULE],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 60
        while True:
            try:
                ask(port, "/send?n=0", timeout=5)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        run_round(port, out, N // 4, size)  # warm-up
        return run_round(port, out, N, size)
    finally:
        p.send_signal(2)  # SIGINT stops both servers
        p.wait(timeout=60)


def main():
    rows = []
    for size in (64, 4096):
        rates = {}
        for name, cmd in SERVERS.items():
            rate, full = bench(name, cmd, size)
            rates[name] = rate
            rows.append("| %s | %d B | %.0f | %d |" % (name, size, rate, full))
        rows.append("| ratio ours / uWSGI | %d B | %.2fx | |"
                    % (size, rates["ours-pypy"] / rates["uwsgi-cpython"]))
    print("| server | message | messages/s | sends retried (queue full) |")
    print("| --- | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
