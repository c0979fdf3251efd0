"""--stats: uWSGI's stats server, checked against the processes it describes, against the keys
uwsgitop and uwsgi_exporter read, and against Debian's uWSGI (same test, same assertions)."""
import json
import os
import socket
import subprocess
import urllib.request

import pytest

from conftest import ROOT, UPSTREAM, UPSTREAM_PLUGINS, UWSGI, Server, free_port, uwsgi_request, wait_for

HELLO = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REQUEST_URI": "/"}
IMPLS = ["ours", "debian-uwsgi"]

# Which consumer reads which key (uwsgitop 0.11 uwsgitop, uwsgi_exporter's collector's
# UwsgiStats / UwsgiWorker / UwsgiCore / UwsgiSocket structs).
UWSGITOP_TOP = ["version", "listen_queue", "cwd", "uid", "gid", "pid", "workers"]
UWSGITOP_WORKER = ["id", "pid", "requests", "delta_requests", "exceptions", "status", "avg_rt",
                   "rss", "vsz", "tx", "running_time", "respawn_count", "harakiri_count",
                   "signals", "last_spawn", "apps", "cores"]
UWSGITOP_CORE = ["id", "requests", "static_requests", "routed_requests", "offloaded_requests",
                 "write_errors", "read_errors", "in_request", "vars"]
EXPORTER_TOP = ["version", "listen_queue", "listen_queue_errors", "signal_queue", "load", "pid",
                "uid", "gid", "cwd", "sockets", "workers"]
EXPORTER_SOCKET = ["name", "proto", "queue", "max_queue", "shared", "can_offload"]
EXPORTER_WORKER = ["id", "pid", "accepting", "requests", "delta_requests", "exceptions",
                   "harakiri_count", "signals", "signal_queue", "status", "rss", "vsz",
                   "running_time", "last_spawn", "respawn_count", "tx", "avg_rt", "apps", "cores"]
EXPORTER_CORE = ["id", "requests", "static_requests", "routed_requests", "offloaded_requests",
                 "write_errors", "read_errors", "in_request", "vars", "req_info"]


def start(impl, tmp_path, stats, *extra):
    """Two workers under a master with --stats STATS, serving hello on a uwsgi socket."""
    common = ["--socket", "127.0.0.1:{port}", "--master", "--processes", "2", "--stats", stats]
    if impl == "ours":
        s = Server(["--plugin", "example"] + common + list(extra), tmp_path)
    else:
        if not os.path.exists(os.path.join(UPSTREAM_PLUGINS, "python3_plugin.so")):
            pytest.skip("Debian's uwsgi-core with the python3 plugin is not installed")
        # uWSGI fills rss/vsz only with --memory-report
        s = Server(["--plugin", "python3", "--wsgi-file",
                    os.path.join(ROOT, "examples", "hello", "app.py"), "--memory-report"]
                   + common + list(extra), tmp_path, binary=UPSTREAM)
    # uWSGI opens its stats socket when the master loop starts, after the request socket
    address = stats if stats.startswith("/") else int(stats.rsplit(":", 1)[1])
    if not wait_for(lambda: stats_answer(address)):
        s.stop()
        raise AssertionError("no stats on %s:\n%s" % (stats, s.output()[-3000:]))
    return s


def stats_answer(address):
    try:
        return connect(address).close() or True
    except OSError:
        return False


def connect(address):
    if isinstance(address, int):
        return socket.create_connection(("127.0.0.1", address), timeout=10)
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(10)
    conn.connect(address)
    return conn


def read_stats(address):
    conn = connect(address)
    data = b""
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return sorted(int(p) for p in out.stdout.split())


def statm(pid):
    size, resident = open("/proc/%d/statm" % pid).read().split()[:2]
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page, int(resident) * page


def assert_memory_of(worker):
    vsz, rss = statm(worker["pid"])
    assert 0 < worker["vsz"] <= 2 * vsz and 0 < worker["rss"] <= 2 * rss, (worker, vsz, rss)


def wait_for_stats(port, predicate):
    """The stats as soon as PREDICATE holds (a worker counts a request after answering it)."""
    seen = []
    assert wait_for(lambda: seen.append(read_stats(port)) or predicate(seen[-1])), seen[-1:]
    return seen[-1]


@pytest.mark.parametrize("impl", IMPLS)
def test_stats_numbers_are_those_of_the_processes(impl, tmp_path):
    stats_port = free_port()
    s = start(impl, tmp_path, "127.0.0.1:%d" % stats_port)
    try:
        assert wait_for(lambda: len(children(s.pid)) == 2)
        # a uWSGI worker is "accepting" once its loop started: under load that comes a while
        # after its pid is known (failed the full suite once)
        st = wait_for_stats(stats_port, lambda d: all(w["pid"] > 0 and w["accepting"] == 1
                                                      for w in d["workers"]))
        assert st["pid"] == s.pid
        assert (st["uid"], st["gid"]) == (os.getuid(), os.getgid())
        assert st["cwd"] == ROOT
        assert isinstance(st["version"], str) and st["version"]
        assert [w["id"] for w in st["workers"]] == [1, 2]
        assert sorted(w["pid"] for w in st["workers"]) == children(s.pid)
        for w in st["workers"]:
            assert w["requests"] == 0 and w["tx"] == 0 and w["status"] == "idle"
            # uWSGI counts spawns, the first included
            assert w["accepting"] == 1 and w["respawn_count"] == 1
            assert abs(w["last_spawn"] - os.stat("/proc/%d" % w["pid"]).st_mtime) < 60
            if impl == "ours":  # uWSGI measures a worker's memory after its requests only
                assert_memory_of(w)

        n = 12
        sizes = set()
        for _ in range(n):
            status, _, body = uwsgi_request(s.port, HELLO)
            assert status == 200
            sizes.add(len(body))
        st = wait_for_stats(stats_port, lambda d: sum(w["requests"] for w in d["workers"]) == n)
        assert sum(w["delta_requests"] for w in st["workers"]) == n
        assert sum(w["exceptions"] for w in st["workers"]) == 0
        # tx counts the response bytes, head included: at least the bodies
        assert sum(w["tx"] for w in st["workers"]) >= n * min(sizes)
        busy = [w for w in st["workers"] if w["requests"]]
        assert all(w["running_time"] > 0 and w["avg_rt"] > 0 for w in busy)
        assert all(w["avg_rt"] <= w["running_time"] for w in busy)
        for w in busy:
            assert_memory_of(w)
        if impl == "ours":  # per-thread counters (uWSGI's cores count too, not always before the answer)
            assert sum(c["requests"] for w in st["workers"] for c in w["cores"]) == n

        # A worker killed is respawned: new pid, respawn_count 2, delta_requests from 0.
        victim = st["workers"][0]
        os.kill(victim["pid"], 9)
        st = wait_for_stats(stats_port, lambda d: d["workers"][0]["pid"] not in (0, victim["pid"])
                            and d["workers"][0]["respawn_count"] == 2)
        assert st["workers"][0]["delta_requests"] == 0
        assert st["workers"][0]["requests"] >= victim["requests"] or impl != "ours"
        assert sorted(w["pid"] for w in st["workers"]) == children(s.pid)
    finally:
        s.stop()


@pytest.mark.parametrize("impl", IMPLS)
def test_keys_read_by_uwsgitop_and_uwsgi_exporter_are_present(impl, tmp_path):
    stats_port = free_port()
    s = start(impl, tmp_path, "127.0.0.1:%d" % stats_port, "--threads", "2")
    try:
        st = read_stats(stats_port)
        for key in set(UWSGITOP_TOP + EXPORTER_TOP):
            assert key in st, key
        for so in st["sockets"]:
            for key in EXPORTER_SOCKET:
                assert key in so, key
        assert len(st["workers"]) == 2
        for w in st["workers"]:
            for key in set(UWSGITOP_WORKER + EXPORTER_WORKER):
                assert key in w, key
            assert len(w["cores"]) == 2
            for c in w["cores"]:
                for key in set(UWSGITOP_CORE + EXPORTER_CORE):
                    assert key in c, key
        # the types uwsgi_exporter decodes them into
        assert isinstance(st["workers"][0]["status"], str)
        assert all(isinstance(st[k], int) for k in ["listen_queue", "load", "pid", "uid", "gid"])
        assert isinstance(st["locks"], list)
    finally:
        s.stop()


@pytest.mark.parametrize("impl", IMPLS)
def test_stats_http_answers_json_over_http(impl, tmp_path):
    stats_port = free_port()
    s = start(impl, tmp_path, "127.0.0.1:%d" % stats_port, "--stats-http")
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % stats_port, timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "application/json"
            st = json.loads(r.read())
        assert st["pid"] == s.pid and len(st["workers"]) == 2
    finally:
        s.stop()


def test_prometheus_metrics_on_the_stats_server(tmp_path):
    """Something uWSGI does not offer: GET /metrics with --stats-http is Prometheus text."""
    stats_port = free_port()
    s = start("ours", tmp_path, "127.0.0.1:%d" % stats_port, "--stats-http")
    try:
        for _ in range(5):
            assert uwsgi_request(s.port, HELLO)[0] == 200

        def metrics():
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % stats_port,
                                        timeout=10) as r:
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                return r.read().decode()

        text = []
        assert wait_for(lambda: text.append(metrics()) or sum(
            float(l.split()[-1]) for l in text[-1].splitlines()
            if l.startswith("uwsgi_worker_requests_total{")) == 5), text[-1:]
        samples = {}
        for line in text[-1].splitlines():
            if line.startswith("#"):
                assert line.split()[1] in ("HELP", "TYPE")
                continue
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
        pids = sorted(int(v) for k, v in samples.items() if k.startswith("uwsgi_worker_pid{"))
        assert pids == children(s.pid)
        assert samples['uwsgi_workers'] == 2
        assert samples['uwsgi_worker_rss_bytes{worker_id="1"}'] > 0
        assert "# TYPE uwsgi_worker_requests_total counter" in text[-1]
        # per core as in the JSON (test_offload_accounting.py checks the figures there)
        for family in ("static_requests", "offloaded_requests"):
            assert samples['uwsgi_worker_core_%s_total{worker_id="1",core_id="0"}' % family] == 0
    finally:
        s.stop()


def test_stats_on_a_unix_socket(tmp_path):
    path = str(tmp_path / "stats.sock")
    s = start("ours", tmp_path, path)
    try:
        st = read_stats(path)
        assert st["pid"] == s.pid and len(st["workers"]) == 2
    finally:
        s.stop()
    assert not os.path.exists(path)  # removed at shutdown


@pytest.mark.parametrize("impl", IMPLS)
def test_stats_address_in_use_is_a_start_up_error(impl, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        if impl == "ours":
            cmd = [UWSGI, "--plugin", "example"]
        else:
            if not os.path.exists(os.path.join(UPSTREAM_PLUGINS, "python3_plugin.so")):
                pytest.skip("Debian's uwsgi-core with the python3 plugin is not installed")
            cmd = [UPSTREAM, "--plugin", "python3", "--wsgi-file",
                   os.path.join(ROOT, "examples", "hello", "app.py")]
        cmd += ["--socket", "127.0.0.1:%d" % free_port(), "--master", "--stats",
                "127.0.0.1:%d" % port]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT,
                           stdin=subprocess.DEVNULL)
        assert r.returncode != 0, r.stdout + r.stderr
        assert "Address already in use" in r.stdout + r.stderr
        if impl == "ours":
            assert "--stats 127.0.0.1:%d" % port in r.stderr and "choose a free address" in r.stderr
    finally:
        taken.close()


def test_stats_without_a_master_is_refused(tmp_path):
    r = subprocess.run([UWSGI, "--plugin", "example", "--socket",
                        "127.0.0.1:%d" % free_port(), "--stats", "127.0.0.1:%d" % free_port()],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "--stats needs a master process" in r.stderr
