"""Helpers of the adaptive-worker, master-fifo and systemd tests: start the workers app on one
flavour (ours on PyPy, Debian's uWSGI on CPython), ask a worker its pid, list the master's
worker processes as the kernel sees them."""
import os
import threading
import urllib.request

from conftest import wait_for

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps", "workers_app.py")


def start_workers_app(server, flavour, *extra, env=None, wait=True):
    args = ["--http-socket", "127.0.0.1:{port}", "--master"] + flavour.app_args(APP) + list(extra)
    return server(*args, binary=flavour.binary, env=env, wait=wait)


def get(s, path="/", timeout=30):
    with urllib.request.urlopen(s.url(path), timeout=timeout) as r:
        return r.read().decode()


def worker_pid(s):
    return int(get(s))


def every_worker_answered(s, count):
    """Waits until COUNT workers run and each has answered a request: they are in their request
    loop (Debian's uWSGI can lose a signal sent to a worker still starting, and then waits for
    it until --reload-mercy)."""
    answered = set()

    def ask(path):
        try:
            answered.add(int(get(s, path, timeout=10)))
        except OSError:
            pass  # a worker still starting: the next round asks again

    def check():
        # COUNT requests at once, each holding its worker a moment, so that they reach
        # different workers: one request after another may reach the same one every time
        # (the kernel's accept wake-up order)
        askers = [threading.Thread(target=ask, args=("/sleep?s=0.2",)) for _ in range(count)]
        for t in askers:
            t.start()
        for t in askers:
            t.join()
        workers = set(live_children(s.pid))
        return len(workers) == count and answered >= workers
    return wait_for(check, timeout=30)


def children(pid):
    """The pids of PID's child processes (its workers), from the kernel."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(p) for p in f.read().split())
    except OSError:
        return []


def live_children(pid):
    """Children that are not zombies (a reaped-soon worker is no longer a worker)."""
    out = []
    for child in children(pid):
        try:
            with open("/proc/%d/stat" % child) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(child)
    return out


def wait_children(pid, predicate, timeout=30.0):
    return wait_for(lambda: predicate(len(live_children(pid))), timeout)


def rss_mb(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
