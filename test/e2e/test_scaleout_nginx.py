"""Scale-out: three instances on three "hosts" behind one nginx upstream (uwsgi_pass,
uwsgi_next_upstream error timeout). Under a bounded load one instance is killed with SIGKILL and
started again, another reloaded gracefully (SIGHUP), a third drained with SIGTERM and started
again: the client sees no failed request. Health is read on each instance's stats server
(--stats-http: GET /ready, and the stats JSON's workers).

The hosts are network namespaces made by the test (veth pairs, private 10.213.x.2 addresses that
exist only inside them), or 127.0.0.x aliases where namespaces cannot be made; the test prints
which. Also: SIGTERM drains (in-flight request finishes, new connections refused, /ready 503)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import PYPY_HOME, UWSGI, free_port, http_get, plugin_available, read, wait_for
from nginx_helper import Nginx
from process_tree import descendants
from scaleout_hosts import Hosts

pytestmark = pytest.mark.skipif(not plugin_available("pypy"), reason="plugin pypy is not built")

APP = """
import os, time
def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        open(environ["QUERY_STRING"], "w").close()   # the request is in flight
        time.sleep(3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"served by %d" % os.getpid()]
"""


class Instance:
    def __init__(self, hosts, i, app, tmp_path):
        self.hosts, self.i, self.app = hosts, i, app
        self.addr = hosts.addresses[i]
        self.port, self.stats_port = free_port(), free_port()
        self.log_path = str(tmp_path / ("instance%d.log" % i))
        self.proc = None

    def start(self):
        argv = [UWSGI, "--socket", "%s:%d" % (self.addr, self.port), "--master",
                "--processes", "2", "--threads", "2", "--stats",
                "%s:%d" % (self.addr, self.stats_port), "--stats-http", "--die-on-term",
                "--disable-logging", "--pypy-home", PYPY_HOME, "--pypy-wsgi-file", self.app]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.hosts.command(self.i, argv), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def ready(self):
        try:
            return http_get(self.stats_port, host=self.addr, path="/ready", timeout=2)[0] == 200
        except (OSError, http.client.HTTPException):  # e.g. an answer cut by a reload's re-exec
            return False

    def stats(self):
        try:
            return json.loads(http_get(self.stats_port, host=self.addr, path="/", timeout=3)[1])
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def requests(self):
        s = self.stats()
        return sum(w["requests"] for w in s["workers"]) if s else -1

    def tree(self):
        return [self.proc.pid] + descendants(self.proc.pid)

    def kill_hard(self):
        """The host's instance dies at once: its master and workers, SIGKILL."""
        for pid in self.tree():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            tree = self.tree()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                for pid in tree:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()


class Load:
    """Client threads sending GETs through nginx until stopped; every failure is recorded."""

    def __init__(self, port, threads=3):
        self.port = port
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                status, body = http_get(self.port, "/", timeout=15)
                good = status == 200 and body.startswith(b"served by")
                with self.lock:
                    if good:
                        self.ok += 1
                    else:
                        self.failures.append((time.time(), status, body[:200]))
            except OSError as e:
                with self.lock:
                    self.failures.append((time.time(), "exception", repr(e)))

    def wait_more(self, n, timeout=60):
        start = self.ok
        return wait_for(lambda: self.ok >= start + n, timeout)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=30)


@pytest.fixture
def hosts():
    h = Hosts(3)
    print("scale-out hosts: %s %s" % (h.kind, h.addresses))
    yield h
    h.delete()


def test_three_hosts_behind_nginx_lose_no_request(tmp_path, hosts):
    app = str(tmp_path / "app.py")
    with open(app, "w") as f:
        f.write(APP)
    instances = [Instance(hosts, i, app, tmp_path) for i in range(3)]
    nginx = load = None
    try:
        for inst in instances:
            inst.start()
        for inst in instances:
            assert wait_for(inst.ready, 90), read(inst.log_path)
        upstream = "upstream app { %s }" % " ".join(
            "server %s:%d max_fails=1 fail_timeout=2s;" % (inst.addr, inst.port)
            for inst in instances)
        nginx = Nginx(tmp_path, "include /etc/nginx/uwsgi_params; uwsgi_pass app; "
                                "uwsgi_next_upstream error timeout; uwsgi_connect_timeout 2s; "
                                "uwsgi_read_timeout 10s;", http_block=upstream)
        load = Load(nginx.port)
        assert load.wait_more(150), (load.ok, load.failures)
        assert all(inst.requests() > 0 for inst in instances), "every host takes its share"

        # host 0 dies hard, then comes back
        instances[0].kill_hard()
        assert load.wait_more(150), (load.ok, load.failures)
        instances[0].start()
        assert wait_for(instances[0].ready, 90), read(instances[0].log_path)
        assert wait_for(lambda: instances[0].requests() > 0, 60), "nginx uses it again"

        # host 1 reloads gracefully (new workers, same master, same socket)
        before = {w["pid"] for w in instances[1].stats()["workers"]}
        instances[1].proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: instances[1].ready() and before.isdisjoint(
            {w["pid"] for w in (instances[1].stats() or {"workers": [{"pid": p} for p in before]})[
                "workers"]}), 90), read(instances[1].log_path)
        assert load.wait_more(150), (load.ok, load.failures)
        assert instances[1].proc.poll() is None

        # host 2 drains (SIGTERM) and exits 0, then is started again
        instances[2].proc.send_signal(signal.SIGTERM)
        assert instances[2].proc.wait(timeout=60) == 0, read(instances[2].log_path)
        assert load.wait_more(150), (load.ok, load.failures)
        instances[2].start()
        assert wait_for(instances[2].ready, 90), read(instances[2].log_path)
        assert wait_for(lambda: instances[2].requests() > 0, 60)
        assert load.wait_more(100), (load.ok, load.failures)
    finally:
        if load:
            load.stop()
        if nginx:
            nginx.stop()
        for inst in instances:
            inst.stop()
    print("scale-out (%s): %d requests, %d failed" % (hosts.kind, load.ok, len(load.failures)))
    assert load.failures == [], load.failures[:10]
    assert load.ok >= 700


def test_sigterm_drains_in_flight_and_reports_not_ready(tmp_path):
    app = str(tmp_path / "app.py")
    with open(app, "w") as f:
        f.write(APP)
    port, stats_port = free_port(), free_port()
    log_path = str(tmp_path / "server.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--master",
                                 "--processes", "1", "--threads", "2", "--stats",
                                 "127.0.0.1:%d" % stats_port, "--stats-http",
                                 "--pypy-home", PYPY_HOME, "--pypy-wsgi-file", app],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _ready(stats_port) == 200, 90), read(log_path)
        marker = str(tmp_path / "in-flight")
        result = {}

        def slow():
            result["answer"] = http_get(port, "/slow?" + marker, timeout=30)

        t = threading.Thread(target=slow)
        t.start()
        assert wait_for(lambda: os.path.exists(marker), 30)
        proc.send_signal(signal.SIGTERM)
        assert wait_for(lambda: _ready(stats_port) == 503, 10), "readiness fails at once"
        with pytest.raises(OSError):  # new connections are refused: a balancer retries elsewhere
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        t.join(timeout=30)
        assert result["answer"][0] == 200 and result["answer"][1].startswith(b"served by")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _ready(stats_port):
    try:
        return http_get(stats_port, "/ready", timeout=2)[0]
    except OSError:
        return None
