#!/usr/bin/python3
"""CPU time per hello request of each server's processes (keep-alive, 32 connections, wrk -t1),
servers measured in turn for several rounds: on a loaded machine requests/s move with the
share of the cores a server gets, CPU time per request much less.

    bench/cpu_per_request.py [--rounds 3] [--seconds 4] [--floor] [--against BIN] [NAME,...]

NAME from bench/run.py's servers (default ours-pypy-http,ours-native-http,nginx-return-200).
`--floor` adds `ours-pypy-floor`: ours-pypy-http running the embedded setup script with its
request hook replaced by one that answers hello at once through api.respond (no environ, no
WSGI): the cost of entering PyPy from C and back, the floor of the pypy plugin.
`--against BIN` adds each of our servers once more run by another build's binary (named
`NAME (against)`), interleaved with this build's: a change's cost, before against after.
`--write-section` puts the table, with each server's median against its `(against)` twin, in
docs/PERFORMANCE.md's section AGAINST_HEADING (the stats' request windows: run it with BIN
built from the commit before them, see that section).
"""
import statistics
import sys
import argparse
import re
import subprocess
import tempfile
import time

import deploy_bench
import run

AGAINST_HEADING = "## The request in flight in the stats: its cost (bench/cpu_per_request.py --against)"


FLOOR_TAIL = """

_floor_lens = ffi.new("uint32_t[]", [12, 10, 14, 2])
_floor_failed = ffi.new("int32_t *")


def _floor():
    c = api.current_call()
    c.result = api.respond(c.req, b"200 OK", 6, b"Content-Typetext/plainContent-Length11",
                           _floor_lens, 2, b"Hello World", 11, _floor_failed)


state.hook_request = _floor
"""


def floor_setup():
    script = subprocess.run([run.UWSGI, "--print-sym", "uwsgi_pypy_setup"], capture_output=True,
                            text=True, check=True).stdout
    f = tempfile.NamedTemporaryFile("w", prefix="bench-floor-", suffix=".py", delete=False)
    f.write(script + FLOOR_TAIL)
    f.close()
    return f.name


SECTION_TEXT = """The stats server lists the request each core serves (`cores[].vars`, `req_info`) by reading
the request threads' request windows in shared memory (docs/ARCHITECTURE.md, "The request in
flight, in the stats"): the worker adds two stores per request and reads the uwsgi protocol's
packet into the request's arena instead of a buffer of its own. Measured against the binary of
the commit before (`git worktree add /tmp/before 900cd3c && cd /tmp/before && meson setup build
&& ninja -C build`, then `bench/cpu_per_request.py --rounds 7 --against
/tmp/before/build/core/uwsgi --write-section ours-native-http,ours-pypy-http,ours-pypy-nginx`),
the servers interleaved round by round; `ours-pypy-nginx` is the uwsgi protocol behind nginx
(nginx's CPU not counted). CPU time per request is the figure that shows a cost on a shared
machine; requests/s move with the share of the cores each server gets.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="?", default="ours-pypy-http,ours-native-http,nginx-return-200")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--floor", action="store_true")
    ap.add_argument("--against", metavar="BIN")
    ap.add_argument("--write-section", action="store_true")
    args = ap.parse_args()
    if args.write_section and not args.against:
        sys.exit("--write-section compares with another binary: give --against BIN")
    names = args.names.split(",")
    svcs = [s for s in run.services(1) if s.name in names]
    if args.against:
        for s in [s for s in run.services(1) if s.name in names and s.argv[0] == run.UWSGI]:
            s.name += " (against)"
            s.argv[0] = args.against
            svcs.append(s)
    if args.floor:
        variant = next(s for s in run.services(1) if s.name == "ours-pypy-http")
        variant.name = "ours-pypy-floor"
        variant.argv[1:1] = ["--pypy-setup", floor_setup()]
        svcs.append(variant)
    for s in svcs:
        s.start()
    try:
        for s in svcs:
            run.wrk(s.url_port(), "/", [], 32, 2)  # warm-up
        res = {s.name: [] for s in svcs}
        for _ in range(args.rounds):
            for s in svcs:
                pids = [s.proc.pid] + run.children(s.proc.pid)
                before = sum(deploy_bench.cpu_seconds(p) for p in pids)
                out = subprocess.run(["wrk", "-t1", "-c32", "-d%ds" % args.seconds,
                                      "http://127.0.0.1:%d/" % s.url_port()],
                                     capture_output=True, text=True).stdout
                used = sum(deploy_bench.cpu_seconds(p) for p in pids) - before
                n = int(re.search(r"(\d+) requests in", out).group(1))
                rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
                res[s.name].append((used / n * 1e6, rps))
    finally:
        for s in svcs:
            s.stop()
    lines = ["%s UTC, load average %s, %d rounds of %d s" % (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), deploy_bench.uptime(), args.rounds,
        args.seconds), "",
        "| server | CPU us per request (each round) | requests/s (each round) |",
        "| --- | --- | --- |"]
    for name, v in res.items():
        lines.append("| %s | %s | %s |" % (name, " ".join("%.2f" % x[0] for x in v),
                                           " ".join("%.0f" % x[1] for x in v)))
    ratios = []
    for name, v in res.items():
        twin = res.get(name + " (against)")
        if twin:
            ratios.append("%s %.3f" % (name, statistics.median(x[0] for x in v) /
                                       statistics.median(x[0] for x in twin)))
    if ratios:
        lines += ["", "Median CPU per request, this build / the `--against` binary: " +
                  ", ".join(ratios) + "."]
    print("\n".join(lines))
    if args.write_section:
        run.replace_section(AGAINST_HEADING, "\n".join([AGAINST_HEADING, "", SECTION_TEXT] + lines)
                            + "\n")


if __name__ == "__main__":
    main()
