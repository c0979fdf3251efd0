#!/usr/bin/python3
"""Benchmarks our server against its peers with wrk on 127.0.0.1, in one run, and writes the
table to docs/PERFORMANCE.md (or prints it with --print).

    bench/run.py [--duration 5] [--workers 1] [--only NAME,...] [--print]
    bench/run.py --static [--duration 5]     # a 64 KiB static file: ours vs nginx, 1 and 2 workers
    bench/run.py --deploy [--deploy-workers 1,2] [--duration 10] [--warmup 5] [--rounds 3]
                          [--only NAME,...] [--print]

--deploy runs bench/deploy_bench.py instead: every Python server behind the same nginx with
realistic pages (Django, Flask, JSON), PSS, CPU time per process, and its own section of
docs/PERFORMANCE.md.

Peers: nginx `return 200` (the ceiling), Debian's uWSGI with its CPython plugin, gunicorn on
CPython and on PyPy, and ours over --http-socket, behind nginx uwsgi_pass, and with the native
example plugin. Same app (bench/apps.py), same worker count. Figures: requests/s, p99 latency,
errors, RSS per worker, start-up time to first answer. Everything binds 127.0.0.1 only, and every
process started is stopped by its pid.
"""
import argparse
import atexit
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
UWSGI = os.environ.get("UWSGI_BIN", os.path.join(ROOT, "build", "core", "uwsgi"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class Service:
    """One server under test: its command, its port, and the pids that serve requests."""

    def __init__(self, name, argv, port, front=None, env=None, cwd=HERE):
        self.name, self.argv, self.port = name, argv, port
        self.front = front  # an nginx in front of it, or None
        self.env, self.cwd = env, cwd
        self.proc = None
        self.startup_s = None

    def start(self):
        self.log = tempfile.NamedTemporaryFile(prefix="bench-%s-" % self.name, suffix=".log",
                                               delete=False)
        t0 = time.time()
        env = dict(os.environ, **(self.env or {}))
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.cwd)
        if self.front:
            self.front.start()
        url = "http://127.0.0.1:%d%s" % (self.url_port(), getattr(self, "probe", "/"))
        deadline = t0 + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited: see %s" % (self.name, self.log.name))
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        self.startup_s = time.time() - t0
                        return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("%s never answered: see %s" % (self.name, self.log.name))

    def url_port(self):
        return self.front.port if self.front else self.port

    def worker_rss(self):
        pids = children(self.proc.pid) or [self.proc.pid]
        return sum(rss_mib(p) for p in pids) / len(pids)

    def stop(self):
        if self.front:
            self.front.stop()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class NginxFront:
    """nginx-light; `upstream` None means `return 200` (the ceiling); `http` proxies to an HTTP
    upstream (gunicorn) instead of uwsgi_pass (both open one upstream connection per request)."""

    def __init__(self, upstream_port=None, location=None, workers=1, http=False):
        self.port = free_port()
        self.upstream_port = upstream_port
        self.dir = tempfile.mkdtemp(prefix="bench-nginx-")
        # its config, pid file and temp dirs go when the benchmark ends (some callers run
        # nginx from argv() in a Service and never call stop())
        atexit.register(shutil.rmtree, self.dir, True)
        if upstream_port and http:
            location = "proxy_pass http://127.0.0.1:%d;" % upstream_port
        elif upstream_port:
            location = "include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:%d;" % upstream_port
        elif location is None:
            location = 'default_type text/plain; return 200 "Hello World";'
        user = "user root;" if os.getuid() == 0 else ""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("""%s
worker_processes %d;
pid %s/nginx.pid;
error_log %s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %s/body; uwsgi_temp_path %s/uwsgi; proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fcgi; scgi_temp_path %s/scgi;
  client_max_body_size 64m;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:%d; location / { %s } }
}
""" % (user, workers, self.dir, self.dir, self.dir, self.dir, self.dir, self.dir, self.dir, self.port,
       location))
        self.proc = None

    def argv(self):
        return [NGINX, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"), "-g",
                "daemon off;"]

    def start(self):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def services(workers):
    """Every server, built fresh (ports chosen now)."""
    w = str(workers)
    out = []

    def ours(name, *extra, front=False):
        port = free_port()
        sock = ["--socket" if front else "--http-socket", "127.0.0.1:%d" % port]
        argv = [UWSGI] + sock + ["--processes", w, "--disable-logging"] + list(extra)
        if workers > 1:
            argv.append("--master")
        return Service(name, argv, port, front=NginxFront(port) if front else None)

    pypy_app = ["--pypy-pp", HERE, "--pypy-wsgi", "apps"]
    out.append(ours("ours-pypy-http", *pypy_app))
    # the --http router process in front of the workers (uwsgi protocol to them)
    port = free_port()
    out.append(Service("ours-pypy-router",
                       [UWSGI, "--http", "127.0.0.1:%d" % port, "--http-keepalive", "--master",
                        "--processes", w, "--disable-logging"] + pypy_app, port))
    out.append(ours("ours-pypy-nginx", *pypy_app, front=True))
    out.append(ours("ours-native-http", "--plugin", "example"))
    port = free_port()
    out.append(Service("uwsgi-cpython-http",
                       ["/usr/bin/uwsgi-core", "--plugins", "python3", "--http-socket",
                        "127.0.0.1:%d" % port, "--processes", w, "--master", "--disable-logging",
                        "--wsgi-file", os.path.join(HERE, "apps.py"), "--need-app"], port))
    for interp, name in (("/usr/bin/python3", "gunicorn-cpython"), ("pypy3", "gunicorn-pypy")):
        port = free_port()
        out.append(Service(name, [interp, "-m", "gunicorn", "-w", w, "-b", "127.0.0.1:%d" % port,
                                  "--chdir", HERE, "--log-level", "warning", "apps:application"],
                           port))
    ceiling = NginxFront()
    out.append(Service("nginx-return-200", ceiling.argv(), ceiling.port))
    return out


SCENARIOS = [
    # name, path, wrk extra args, connections, applies to
    ("hello keep-alive", "/", [], 32, None),
    ("hello close", "/", ["-H", "Connection: close"], 32, None),
    ("hello keep-alive, 1 conn", "/", [], 1, None),
    ("64 KiB body", "/64k", [], 32, "python"),
    ("1 MiB POST echo", "/echo", ["-s", os.path.join(HERE, "post_1m.lua")], 8, "python"),
    ("CPU-bound page (Python loops)", "/cpu", [], 32, "python"),
    ("CPU-bound page (Jinja2 template)", "/template", [], 32, "python"),
]


def wrk(port, path, extra, connections, duration):
    cmd = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--latency", "--timeout", "10s"]
    out = subprocess.run(cmd + extra + ["http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    return rps, p99_ms, errors


def applies(service, scope):
    if scope is None:
        return True
    return scope == "python" and "native" not in service.name and "nginx-return" not in service.name


STATIC_FILE = "64k.bin"
STATIC_SECTION = "## Static files (bench/run.py --static)"


def static_services(workers, docroot):
    """Ours serving docroot under /static (the native example plugin as the app, so the figure
    is the core's static path alone) and nginx serving the same directory, same worker count."""
    w = str(workers)
    out = []
    for name, extra in (("ours-static", []), ("ours-static-offload", ["--offload-threads", "1"])):
        port = free_port()
        argv = [UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--processes", w,
                "--disable-logging", "--plugin", "example", "--static-map",
                "/static=%s/static" % docroot] + extra + (["--master"] if workers > 1 else [])
        out.append(Service(name, argv, port))
    nginx = NginxFront(location="root %s; sendfile on; tcp_nopush on;" % docroot,
                       workers=workers)
    out.append(Service("nginx-static", nginx.argv(), nginx.port))
    out[-1].probe = "/static/" + STATIC_FILE
    return out


def static_bench(args):
    docroot = tempfile.mkdtemp(prefix="bench-static-")
    os.mkdir(os.path.join(docroot, "static"))
    with open(os.path.join(docroot, "static", STATIC_FILE), "wb") as f:
        f.write(os.urandom(64 * 1024))
    results = {}
    for workers in (1, 2):
        for svc in static_services(workers, docroot):
            print("== %s, %d worker(s)" % (svc.name, workers), file=sys.stderr, flush=True)
            svc.start()
            try:
                path = "/static/" + STATIC_FILE
                wrk(svc.url_port(), path, [], 32, args.warmup)
                results[(svc.name, workers)] = wrk(svc.url_port(), path, [], 32, args.duration)
                print("   %10.0f req/s  p99 %8.2f ms  errors %d" % results[(svc.name, workers)],
                      file=sys.stderr, flush=True)
            finally:
                svc.stop()
    shutil.rmtree(docroot, ignore_errors=True)
    lines = [STATIC_SECTION, "",
             "A 64 KiB file, `GET /static/%s` with wrk (1 thread, 32 keep-alive connections, %d s "
             "after a %d s warm-up), %s, %d cores, %s, one run. Ours: `--static-map` in the core, "
             "the native example plugin as the app; nginx: `root` on the same directory with "
             "`sendfile on`, as many worker processes. `ours-static-offload` adds "
             "`--offload-threads 1`: each offloaded response ends its connection, so wrk "
             "reconnects for every request there." % (STATIC_FILE, args.duration, args.warmup,
                                                     platform.machine(), os.cpu_count(),
                                                     time.strftime("%Y-%m-%d")), "",
             "| server | workers | requests/s | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: |"]
    for (name, workers), (rps, p99, err) in results.items():
        lines.append("| %s | %d | %.0f | %.2f | %d |" % (name, workers, rps, p99, err))
    lines += ["", "| ratio (same run) | measured | target |", "| --- | ---: | ---: |"]
    for workers in (1, 2):
        a, b = results.get(("ours-static", workers)), results.get(("nginx-static", workers))
        if a and b and b[0]:
            lines.append("| ours / nginx, 64 KiB static, %d worker(s) | %.2fx | 0.5x |"
                         % (workers, a[0] / b[0]))
    section = "\n".join(lines) + "\n"
    if args.print:
        print(section)
        return
    replace_section(STATIC_SECTION, section)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--static", action="store_true", help="only the static file benchmark")
    ap.add_argument("--deploy", action="store_true")
    ap.add_argument("--deploy-workers", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="--deploy: measured rounds per page")
    args = ap.parse_args()
    if args.static:
        return static_bench(args)
    if args.deploy:
        import deploy_bench
        args.deploy_workers = [int(w) for w in args.deploy_workers.split(",")]
        section = deploy_bench.main(args)
        if args.print:
            print(section)
        else:
            replace_section(deploy_bench.DEPLOY_HEADING, section)
        return
    only = set(filter(None, args.only.split(",")))

    results = {}  # (service, scenario) -> (rps, p99, errors)
    info = {}
    for svc in services(args.workers):
        if only and svc.name not in only:
            continue
        print("== %s" % svc.name, file=sys.stderr, flush=True)
        svc.start()
        try:
            port = svc.url_port()
            for name, path, extra, conns, scope in SCENARIOS:
                if not applies(svc, scope):
                    continue
                wrk(port, path, extra, conns, args.warmup)  # JIT and caches warm up
                results[(svc.name, name)] = wrk(port, path, extra, conns, args.duration)
                print("   %-26s %10.0f req/s  p99 %8.2f ms  errors %d"
                      % ((name,) + results[(svc.name, name)]), file=sys.stderr, flush=True)
            info[svc.name] = (svc.worker_rss(), svc.startup_s)
        finally:
            svc.stop()

    table = report(results, info, args)
    if args.print:
        print(table)
    else:
        path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
        # sections other benchmarks write (bench/cache_bench.py, bench/spooler_bench.py,
        # bench/embedded_vs_binary.py):
        # everything from the first of their headings on is kept as it is
        with open(path) as f:
            old = f.read()
        starts = [old.index(h) for h in KEPT_SECTIONS if h in old]
        kept = old[min(starts):] if starts else ""
        with open(path, "w") as f:
            f.write(table.rstrip("\n") + "\n\n" + kept if kept else table)
        print("wrote %s" % path, file=sys.stderr)


KEPT_SECTIONS = ("## Where a hello request's time goes (the pypy plugin's profile)",
                 "## Behind nginx: realistic pages (bench/run.py --deploy)",
                 "## Hello behind nginx: ours on PyPy against the native handler "
                 "(bench/hello_nginx_bench.py)",
                 "## The --http router against --http-socket and nginx in front "
                 "(bench/router_bench.py)",
                 "## Cache (bench/cache_bench.py)", STATIC_SECTION,
                 "## WebSocket echo (bench/websocket_bench.py)",
                 "## Mule messages (bench/mule_bench.py)",
                 "## Spooler (bench/spooler_bench.py)",
                 "## Embedded PyPy against the pypy3 binary (bench/embedded_vs_binary.py)",
                 "## Scale-out behind one nginx (bench/scaleout_bench.py)",
                 "## uwsgi signals and the request path (bench/signals_bench.py)",
                 "## The request in flight in the stats: its cost (bench/cpu_per_request.py --against)")


def replace_section(heading, section):
    """Puts `section` (starting with `heading`) in docs/PERFORMANCE.md in place of the old one
    (up to the next "## " heading), or before the kept sections when there is none yet."""
    path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    with open(path) as f:
        old = f.read()
    if heading in old:
        start = old.index(heading)
        nxt = old.find("\n## ", start + len(heading))
        end = nxt + 1 if nxt >= 0 else len(old)
    else:
        later = [old.index(h) for h in KEPT_SECTIONS if h in old]
        start = end = min(later) if later else len(old)
    with open(path, "w") as f:
        f.write((old[:start] + section.rstrip("\n") + "\n\n" + old[end:]).rstrip("\n") + "\n")
    print("wrote %s" % path, file=sys.stderr)


def report(results, info, args):
    names = [s for s in dict.fromkeys(k[0] for k in results)]
    lines = ["# Performance", "",
             "Written by `bench/run.py` (wrk, 1 thread, on 127.0.0.1; %d worker(s) per server; "
             "%d s per run after a %d s warm-up). Machine: %s, %d cores, %s. One run: compare the "
             "ratios, not the absolute figures." % (args.workers, args.duration, args.warmup,
                                                   platform.machine(), os.cpu_count(),
                                                   time.strftime("%Y-%m-%d")), ""]
    for _, scen_name in enumerate(dict.fromkeys(k[1] for k in results)):
        lines += ["## %s" % scen_name, "", "| server | requests/s | p99 ms | errors |",
                  "| --- | ---: | ---: | ---: |"]
        for n in names:
            if (n, scen_name) in results:
                rps, p99, err = results[(n, scen_name)]
                lines.append("| %s | %.0f | %.2f | %d |" % (n, rps, p99, err))
        lines.append("")
    lines += ["## Memory and start-up", "", "| server | RSS per worker (MiB) | start to first answer (s) |",
              "| --- | ---: | ---: |"]
    for n in names:
        rss, start = info.get(n, (0, 0))
        lines.append("| %s | %.1f | %.2f |" % (n, rss, start or 0))
    lines.append("")
    lines += ratios(results)
    return "\n".join(lines) + "\n" + NOTES


NOTES = """## Reading the figures

- `errors` for Debian's uWSGI are wrk's socket read errors: its `--http-socket` closes every
  connection after one response (no keep-alive), so each closed connection counts. Its
  requests/s are still the requests it answered.
- `ours-pypy-nginx` is nginx in front with `uwsgi_pass` (a new upstream connection per request,
  nginx's default), so it measures nginx + our uwsgi protocol, and both share the two cores.
- `Connection: close` runs are bounded by TCP connection set-up on this 2-core machine: nginx
  `return 200` itself answers about as many; our PyPy figure is above nginx's there.
- RSS is the mean resident set of the worker processes after the runs (uWSGI's own pypy plugin
  was measured at about 131 MiB per worker). Start-up is from exec to the first 200 answer.
"""


def ratios(results):
    def r(a, b, scen):
        if (a, scen) in results and (b, scen) in results and results[(b, scen)][0]:
            return results[(a, scen)][0] / results[(b, scen)][0]
        return None

    rows = [
        ("ours (PyPy, http) / uWSGI+CPython, hello, Connection: close", "ours-pypy-http", "uwsgi-cpython-http", "hello close", 1.2),
        ("ours (PyPy, http) / uWSGI+CPython, hello, keep-alive", "ours-pypy-http", "uwsgi-cpython-http", "hello keep-alive", 2.5),
        ("ours (PyPy, http) / uWSGI+CPython, CPU-bound page (Python loops)", "ours-pypy-http", "uwsgi-cpython-http", "CPU-bound page (Python loops)", 3.0),
        ("ours (PyPy, http) / uWSGI+CPython, CPU-bound page (Jinja2)", "ours-pypy-http", "uwsgi-cpython-http", "CPU-bound page (Jinja2 template)", None),
        ("ours (PyPy, http) / uWSGI+CPython, 1 MiB POST echo", "ours-pypy-http", "uwsgi-cpython-http", "1 MiB POST echo", 1.0),
        ("ours --http router / ours --http-socket (PyPy), hello keep-alive", "ours-pypy-router", "ours-pypy-http", "hello keep-alive", None),
        ("ours --http router / ours --http-socket (PyPy), hello close", "ours-pypy-router", "ours-pypy-http", "hello close", None),
        ("ours (PyPy, http) / gunicorn on PyPy, hello keep-alive", "ours-pypy-http", "gunicorn-pypy", "hello keep-alive", None),
        ("ours (PyPy, http) / nginx return 200, hello keep-alive, 32 conns (#20)", "ours-pypy-http", "nginx-return-200", "hello keep-alive", 0.8),
        ("ours (native, http) / nginx return 200, keep-alive, 32 conns", "ours-native-http", "nginx-return-200", "hello keep-alive", 0.6),
        ("ours (native, http) / nginx return 200, keep-alive, 1 conn", "ours-native-http", "nginx-return-200", "hello keep-alive, 1 conn", None),
        ("ours (native, http) / nginx return 200, Connection: close", "ours-native-http", "nginx-return-200", "hello close", None),
    ]
    out = ["## Ratios (targets from the issues)", "", "| ratio | measured | target |", "| --- | ---: | ---: |"]
    for label, a, b, scen, target in rows:
        v = r(a, b, scen)
        if v is not None:
            out.append("| %s | %.2fx | %s |" % (label, v, ("%.1fx" % target) if target else "-"))
    out.append("")
    return out


if __name__ == "__main__":
    main()
