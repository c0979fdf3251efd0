#!/usr/bin/python3
"""The --http router against --http-socket and against nginx in front, with a hello page and a
64 KiB static file, 1 and 2 workers; writes its section of docs/PERFORMANCE.md (or prints it).

    bench/router_bench.py [--rounds 5] [--duration 2] [--warmup 3] [--workers 1,2] [--print]

For each worker count every server is started once, warmed up, then measured in ROUNDS short
rounds that interleave them (http-socket, router, nginx proxy_pass, nginx uwsgi_pass, nginx
serving the file, then again), so load from other work on the machine falls on all of them
alike; the table gives the median requests/s and, for each pair, the median of the per-round
ratios. Servers (same PyPy app, bench/apps.py, same --static-map, same worker count):

- `http-socket`: ours, the workers answer clients on --http-socket;
- `router`: ours, `--http --http-keepalive`: the router process holds the client connections and
  opens a uwsgi connection to a worker per request;
- `nginx proxy_pass`: nginx (as many worker processes) in front of the `http-socket` instance
  (nginx's defaults: HTTP/1.0, a new upstream connection per request);
- `nginx uwsgi_pass`: nginx in front of the same instance's --socket (uwsgi protocol, one
  connection per request, as the router);
- `nginx static`: nginx serving the file itself (`root`, `sendfile on`), static rows only.

Everything binds 127.0.0.1; every process started is stopped by its pid.
"""
import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from run import HERE, UWSGI, NginxFront, Service, free_port, replace_section, wrk

SECTION = "## The --http router against --http-socket and nginx in front (bench/router_bench.py)"
STATIC_FILE = "64k.bin"
SCENARIOS = [("hello", "/"), ("64 KiB static file", "/static/" + STATIC_FILE)]
CONNECTIONS = 32
# (label, numerator, denominator, scenario or None for both, target)
RATIOS = [
    ("router / http-socket", "router", "http-socket", None, None),
    ("router / nginx proxy_pass", "router", "nginx proxy_pass", None, None),
    ("router / nginx uwsgi_pass", "router", "nginx uwsgi_pass", None, None),
    ("nginx proxy_pass / http-socket", "nginx proxy_pass", "http-socket", None, None),
    ("http-socket / nginx static (#18: at least 0.5)", "http-socket", "nginx static",
     "64 KiB static file", 0.5),
    ("router / nginx static", "router", "nginx static", "64 KiB static file", None),
]


def servers(workers, docroot):
    """Ours with --http-socket and --socket (the nginx fronts' upstream), ours behind its router,
    and three nginx: proxy_pass, uwsgi_pass, and `root` on the same directory."""
    w = str(workers)
    app = ["--pypy-pp", HERE, "--pypy-wsgi", "apps", "--static-map", "/static=%s/static" % docroot,
           "--processes", w, "--master", "--disable-logging"]
    http_port, uwsgi_port, router_port = free_port(), free_port(), free_port()
    direct = Service("http-socket", [UWSGI, "--http-socket", "127.0.0.1:%d" % http_port,
                                     "--socket", "127.0.0.1:%d" % uwsgi_port] + app, http_port)
    router = Service("router", [UWSGI, "--http", "127.0.0.1:%d" % router_port,
                                "--http-keepalive"] + app, router_port)
    out = [direct, router]
    for name, front in (("nginx proxy_pass", NginxFront(http_port, workers=workers, http=True)),
                        ("nginx uwsgi_pass", NginxFront(uwsgi_port, workers=workers)),
                        ("nginx static", NginxFront(location="root %s; sendfile on; "
                                                    "tcp_nopush on;" % docroot,
                                                    workers=workers))):
        svc = Service(name, front.argv(), front.port)
        if name == "nginx static":
            svc.probe = "/static/" + STATIC_FILE
        out.append(svc)
    return out


def applies(svc, scenario):
    return svc.name != "nginx static" or scenario != "hello"


def measure(workers, args, docroot):
    """{(server, scenario): [req/s per round]} and the load averages before and after."""
    svcs = servers(workers, docroot)
    samples = {}
    load_before = os.getloadavg()
    started = []
    try:
        for svc in svcs:  # the uwsgi instances first: the nginx fronts' probes need them
            svc.start()
            started.append(svc)
        for svc in svcs:
            for scenario, path in SCENARIOS:
                if applies(svc, scenario):
                    wrk(svc.port, path, [], CONNECTIONS, args.warmup)  # JIT, caches
        for rnd in range(args.rounds):
            for scenario, path in SCENARIOS:
                for svc in svcs:
                    if not applies(svc, scenario):
                        continue
                    rps, _, errors = wrk(svc.port, path, [], CONNECTIONS, args.duration)
                    samples.setdefault((svc.name, scenario), []).append(rps)
                    print("%d worker(s) round %d %-18s %-16s %9.0f req/s  errors %d"
                          % (workers, rnd + 1, scenario, svc.name, rps, errors),
                          file=sys.stderr, flush=True)
    finally:
        for svc in reversed(started):
            svc.stop()
    return samples, load_before, os.getloadavg()


def median_ratio(samples, a, b, scenario):
    xs, ys = samples.get((a, scenario)), samples.get((b, scenario))
    if not xs or not ys:
        return None
    return statistics.median(x / y for x, y in zip(xs, ys) if y)


def section(results, args):
    lines = [SECTION, "",
             "Written by `bench/router_bench.py` (this section; `--print` only prints it): wrk, "
             "1 thread, %d keep-alive connections, %d rounds of %d s per server after a %d s "
             "warm-up, the servers interleaved in each round; figures are medians over the "
             "rounds, ratios the median of the per-round ratios. PyPy app `bench/apps.py` (`/`: "
             "11 bytes) and `--static-map` for the 64 KiB file, as many nginx worker processes "
             "as uwsgi workers; `nginx proxy_pass` and `nginx uwsgi_pass` are in front of one "
             "`--http-socket` + `--socket` instance of ours. Machine: %s, %d cores, %s."
             % (CONNECTIONS, args.rounds, args.duration, args.warmup, platform.machine(),
                os.cpu_count(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())), ""]
    for workers, (samples, before, after) in results.items():
        lines.append("- %d worker(s): load average (1, 5, 15 min) before %s, after %s."
                     % (workers, " ".join("%.2f" % x for x in before),
                        " ".join("%.2f" % x for x in after)))
    lines += ["", "| workers | scenario | http-socket | router | nginx proxy_pass | "
              "nginx uwsgi_pass | nginx static |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    names = ["http-socket", "router", "nginx proxy_pass", "nginx uwsgi_pass", "nginx static"]
    for workers, (samples, _, _) in results.items():
        for scenario, _ in SCENARIOS:
            cells = []
            for n in names:
                xs = samples.get((n, scenario))
                cells.append("%.0f" % statistics.median(xs) if xs else "-")
            lines.append("| %d | %s | %s |" % (workers, scenario, " | ".join(cells)))
    lines += ["", "| workers | scenario | ratio (median of rounds) | measured | target |",
              "| ---: | --- | --- | ---: | ---: |"]
    for workers, (samples, _, _) in results.items():
        for label, a, b, only, target in RATIOS:
            for scenario, _ in SCENARIOS:
                if only and scenario != only:
                    continue
                v = median_ratio(samples, a, b, scenario)
                if v is not None:
                    lines.append("| %d | %s | %s | %.2fx | %s |"
                                 % (workers, scenario, label, v,
                                    "%.1fx" % target if target else "-"))
    lines += ["", "The router answers each request through a second process and a new uwsgi "
              "connection to a worker (as uWSGI's router and nginx's `uwsgi_pass` do), so its "
              "cost sits with the nginx fronts, not with `--http-socket`, where the worker "
              "answers the client itself. What it buys is in test_http_router.py: idle and slow "
              "clients cost it a connection, never a worker thread."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--print", action="store_true")
    args = ap.parse_args()
    docroot = tempfile.mkdtemp(prefix="bench-router-")
    try:
        os.mkdir(os.path.join(docroot, "static"))
        with open(os.path.join(docroot, "static", STATIC_FILE), "wb") as f:
            f.write(os.urandom(64 * 1024))
        results = {}
        for workers in (int(w) for w in args.workers.split(",")):
            results[workers] = measure(workers, args, docroot)
    finally:
        shutil.rmtree(docroot, ignore_errors=True)
    text = section(results, args)
    if args.print:
        print(text)
    else:
        replace_section(SECTION, text)


if __name__ == "__main__":
    main()
