"""Where users deploy it: every Python server behind the same nginx, realistic pages, 1 and 2 worker
processes (bench/run.py --deploy; see docs/PERFORMANCE.md).

Servers: ours on PyPy and Debian's uWSGI with its CPython plugin (both `uwsgi_pass`), gunicorn (sync
workers) on CPython and on PyPy (`proxy_pass`), and our native example handler (hello only, the
floor). Pages: bench/pages_app.py (hello, Django + SQLite, Flask + Jinja2, JSON). Every server is
started first (time to first answer measured one at a time, through nginx); then each page is warmed
up on each server until its rate stops growing (at least --warmup seconds times the workers: every
PyPy worker compiles its own JIT code; see warm_up()), then measured in --rounds rounds of wrk -t1
-c32, the servers taking turns in each round (a change of the machine's load hits every server of a
page alike; the report takes medians); then PSS (/proc/PID/smaps_rollup) of the master and the
workers. `ours-pypy-prewarmed` is ours with the JIT warmed up in the master before fork
(bench/prewarm.py through --pypy-exec); `ours-pypy-nursery1m` is ours with PYPY_GC_NURSERY=1M in its
environment (the plugin's default is 4M; pypy3 sizes its own from the CPU's caches). During
each measured run the CPU time of every process (workers, master, nginx, wrk) is read, so the table
shows what limits the row. bench/page_speed.py, run under pypy3 and python3 in the same run, gives
each page function's own speed ratio.
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import run

HERE = run.HERE
PAGES = [("hello", "/"), ("Django + SQLite", "/django"), ("Flask + Jinja2", "/flask"),
         ("JSON API", "/json")]
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return 0.0


def pss_mib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            m = re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M)
            return int(m.group(1)) / 1024.0 if m else 0.0
    except OSError:
        return 0.0


class Deployed:
    """One server behind its own nginx; `master` is the pid it was started as."""

    def __init__(self, name, argv, port, http_upstream, pages=None):
        self.name = name
        self.pages = pages  # None: every page
        self.svc = run.Service(name, argv, port,
                               front=run.NginxFront(port, http=http_upstream))

    def pids(self):
        master = self.svc.proc.pid
        return master, run.children(master)

    def nginx_pids(self):
        p = self.svc.front.proc.pid
        return [p] + run.children(p)


def servers(workers):
    w = str(workers)
    out = []
    port = run.free_port()
    pypy_path = ["--pypy-pp", HERE, "--pypy-pp", "/usr/lib/python3/dist-packages"]
    out.append(Deployed("ours-pypy", [run.UWSGI, "--socket", "127.0.0.1:%d" % port, "--master",
                                      "--processes", w, "--disable-logging"] + pypy_path
                        + ["--pypy-wsgi", "pages_app"], port, False))
    # the same, with the JIT warmed up in the master before fork (bench/prewarm.py): every worker
    # inherits the compiled code (hello is not warmed: nothing to compare it with)
    port = run.free_port()
    out.append(Deployed("ours-pypy-prewarmed", [run.UWSGI, "--socket", "127.0.0.1:%d" % port,
                                                "--master", "--processes", w,
                                                "--disable-logging"] + pypy_path
                        + ["--pypy-exec", os.path.join(HERE, "prewarm.py"),
                           "--pypy-wsgi", "pages_app"], port, False,
                        pages=[p for _, p in PAGES if p != "/"]))
    # the same with the 1 MB GC nursery PyPy sizes from the 2-core machine's L2 (the plugin's
    # default is 4 MB: docs/PERFORMANCE.md, "The ~15% left after warm-up is PyPy's GC")
    port = run.free_port()
    out.append(Deployed("ours-pypy-nursery1m", ["/usr/bin/env", "PYPY_GC_NURSERY=1M", run.UWSGI,
                                                "--socket", "127.0.0.1:%d" % port, "--master",
                                                "--processes", w, "--disable-logging"]
                        + pypy_path + ["--pypy-wsgi", "pages_app"], port, False,
                        pages=[p for _, p in PAGES if p != "/"]))
    port = run.free_port()
    out.append(Deployed("uwsgi-cpython", ["/usr/bin/uwsgi-core", "--plugins", "python3",
                                          "--socket", "127.0.0.1:%d" % port, "--master",
                                          "--processes", w, "--disable-logging", "--need-app",
                                          "--die-on-term", "--pythonpath", HERE,
                                          "--module", "pages_app"], port, False))
    for interp, name in (("/usr/bin/python3", "gunicorn-cpython"), ("pypy3", "gunicorn-pypy")):
        port = run.free_port()
        out.append(Deployed(name, [interp, "-m", "gunicorn", "-w", w, "-b",
                                   "127.0.0.1:%d" % port, "--chdir", HERE, "--log-level",
                                   "warning", "pages_app:application"], port, True))
    port = run.free_port()
    out.append(Deployed("ours-native", [run.UWSGI, "--socket", "127.0.0.1:%d" % port,
                                        "--master", "--processes", w, "--disable-logging",
                                        "--plugin", "example"], port, False, pages=["/"]))
    return out


def wrk_measured(d, path, seconds):
    """One wrk run with every process's CPU seconds over it: (rps, p99 ms, errors, cpu dict)."""
    master, workers = d.pids()
    nginx = d.nginx_pids()
    before = {p: cpu_seconds(p) for p in [master] + workers + nginx}
    cmd = ["wrk", "-t1", "-c32", "-d%ds" % seconds, "--latency", "--timeout", "10s",
           "http://127.0.0.1:%d%s" % (d.svc.url_port(), path)]
    out_file = open(os.devnull, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=out_file, text=True)
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = status
    out_file.close()
    after = {p: cpu_seconds(p) for p in before}
    used = {p: after[p] - before[p] for p in before}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] \
        if p99 else float("nan")
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(m.group(1)) if m else 0
    cpu = {"workers": sum(used[p] for p in workers) / seconds,
           "master": used[master] / seconds,
           "nginx": sum(used[p] for p in nginx) / seconds,
           "wrk": (usage.ru_utime + usage.ru_stime) / seconds}
    return rps, p99_ms, errors, cpu


def page_speed(interp, warmup, seconds):
    out = subprocess.run([interp, os.path.join(HERE, "page_speed.py"), str(warmup), str(seconds)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError("%s page_speed.py failed: %s" % (interp, out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def pypy3_nursery():
    """The GC nursery the pypy3 binary gives itself here (from the caches the CPU reports: 1 MB
    on a machine with a 1 MB L2, 240 MB on a VM that reports a 480 MB L3)."""
    return subprocess.run(["pypy3", "-c", "import gc; print(gc.get_stats().nursery_size)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def uptime():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


WARMUP_LIMIT_S = 120


def warm_up(d, path, at_least, log):
    """Loads the page until the server's rate stops growing: at least `at_least` seconds, then
    until three 2 s slices in a row are no faster than the best before them (3% margin), at most
    WARMUP_LIMIT_S. A fixed warm-up left PyPy workers half-compiled: the Django page needs about
    8000 calls per worker before PyPy's JIT is done with it (bench/page_speed.py), and each worker
    warms its own JIT, so 2 workers need twice the calls."""
    best, slower, spent = 0.0, 0, 0
    while spent < WARMUP_LIMIT_S:
        rps = run.wrk(d.svc.url_port(), path, [], 32, 2)[0]
        spent += 2
        if rps > best * 1.03:
            best, slower = rps, 0
        else:
            slower += 1
        if slower >= 3 and spent >= at_least:
            break
    log("   %-19s %-16s warm after %d s (%.0f req/s)" % (d.name, path, spent, best))


def run_workers(workers, warmup, seconds, rounds, only, log):
    """{(server, path): [one wrk_measured result per round]}, {server: PSS and start-up}."""
    deployed = [d for d in servers(workers) if not only or d.name in only]
    results, info = {}, {}
    try:
        for d in deployed:
            log("== %s (%d worker(s)) starting" % (d.name, workers))
            d.svc.start()
            info[d.name] = {"startup": d.svc.startup_s}
        for label, path in PAGES:
            on_page = [d for d in deployed if d.pages is None or path in d.pages]
            for d in on_page:
                warm_up(d, path, warmup * workers, log)
            # the servers take turns, round after round: a change of the machine's load hits
            # every server of the page alike, and the median round is reported
            for _ in range(rounds):
                for d in on_page:
                    r = wrk_measured(d, path, seconds)
                    results.setdefault((d.name, path), []).append(r)
                    log("   %-19s %-16s %8.0f req/s  p99 %7.2f ms  err %d  cpu %s" % (
                        d.name, label, r[0], r[1], r[2],
                        " ".join("%s %.0f%%" % (k, v * 100) for k, v in r[3].items())))
        for d in deployed:
            master, workers_pids = d.pids()
            info[d.name]["pss_master"] = pss_mib(master)
            info[d.name]["pss_worker"] = (sum(pss_mib(p) for p in workers_pids)
                                          / max(len(workers_pids), 1))
    finally:
        for d in deployed:
            d.svc.stop()
    return results, info


def median_round(rounds):
    """The round with the median requests/s (its CPU figures with it)."""
    return sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]


def round_ratios(a_rounds, b_rounds):
    """Per round: (a / b requests/s, b / a worker CPU per request)."""
    return [(a[0] / b[0] if b[0] else float("nan"), cpu_ms_per_request(b) / cpu_ms_per_request(a))
            for a, b in zip(a_rounds, b_rounds)]


def median_ratio_cells(ratios, own=None):
    """Table cells: served (each round), [share], by CPU (each round), [share by CPU]."""
    served = statistics.median(r[0] for r in ratios)
    by_cpu = statistics.median(r[1] for r in ratios)
    each = lambda i: " ".join("%.2f" % r[i] for r in ratios)  # noqa: E731
    if own is None:
        return "%.2fx (%s) | - | %.2fx (%s) | -" % (served, each(0), by_cpu, each(1))
    return "%.2fx (%s) | %.0f%% | %.2fx (%s) | %.0f%%" % (
        served, each(0), 100 * served / own, by_cpu, each(1), 100 * by_cpu / own)


def main(args):
    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    only = set(filter(None, args.only.split(",")))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads = ["start: %s" % uptime()]
    log("page functions in-process (pypy3, python3)")
    speed = {"pypy3": page_speed("pypy3", args.warmup, max(args.duration // 2, 2)),
             "python3": page_speed("/usr/bin/python3", 1, max(args.duration // 2, 2)),
             "pypy3_nursery": pypy3_nursery()}
    runs = {}
    for workers in args.deploy_workers:
        runs[workers] = run_workers(workers, args.warmup, args.duration, args.rounds, only, log)
        loads.append("after %d worker(s): %s" % (workers, uptime()))
    raw = os.path.join(os.environ.get("TMPDIR", "/tmp"), "deploy_bench_results.json")
    with open(raw, "w") as f:
        json.dump({"speed": speed, "started": started, "loads": loads,
                   "runs": {w: {"results": [[k[0], k[1], [list(x) for x in v]] for k, v in r.items()],
                                "info": i} for w, (r, i) in runs.items()}}, f)
    log("raw results in %s" % raw)
    return report(runs, speed, started, loads, args)


def cpu_ms_per_request(result):
    rps, _, _, cpu = result
    return cpu["workers"] * 1000.0 / rps if rps else float("nan")


def fmt_cpu(cpu):
    return "%.0f / %.0f / %.0f / %.0f" % (cpu["workers"] * 100, cpu["master"] * 100,
                                          cpu["nginx"] * 100, cpu["wrk"] * 100)


def report(runs, speed, started, loads, args):
    lines = [DEPLOY_HEADING, "",
             "Written by `bench/run.py --deploy` (bench/deploy_bench.py): every server behind "
             "the same nginx 1.22 (one worker process; `uwsgi_pass`, gunicorn `proxy_pass`), "
             "wrk -t1 -c32, a warm-up per page and server until its rate stops growing (at "
             "least %d s per worker process), then %d rounds of %d s, the "
             "servers of a page taking turns in each round; the tables show each server's "
             "median round (by requests/s), the ratios are medians of the per-round ratios. "
             "Pages from `bench/pages_app.py`. "
             "Machine: %s, %d cores, %s; load average (1, 5, 15 min) %s. Compare ratios, not "
             "absolute figures."
             % (args.warmup, args.rounds, args.duration, platform.machine(), os.cpu_count(),
                started, "; ".join(loads)), ""]
    ratio_rows = []
    for workers, (results, info) in runs.items():
        names = list(dict.fromkeys(k[0] for k in results))
        lines += ["### %d worker process(es)" % workers, "",
                  "CPU: percent of one core during the measured run, for the server's workers / "
                  "its master / nginx / wrk (2 cores = 200; well under 200 in total: the other "
                  "jobs on the machine had the rest). `CPU ms/request`: the workers' CPU time "
                  "per answered request, which the machine's load moves much less than "
                  "requests/s.", "",
                  "| page | server | requests/s | p99 ms | CPU workers / master / nginx / wrk "
                  "| CPU ms/request |",
                  "| --- | --- | ---: | ---: | --- | ---: |"]
        for label, path in PAGES:
            for n in names:
                if (n, path) in results:
                    mid = median_round(results[(n, path)])
                    rps, p99, err, cpu = mid
                    err = sum(r[2] for r in results[(n, path)])
                    lines.append("| %s | %s | %.0f%s | %.2f | %s | %.3f |" % (
                        label, n, rps, " (%d errors)" % err if err else "", p99, fmt_cpu(cpu),
                        cpu_ms_per_request(mid)))
        lines += ["", "| server | PSS master MiB | PSS per worker MiB | start to first answer s |",
                  "| --- | ---: | ---: | ---: |"]
        for n in names:
            i = info[n]
            lines.append("| %s | %.1f | %.1f | %.2f |" % (n, i.get("pss_master", 0),
                                                         i.get("pss_worker", 0),
                                                         i.get("startup") or 0))
        lines.append("")
        for label, path in PAGES:
            own = speed["python3"][path] / speed["pypy3"][path]
            cpy = results.get(("uwsgi-cpython", path))
            for name in ("ours-pypy", "ours-pypy-prewarmed", "ours-pypy-nursery1m"):
                ours = results.get((name, path))
                if ours and cpy:
                    ratio_rows.append("| %s | %s | %d | %.2fx | %s |" % (
                        label, name, workers, own,
                        median_ratio_cells(round_ratios(ours, cpy), own)))
        native = results.get(("ours-native", "/"))
        if native and results.get(("ours-pypy", "/")):
            ratio_rows.append("| hello (goal 0.95x) | ours-pypy / ours-native | %d | - | %s |" % (
                workers, median_ratio_cells(round_ratios(results[("ours-pypy", "/")], native))))
    lines += ["### Ratios", "",
              "`page alone`: python3 time / pypy3 time of the page function called in-process "
              "(bench/page_speed.py, thread CPU time, best of 5 slices once the page is warm, "
              "same run; per call: "
              + ", ".join("%s %.1f us on pypy3, %.1f us on python3"
                          % (p, speed["pypy3"][p] * 1e6, speed["python3"][p] * 1e6)
                          for _, p in PAGES)
              + "). `served`: ours requests/s / uwsgi-cpython requests/s behind nginx, median "
              "of the rounds (each round in brackets); `share`: served / page alone (goal from "
              "issue #20: at least 90% with 2 workers). `by CPU`: uwsgi-cpython's worker CPU "
              "per request / ours', the same comparison freed from the share of the cores each "
              "server happened to get. `ours-pypy-prewarmed`: the JIT warmed up in the master "
              "before fork (`--pypy-exec bench/prewarm.py`), so the workers start with its "
              "compiled code. `ours-pypy-nursery1m`: `PYPY_GC_NURSERY=1M` in the server's "
              "environment (the plugin's default is 4M; the pypy3 binary, and so the page-alone "
              "figures, sized its nursery itself from the CPU caches: %s in this run)."
              % speed["pypy3_nursery"],
              "", "| page | ours | workers | page alone pypy3/python3 | served ours/uWSGI+CPython "
              "| share | by CPU | share by CPU |",
              "| --- | --- | ---: | ---: | --- | ---: | --- | ---: |"] + ratio_rows + [""]
    return "\n".join(lines) + "\n"


DEPLOY_HEADING = "## Behind nginx: realistic pages (bench/run.py --deploy)"
