#!/usr/bin/python3
"""CPU time per request window by window after start-up, behind nginx (bench/deploy_bench.py's
servers): how long each server's workers take to warm up, with 1 and with 2 workers.

    bench/warmup_curve.py PATH NAME[,NAME...] WORKERS[,WORKERS...] [WINDOWS]

e.g. `bench/warmup_curve.py /flask ours-pypy,gunicorn-pypy 1,2 6`: each server serves PATH for
2 s, then WINDOWS consecutive 3 s wrk runs (-t1 -c32), the servers taking turns; a line per
window with requests/s, the workers' CPU ms per request and the CPU share of workers and nginx.
A PyPy worker compiles its own JIT code, so its CPU per request falls over the first windows;
with 2 workers each sees half the requests and takes about twice as long (docs/PERFORMANCE.md).
"""
import sys

import deploy_bench
import run


def main():
    path, names = sys.argv[1], sys.argv[2].split(",")
    worker_counts = [int(x) for x in sys.argv[3].split(",")]
    windows = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    for workers in worker_counts:
        deployed = [d for d in deploy_bench.servers(workers) if d.name in names]
        for d in deployed:
            d.svc.start()
        try:
            for d in deployed:
                run.wrk(d.svc.url_port(), path, [], 32, 2)
            for i in range(windows):
                for d in deployed:
                    r = deploy_bench.wrk_measured(d, path, 3)
                    print("workers %d %-16s window %d %7.0f req/s  CPU %.3f ms/request  "
                          "workers %.0f%% nginx %.0f%%  load %s"
                          % (workers, d.name, i + 1, r[0], deploy_bench.cpu_ms_per_request(r),
                             r[3]["workers"] * 100, r[3]["nginx"] * 100, deploy_bench.uptime()),
                          flush=True)
        finally:
            for d in deployed:
                d.svc.stop()


if __name__ == "__main__":
    main()
