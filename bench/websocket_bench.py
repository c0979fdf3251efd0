#!/usr/bin/python3
"""WebSocket echo benchmark: CONNS (32) connections to bench/websocket_app.py's /echo, each with
one binary message in flight (closed loop), on our server (PyPy) and on Debian's uWSGI with its
CPython plugin (--http-socket and its websockets), one worker with --threads CONNS + 1 on both
(a WebSocket holds a thread; ours keeps one free for plain requests), and ours again with
--async CONNS (its WebSocket hub, plugins/pypy/websocket_hub.py). Echo messages per second
and p50/p99 round-trip latency, from ws_echo_client.cpp (one epoll thread; built here with c++)
or, with --python-client, ws_echo_client.py (python3-websockets). The CPU seconds of client and
server over the measured window are printed too, so a client at 100% of a core shows it was
the ceiling, and the server threads' context switches per echo (/proc).

Each server runs --rounds times, taking turns; the table shows each one's median round and the
median of the per-round ratios. Writes its docs/PERFORMANCE.md section (--print: prints it).

usage: bench/websocket_bench.py [--build DIR] [--secs 5] [--warmup 2] [--sizes 64,4096]
                                [--conns 32] [--rounds 5] [--python-client] [--floor] [--print]
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

import run
from run import free_port  # the same loopback helper

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "websocket_app.py")
HEADING = "## WebSocket echo (bench/websocket_bench.py)"


def servers(build, floor, conns):
    """The two servers, ours also with its WebSocket hub (--async CONNS: the WebSockets run as
    coroutines on one hub thread, their request threads parked); with --floor also
    ws_floor_server.cpp's two designs without Python."""
    ours = [os.path.join(build, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
            "--pypy-wsgi-file", APP]
    found = {
        "ours-pypy": ours,
        "ours-pypy --async %d" % conns: ours + ["--async", str(conns)],
        "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
    }
    if floor:
        server = build_cpp("ws_floor_server", "-pthread")
        found["floor-threads (C++)"] = server + ["threads"]
        found["floor-epoll (C++)"] = server + ["epoll"]
    return found


def build_cpp(name, *flags):
    out = os.path.join(tempfile.mkdtemp(prefix="ws-bench-"), name)
    subprocess.run(["c++", "-O2", "-std=c++17", *flags, "-o", out,
                    os.path.join(HERE, name + ".cpp")], check=True)
    return [out]


def cpu_ticks(pid):
    """utime + stime of a whole process (all its threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def context_switches(pid):
    """Voluntary and involuntary context switches of all of a process's threads so far."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                total += sum(int(line.split()[1]) for line in f
                             if line.split(":")[0] in ("voluntary_ctxt_switches",
                                                       "nonvoluntary_ctxt_switches"))
        except OSError:  # a thread that ended meanwhile
            pass
    return total


def bench(cmd, client, conns, size, warmup, secs):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UWSGI_")}
    p = subprocess.Popen(cmd + ["--http-socket", "127.0.0.1:%d" % port, "--processes", "1",
                                "--threads", str(conns + 1), "--disable-logging"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        c = subprocess.Popen(client + [str(port), "/echo", str(conns), str(size), str(warmup),
                                       str(secs)], stdout=subprocess.PIPE, text=True)
        # the server's CPU and switches over most of the client's measured window, read before
        # the client closes (a server's threads may end with their connections)
        time.sleep(warmup)
        t0, w0, s0 = cpu_ticks(p.pid), time.time(), context_switches(p.pid)
        time.sleep(secs * 0.9)
        t1, w1, s1 = cpu_ticks(p.pid), time.time(), context_switches(p.pid)
        out, _ = c.communicate(timeout=warmup + secs + 120)
        if c.returncode != 0:
            raise RuntimeError("client failed: %s" % out)
        fig = dict(kv.split("=") for kv in out.split())
        tick = os.sysconf("SC_CLK_TCK")
        fig["server_cpu"] = (t1 - t0) / tick / (w1 - w0)
        fig["client_cpu"] = float(fig["client_cpu_s"]) / float(fig["secs"])
        fig["rate"] = int(fig["messages"]) / float(fig["secs"])
        fig["switches"] = (s1 - s0) / (w1 - w0) / fig["rate"]
        return fig
    finally:
        p.send_signal(2)  # SIGINT stops both servers
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def median(values):
    return sorted(values)[len(values) // 2]


def section(args, rows, ratios, loads):
    """The docs/PERFORMANCE.md section: how it was run, the table, the per-round ratios."""
    client = ("ws_echo_client.py (python3-websockets, an asyncio client: it caps both servers)"
              if args.python_client else "`bench/ws_echo_client.cpp` (one epoll thread)")
    lines = [HEADING, "", textwrap.fill(
             "Written by `bench/websocket_bench.py` (%s): %d WebSocket connections to "
             "`bench/websocket_app.py` (`websocket_send_binary(websocket_recv())` in a loop), each "
             "with one binary message in flight; one worker with `--threads %d` on both servers (a "
             "WebSocket holds a thread; ours keeps the last one for plain requests), over "
             "`--http-socket`. %d rounds of %g s after %g s of warm-up per server and size, the "
             "servers taking turns; the table shows each server's median round, the last lines "
             "each round's ratio (ours / uWSGI) and their median. Client: %s. "
             "Machine: %s, %d cores, load average %.1f before and %.1f after, %s UTC. Per echo: "
             "the server's CPU time and its threads' context switches (/proc), over the measured "
             "window." % (" ".join(sys.argv[1:]) or "defaults", args.conns, args.conns + 1,
                           args.rounds, args.secs, args.warmup, client, platform.machine(),
                           os.cpu_count(), loads[0], loads[1],
                           time.strftime("%Y-%m-%d %H:%M", time.gmtime())), 100), "",
             "| server | message | echoes/s | p50 us | p99 us | server CPU | CPU us/echo "
             "| switches/echo | client CPU |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += rows
    lines.append("")
    for (ours, size), r in ratios.items():
        lines.append("- %d B: %s / uWSGI per round %s: median **%.2fx** (the issue's goal: 2x)"
                     % (size, ours, ", ".join("%.2f" % x for x in r), median(r)))
    if args.floor:
        lines += ["", textwrap.fill(
            "The floor rows are `bench/ws_floor_server.cpp`: the same echo in plain C++ (no "
            "interpreter, no GIL) with a blocking thread per connection, and with one epoll "
            "thread for all.", 100)]
    lines += ["", textwrap.fill(
        "`ours-pypy --async 32` runs each WebSocket's app on the worker's hub (one thread, an "
        "epoll set and a continulet per WebSocket; plugins/pypy/README.md). Where the time goes, "
        "why a thread per WebSocket cannot reach 2x, and the hub when the client and the server "
        "share one core: the next section.", 100)]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--secs", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--sizes", default="64,4096")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5, help="rounds per server; the median is shown")
    ap.add_argument("--python-client", action="store_true")
    ap.add_argument("--only", default="", help="comma list of servers")
    ap.add_argument("--floor", action="store_true",
                    help="also ws_floor_server.cpp: a thread per connection and one epoll thread")
    ap.add_argument("--print", action="store_true", help="print the section, do not write it")
    args = ap.parse_args()
    client = ([sys.executable, os.path.join(HERE, "ws_echo_client.py")] if args.python_client
              else build_cpp("ws_echo_client"))
    load = os.getloadavg()[0]
    rows, ratios = [], {}
    for size in (int(s) for s in args.sizes.split(",")):
        runs = {}
        for _ in range(args.rounds):  # the servers take turns, so a load change hits both
            for name, cmd in servers(args.build, args.floor, args.conns).items():
                if args.only and name not in args.only.split(","):
                    continue
                f = bench(cmd, client, args.conns, size, args.warmup, args.secs)
                runs.setdefault(name, []).append(f)
                print("%s %d B: %.0f echoes/s, %.1f us CPU and %.2f switches per echo"
                      % (name, size, f["rate"], 1e6 * f["server_cpu"] / f["rate"],
                         f["switches"]), file=sys.stderr)
        for name, figs in runs.items():
            f = sorted(figs, key=lambda f: f["rate"])[len(figs) // 2]  # the median round
            rows.append("| %s | %d B | %.0f | %s | %s | %.0f%% | %.1f | %.2f | %.0f%% |"
                        % (name, size, f["rate"], f["p50_us"], f["p99_us"],
                           100 * f["server_cpu"], 1e6 * f["server_cpu"] / f["rate"],
                           f["switches"], 100 * f["client_cpu"]))
        for ours in ("ours-pypy", "ours-pypy --async %d" % args.conns):
            if ours in runs and "uwsgi-cpython" in runs:
                ratios[ours, size] = [o["rate"] / u["rate"]
                                      for o, u in zip(runs[ours], runs["uwsgi-cpython"])]
    text = section(args, rows, ratios, (load, os.getloadavg()[0]))
    if args.print:
        print(text)
    else:
        run.replace_section(HEADING, text)


if __name__ == "__main__":
    main()
