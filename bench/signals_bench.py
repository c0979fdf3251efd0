#!/usr/bin/python3
"""Does the uwsgi signal machinery cost the request path anything? Hello over --http-socket
(one worker under a master, keep-alive, wrk -t1 -c32), on our server, without any signal or
timer registered and with a 100 ms timer firing a handler in the worker; the two measured in
turn for several rounds, each round a few seconds. Prints requests/s and the worker's CPU time
per request, and the ratios (timer / none) of one run; writes its docs/PERFORMANCE.md section.

    bench/signals_bench.py [--rounds 3] [--seconds 3]
"""
import argparse
import os
import re
import subprocess
import time
import urllib.request

import deploy_bench
import run


HEADING = "## uwsgi signals and the request path (bench/signals_bench.py)"


def service(name, timer):
    port = run.free_port()
    argv = [run.UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--master", "--processes", "1",
            "--disable-logging", "--pypy-pp", run.HERE, "--pypy-wsgi", "signals_app"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    env["BENCH_TIMER"] = "1" if timer else "0"
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:  # until it answers hello
        try:
            if urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5).read():
                break
        except OSError:
            time.sleep(0.2)
    return name, port, proc


def measure(port, proc, seconds):
    worker = run.children(proc.pid)[0]
    before = deploy_bench.cpu_seconds(worker)
    out = subprocess.run(["wrk", "-t1", "-c32", "-d%ds" % seconds, "http://127.0.0.1:%d/" % port],
                         capture_output=True, text=True).stdout
    used = deploy_bench.cpu_seconds(worker) - before
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, used / n * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=3)
    args = ap.parse_args()
    servers = [service("no signal registered", False), service("100 ms timer firing", True)]
    try:
        for _, port, _ in servers:
            run.wrk(port, "/", [], 32, 2)  # warm-up (the JIT)
        res = {name: [] for name, _, _ in servers}
        for _ in range(args.rounds):
            for name, port, proc in servers:
                res[name].append(measure(port, proc, args.seconds))
    finally:
        for _, _, proc in servers:
            proc.terminate()
            proc.wait(timeout=20)
    lines = [HEADING, "",
             "Hello over `--http-socket`, one worker under a master, wrk -t1 -c32: without any "
             "uwsgi signal registered, and with a 100 ms timer (`add_ms_timer`) whose handler "
             "runs in the worker while it serves; measured in turn. Requests/s move with the "
             "share of the shared cores a server gets; the worker's CPU time per request is the "
             "figure that shows a cost. %s UTC, load average %s, %d rounds of %d s." % (
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime()), deploy_bench.uptime(),
                 args.rounds, args.seconds), "",
             "| ours, hello, 1 worker | requests/s (each round) | worker CPU us/request (each round) |",
             "| --- | --- | --- |"]
    for name, v in res.items():
        lines.append("| %s | %s | %s |" % (name, " ".join("%.0f" % r for r, _ in v),
                                           " ".join("%.1f" % c for _, c in v)))
    (a, b) = res.values()
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    lines += ["", "Ratios timer / none (medians of this run): requests/s %.2fx, worker CPU per "
              "request %.2fx. Without a registered signal the request path does no signal work "
              "at all (handlers run on the worker's signal thread, woken by its signal pipe)." % (
                  med([r for r, _ in b]) / med([r for r, _ in a]),
                  med([c for _, c in b]) / med([c for _, c in a]))]
    print("\n".join(lines))
    run.replace_section(HEADING, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
