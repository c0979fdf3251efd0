#!/usr/bin/python3
"""Does a second busy process make each Django page call dearer, with no server at all?

    bench/two_process_probe.py [--rounds 5] [--seconds 3]

Runs the Django page function of bench/pages_app.py in-process (bench/page_speed.py's `call`,
thread CPU time per call, best of 5 slices after a warm-up), once alone and then as two copies
at the same moment, under pypy3 and under python3; and, as a control that touches almost no
memory, embedded_workloads.arithmetic under pypy3. The rounds interleave alone and pair for
every interpreter; it prints the median of each round's pair/alone CPU ratio. bench/run.py
--deploy measured 2 PyPy workers at ~15% more worker CPU per Django request than 1; if the
same ratio shows here, the server is not what costs it.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CODE = {
    "django": "import page_speed as p; p.per_call('/django', {w}); "
              "print(p.per_call('/django', {s}))",
    "arithmetic": "import embedded_workloads as e, time\n"
                  "def f():\n t = time.thread_time(); e.arithmetic(); return time.thread_time() - t\n"
                  "[f() for _ in range(5)]\nprint(min(f() for _ in range(7)))",
}
CASES = [("pypy3", "django"), ("python3", "django"), ("pypy3", "arithmetic")]
INTERP = {"pypy3": "/usr/bin/pypy3", "python3": "/usr/bin/python3"}


def start(interp, work, warmup, seconds):
    code = CODE[work].format(w=warmup, s=seconds)
    return subprocess.Popen([INTERP[interp], "-c", code], cwd=HERE, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=HERE))


def run(interp, work, copies, warmup, seconds):
    procs = [start(interp, work, warmup, seconds) for _ in range(copies)]
    out = [float(p.communicate(timeout=600)[0].split()[-1]) for p in procs]
    return statistics.mean(out)


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()
    ratios = {c: [] for c in CASES}
    alone = {c: [] for c in CASES}
    print("start %s, load %s" % (time.strftime("%H:%M UTC", time.gmtime()), load()),
          file=sys.stderr)
    for r in range(args.rounds):
        for case in CASES:
            order = (1, 2) if r % 2 == 0 else (2, 1)
            got = {n: run(*case, n, args.warmup, args.seconds) for n in order}
            ratios[case].append(got[2] / got[1])
            alone[case].append(got[1])
            print("round %d %s %s: alone %.6f s, pair %.6f s per call (load %s)"
                  % (r + 1, case[0], case[1], got[1], got[2], load()), file=sys.stderr)
    for case in CASES:
        rs = sorted(ratios[case])
        print("%s %s: alone %.3f ms per call (median); pair/alone %.2f (%s)"
              % (case[0], case[1], statistics.median(alone[case]) * 1000,
                 statistics.median(rs), " ".join("%.2f" % x for x in rs)))
    print("end %s, load %s" % (time.strftime("%H:%M UTC", time.gmtime()), load()))


if __name__ == "__main__":
    main()
