#!/usr/bin/python3
"""WebSocket echo benchmark: CONNS (32) connections to bench/websocket_app.py's /echo, each with
one binary message in flight (closed loop), on our server (PyPy) and on Debian's uWSGI with its
CPython plugin (--http-socket and its websockets), one worker with --threads CONNS + 1 on both
(a WebSocket holds a thread; ours keeps one free for plain requests). Echo messages per second
and p50/p99 round-trip latency, from ws_echo_client.cpp (one epoll thread; built here with c++)
or, with --python-client, ws_echo_client.py (python3-websockets). The CPU seconds of client and
server over the measured window are printed too, so a client at 100% of a core shows it was
the ceiling. Prints a markdown table (docs/PERFORMANCE.md).

Each server runs --rounds times, taking turns; the table shows each one's median round.

usage: bench/websocket_bench.py [--build DIR] [--secs 10] [--warmup 3] [--sizes 64,4096]
                                [--conns 32] [--rounds 3] [--python-client]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from run import free_port  # the same loopback helper

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "websocket_app.py")


def servers(build):
    return {
        "ours-pypy": [os.path.join(build, "core", "uwsgi"), "--pypy-home", "/usr/lib/pypy3.9",
                      "--pypy-wsgi-file", APP],
        "uwsgi-cpython": ["/usr/bin/uwsgi-core", "--plugin", "python3", "--wsgi-file", APP],
    }


def build_client():
    out = os.path.join(tempfile.mkdtemp(prefix="ws-bench-"), "ws_echo_client")
    subprocess.run(["c++", "-O2", "-std=c++17", "-o", out,
                    os.path.join(HERE, "ws_echo_client.cpp")], check=True)
    return [out]


def cpu_ticks(pid):
    """utime + stime of a whole process (all its threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


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
        time.sleep(warmup)  # the server's CPU is counted over the measured window only
        t0, w0 = cpu_ticks(p.pid), time.time()
        out, _ = c.communicate(timeout=warmup + secs + 120)
        t1, w1 = cpu_ticks(p.pid), time.time()
        if c.returncode != 0:
            raise RuntimeError("client failed: %s" % out)
        fig = dict(kv.split("=") for kv in out.split())
        tick = os.sysconf("SC_CLK_TCK")
        fig["server_cpu"] = (t1 - t0) / tick / (w1 - w0)
        fig["client_cpu"] = float(fig["client_cpu_s"]) / float(fig["secs"])
        fig["rate"] = int(fig["messages"]) / float(fig["secs"])
        return fig
    finally:
        p.send_signal(2)  # SIGINT stops both servers
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--sizes", default="64,4096")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per server; the median is shown")
    ap.add_argument("--python-client", action="store_true")
    ap.add_argument("--only", default="", help="comma list of servers")
    args = ap.parse_args()
    client = ([sys.executable, os.path.join(HERE, "ws_echo_client.py")] if args.python_client
              else build_client())
    load = os.getloadavg()[0]
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        runs = {}
        for _ in range(args.rounds):  # the servers take turns, so a load change hits both
            for name, cmd in servers(args.build).items():
                if args.only and name not in args.only.split(","):
                    continue
                f = bench(cmd, client, args.conns, size, args.warmup, args.secs)
                runs.setdefault(name, []).append(f)
                print("%s %d B: %.0f echoes/s" % (name, size, f["rate"]), file=sys.stderr)
        rates = {}
        for name, figs in runs.items():
            f = sorted(figs, key=lambda f: f["rate"])[len(figs) // 2]  # the median round
            rates[name] = f["rate"]
            rows.append("| %s | %d B | %.0f | %s | %s | %.0f%% | %.1f | %.0f%% |"
                        % (name, size, f["rate"], f["p50_us"], f["p99_us"],
                           100 * f["server_cpu"], 1e6 * f["server_cpu"] / f["rate"],
                           100 * f["client_cpu"]))
        if len(rates) == 2:
            rows.append("| ratio ours / uWSGI | %d B | %.2fx | | | | | |"
                        % (size, rates["ours-pypy"] / rates["uwsgi-cpython"]))
    print("| server | message | echoes/s | p50 us | p99 us | server CPU | server CPU us/echo "
          "| client CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print("\nclient: %s; %d connections; load average %.1f before, %.1f after"
          % ("ws_echo_client.py (python3-websockets)" if args.python_client
             else "ws_echo_client.cpp (epoll)", args.conns, load, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
