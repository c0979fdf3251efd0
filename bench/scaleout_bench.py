#!/usr/bin/python3
"""Requests/s through one nginx (uwsgi_pass to an upstream) over 1, 2 and 3 instances of this
server, each on its own "host" (a network namespace, or a 127.0.0.x alias where namespaces cannot
be made: test/e2e/scaleout_hosts.py). wrk, 1 thread, 32 connections, keep-alive to nginx. Writes
the section "## Scale-out behind one nginx" of docs/PERFORMANCE.md (or prints it with --print).

    sudo bench/scaleout_bench.py [--duration 5] [--warmup 3] [--print]
"""
import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
from scaleout_hosts import Hosts  # noqa: E402

import run  # noqa: E402  (bench/ is on sys.path when run as a script)

UWSGI = os.environ.get("UWSGI_BIN", os.path.join(ROOT, "build", "core", "uwsgi"))
HEADING = "## Scale-out behind one nginx (bench/scaleout_bench.py)"
APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello World"]
"""


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(addr, port, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection(addr, port, timeout=2)
            c.request("GET", "/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("instance on %s not ready" % addr)


def nginx_conf(prefix, port, servers):
    upstream = " ".join("server %s;" % s for s in servers)
    return """
user root;
worker_processes 1;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(p)s/body; proxy_temp_path %(p)s/proxy; uwsgi_temp_path %(p)s/uwsgi;
    fastcgi_temp_path %(p)s/fastcgi; scgi_temp_path %(p)s/scgi;
    upstream app { %(u)s }
    server {
        listen 127.0.0.1:%(port)d;
        keepalive_requests 1000000;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass app; uwsgi_next_upstream error timeout; }
    }
}
""" % {"p": prefix, "u": upstream, "port": port}


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t1", "-c32", "-d%ds" % seconds, "--latency",
                          "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True,
                         timeout=seconds + 60).stdout
    if "Requests/sec" not in out:
        raise RuntimeError("wrk: " + out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, errors + (int(non2xx.group(1)) if non2xx else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--print", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="scaleout-bench-")
    app = os.path.join(work, "app.py")
    with open(app, "w") as f:
        f.write(APP)
    hosts = Hosts(3)
    procs, rows = [], []
    try:
        instances = []
        for i in range(3):
            port, stats = free_port(), free_port()
            argv = [UWSGI, "--socket", "%s:%d" % (hosts.addresses[i], port), "--master",
                    "--processes", "1", "--stats", "%s:%d" % (hosts.addresses[i], stats),
                    "--stats-http", "--disable-logging", "--pypy-home", "/usr/lib/pypy3.9",
                    "--pypy-wsgi-file", app]
            procs.append(subprocess.Popen(hosts.command(i, argv), stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
            instances.append(("%s:%d" % (hosts.addresses[i], port), hosts.addresses[i], stats))
        for _, addr, stats in instances:
            wait_ready(addr, stats)
        for n in (1, 2, 3):
            prefix = os.path.join(work, "nginx%d" % n)
            os.makedirs(prefix)
            port = free_port()
            conf = os.path.join(prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(nginx_conf(prefix, port, [s for s, _, _ in instances[:n]]))
            nginx = subprocess.Popen(["nginx", "-p", prefix, "-c", conf, "-g", "daemon off;"])
            try:
                deadline = time.time() + 30
                while time.time() < deadline:
                    if nginx.poll() is not None:
                        raise RuntimeError("nginx exited: " + open(os.path.join(prefix, "error.log")).read())
                    try:
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                        c.request("GET", "/")
                        if c.getresponse().status == 200:
                            break
                    except OSError:
                        time.sleep(0.1)
                wrk(port, args.warmup)
                rps, errors = wrk(port, args.duration)
                rows.append((n, rps, errors))
                print("%d instance(s): %.0f req/s, %d errors" % (n, rps, errors), file=sys.stderr)
            finally:
                nginx.terminate()
                nginx.wait(timeout=30)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        hosts.delete()
    lines = [HEADING, "",
             "One nginx (1 worker process) in front of 1, 2, 3 instances (`--master --processes 1`, "
             "hello app on PyPy), each instance on its own host: %s. wrk -t1 -c32, %d s after a "
             "%d s warm-up, %s, %d cores, one run. On this 2-core machine nginx, wrk and the "
             "instances share the same two cores, so more instances cannot add throughput here: "
             "the figures show what the upstream costs, not how it scales across machines."
             % ("network namespaces joined by veth pairs" if hosts.kind == "netns"
                else "127.0.0.x loopback aliases", args.duration, args.warmup,
                time.strftime("%Y-%m-%d"), os.cpu_count()), "",
             "| instances | requests/s | errors |", "| ---: | ---: | ---: |"]
    lines += ["| %d | %.0f | %d |" % r for r in rows]
    section = "\n".join(lines) + "\n"
    if args.print:
        print(section)
        return
    run.replace_section(HEADING, section)


if __name__ == "__main__":
    main()
