#!/usr/bin/python3
"""Hello behind nginx: ours on PyPy against our native example handler (issue #20's goal: at
least 0.95x), 1 and 2 worker processes, interleaved rounds (native, ours, native, ours, ...), so
a change of the machine's load hits both alike; reports the median ratios and writes its
section of docs/PERFORMANCE.md (or prints it with --print).

    bench/hello_nginx_bench.py [--rounds 7] [--seconds 4] [--warmup 3] [--workers 1,2] [--floor]
                               [--print]

Both servers as bench/deploy_bench.py runs them (`--socket` behind their own nginx 1.22 with
`uwsgi_pass`, `--master --processes N`; ours serves bench/pages_app.py's hello), wrk -t1 -c32.
Each server is warmed up once (warm-up seconds times the workers: every PyPy worker compiles its
own JIT code). Per round: requests/s, and the CPU time of every process during the run (the
server's workers, its master, nginx, wrk), as percent of one core and as the workers' CPU
microseconds per answered request. `--floor` adds ours-pypy-floor (bench/cpu_per_request.py's
setup script whose request hook answers at once through api.respond: entering PyPy from C and
back, no WSGI), to split ours' cost into the floor and the WSGI layer.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import cpu_per_request
import deploy_bench
import run

SECTION = "## Hello behind nginx: ours on PyPy against the native handler (bench/hello_nginx_bench.py)"
NAMES = ("ours-native", "ours-pypy")


def measure(workers, rounds, seconds, warmup, floor, log):
    servers = [d for d in deploy_bench.servers(workers) if d.name in NAMES]
    servers.sort(key=lambda d: NAMES.index(d.name))
    if floor:
        variant = [d for d in deploy_bench.servers(workers) if d.name == "ours-pypy"][0]
        variant.name = variant.svc.name = "ours-pypy-floor"
        variant.svc.argv[1:1] = ["--pypy-setup", cpu_per_request.floor_setup()]
        servers.append(variant)
    per_round = {d.name: [] for d in servers}
    try:
        for d in servers:
            d.svc.start()
            run.wrk(d.svc.url_port(), "/", [], 32, warmup * workers)
        for r in range(rounds):
            for d in servers:
                res = deploy_bench.wrk_measured(d, "/", seconds)
                per_round[d.name].append(res)
                rps, _, err, cpu = res
                log("%d worker(s) round %d %-12s %8.0f req/s err %d  %s  %.2f us/request" % (
                    workers, r + 1, d.name, rps, err, deploy_bench.fmt_cpu(cpu),
                    deploy_bench.cpu_ms_per_request(res) * 1000))
    finally:
        for d in servers:
            d.svc.stop()
    return per_round


def ratios(per_round):
    """Per round: ours / native requests/s, and native / ours worker CPU per request."""
    out = []
    for native, ours in zip(per_round["ours-native"], per_round["ours-pypy"]):
        by_cpu = deploy_bench.cpu_ms_per_request(native) / deploy_bench.cpu_ms_per_request(ours)
        out.append((ours[0] / native[0], by_cpu))
    return out


def report(runs, args, started, loads):
    lines = [SECTION, "",
             "Written by `bench/hello_nginx_bench.py` (%d rounds of %d s, wrk -t1 -c32, warm-up "
             "%d s per worker process). Machine: %s, %d cores, %s; load average (1, 5, 15 min) "
             "%s. Goal (issue #20): ours-pypy at least 0.95x of ours-native in requests/s."
             % (args.rounds, args.seconds, args.warmup, platform.machine(), os.cpu_count(),
                started, "; ".join(loads)), "",
             "CPU: percent of one core during each run for the server's workers / its master / "
             "nginx / wrk; `us/request`: the workers' CPU time per answered request.", "",
             "| workers | server | requests/s (each round) | CPU (median round) | us/request "
             "(each round) |", "| ---: | --- | --- | --- | --- |"]
    for workers, per_round in runs.items():
        for name in per_round:
            rows = per_round[name]
            mid = sorted(rows, key=lambda r: r[0])[len(rows) // 2]
            lines.append("| %d | %s | %s | %s | %s |" % (
                workers, name, " ".join("%.0f" % r[0] for r in rows), deploy_bench.fmt_cpu(mid[3]),
                " ".join("%.1f" % (deploy_bench.cpu_ms_per_request(r) * 1000) for r in rows)))
    lines += ["", "| workers | ours / native requests/s: median (each round) | native / ours "
              "worker CPU per request: median (each round) |", "| ---: | --- | --- |"]
    for workers, per_round in runs.items():
        rs = ratios(per_round)
        lines.append("| %d | **%.2fx** (%s) | %.2fx (%s) |" % (
            workers, statistics.median(r[0] for r in rs), " ".join("%.2f" % r[0] for r in rs),
            statistics.median(r[1] for r in rs), " ".join("%.2f" % r[1] for r in rs)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--floor", action="store_true")
    ap.add_argument("--print", action="store_true")
    args = ap.parse_args()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads = ["start: %s" % deploy_bench.uptime()]
    runs = {}
    for w in (int(x) for x in args.workers.split(",")):
        runs[w] = measure(w, args.rounds, args.seconds, args.warmup, args.floor, log)
        loads.append("after %d worker(s): %s" % (w, deploy_bench.uptime()))
    text = report(runs, args, started, loads)
    if args.print:
        print(text)
    else:
        run.replace_section(SECTION, text)


if __name__ == "__main__":
    main()
