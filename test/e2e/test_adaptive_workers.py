"""Workers that adapt, as uWSGI's: --cheaper (spare algorithm), --reload-on-rss,
--evil-reload-on-rss, --max-worker-lifetime; bad cheaper values refused at start-up. Each test
runs on ours (PyPy) and on Debian's uWSGI (CPython) and counts the worker processes the kernel
sees, not what the server says."""
import subprocess
import threading

import pytest

from conftest import in_background, wait_for
from test_master_fifo import send
from workers_helpers import (APP, get, live_children, rss_mb, start_workers_app, wait_children,
                             worker_pid)


def run_to_exit(flavour, *args):
    cmd = [flavour.binary, "--http-socket", "127.0.0.1:0", "--master"] + flavour.app_args(APP)
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)


def while_busy(s, seconds, check):
    """Runs check() while two requests of SECONDS hold the workers; its result and the answers."""
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(get(s, "/sleep?s=%d" % seconds)))
               for _ in range(2)]
    for t in threads:
        t.start()
    try:
        return check(), answers
    finally:
        for t in threads:
            t.join()


@pytest.mark.parametrize("args", [["--processes", "2", "--cheaper", "2"],
                                  ["--processes", "2", "--cheaper", "3"],
                                  ["--cheaper", "1"]])
def test_cheaper_not_below_processes_is_refused(flavour, args):
    r = run_to_exit(flavour, *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "invalid cheaper value: must be lower than processes" in r.stdout + r.stderr


def test_cheaper_overload_and_algo_mistakes_are_refused(flavour):
    if flavour.upstream:
        pytest.skip("uWSGI takes --cheaper-overload 0 (then divides by it) and falls back to "
                    "spare for an unknown algorithm; this server refuses both")
    r = run_to_exit(flavour, "--processes", "3", "--cheaper", "1", "--cheaper-overload", "0")
    assert r.returncode == 1 and "invalid cheaper-overload value (0)" in r.stderr + r.stdout
    r = run_to_exit(flavour, "--processes", "3", "--cheaper", "1", "--cheaper-algo", "sparse")
    assert r.returncode == 1 and "unknown cheaper algorithm" in r.stderr + r.stdout


def test_cheaper_spawns_under_load_and_retires_when_idle(server, flavour):
    s = start_workers_app(server, flavour, "--processes", "4", "--cheaper", "1",
                          "--cheaper-initial", "1", "--cheaper-overload", "1",
                          "--cheaper-step", "2")
    assert wait_children(s.pid, lambda n: n == 1), live_children(s.pid)
    assert wait_for(lambda: worker_pid(s) in live_children(s.pid))
    # two slow requests: the only worker is busy, so the spare algorithm spawns (step 2)
    grew, answers = while_busy(s, 6, lambda: wait_children(s.pid, lambda n: n >= 3, timeout=20))
    assert grew, (live_children(s.pid), s.output()[-2000:])
    assert len(answers) == 2
    # idle again: one worker retired every --cheaper-overload seconds, down to --cheaper
    assert wait_children(s.pid, lambda n: n == 1, timeout=40), (live_children(s.pid),
                                                                 s.output()[-2000:])
    assert int(get(s)) in live_children(s.pid)


def test_cheaper_initial_starts_that_many_workers(server, flavour):
    s = start_workers_app(server, flavour, "--processes", "4", "--cheaper", "1",
                          "--cheaper-initial", "3", "--cheaper-overload", "30")
    assert wait_children(s.pid, lambda n: n == 3), live_children(s.pid)


def test_uwsgi_workers_reports_cheaped_workers(server, flavour):
    s = start_workers_app(server, flavour, "--processes", "3", "--cheaper", "1",
                          "--cheaper-initial", "1", "--cheaper-overload", "30")
    assert get(s, "/status") == "busy,cheap,cheap"  # the first answers this very request


def test_max_worker_lifetime_not_above_min_lifetime_is_refused(flavour):
    r = run_to_exit(flavour, "--processes", "1", "--max-worker-lifetime", "5")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "invalid min-worker-lifetime value (10), must be lower than max-worker-lifetime (5)" \
        in r.stdout + r.stderr


def test_reload_on_rss_recycles_a_worker_that_grew(server, flavour):
    probe = start_workers_app(server, flavour, "--processes", "1")
    baseline = rss_mb(worker_pid(probe))
    probe.stop()
    limit = baseline + 80
    # --min-worker-lifetime 0: at once (uWSGI's default spares workers younger than 10 s)
    s = start_workers_app(server, flavour, "--processes", "1", "--reload-on-rss", str(limit),
                          "--min-worker-lifetime", "0")
    first = worker_pid(s)
    assert worker_pid(s) == first  # below the limit: the same worker
    get(s, "/grow?mb=160")
    assert wait_for(lambda: worker_pid(s) != first, timeout=20), s.output()[-2000:]
    # uWSGI 2.0.21 says no more; newer uWSGI and ours add "(reload-on-rss limit reached ...)"
    assert s.wait_log("The work of process %d is done" % first)


def test_evil_reload_on_rss_kills_a_worker_that_grew(server, flavour):
    probe = start_workers_app(server, flavour, "--processes", "1")
    baseline = rss_mb(worker_pid(probe))
    probe.stop()
    s = start_workers_app(server, flavour, "--processes", "1", "--evil-reload-on-rss",
                          str(baseline + 80))
    first = worker_pid(s)
    try:
        get(s, "/grow?mb=160")
    except OSError:
        pass  # the master may kill it before it answers: that is what evil means
    # the master looks every 3 s
    assert wait_for(lambda: first not in live_children(s.pid), timeout=20), s.output()[-2000:]
    assert s.wait_log("EVIL RELOAD ON WORKER 1 RSS")
    assert wait_for(lambda: len(live_children(s.pid)) == 1)
    assert worker_pid(s) != first


def test_max_worker_lifetime_recycles_workers(server, flavour):
    # uWSGI refuses a lifetime not above --min-worker-lifetime (default 10)
    s = start_workers_app(server, flavour, "--processes", "2", "--max-worker-lifetime", "3",
                          "--min-worker-lifetime", "1")
    assert wait_children(s.pid, lambda n: n == 2)
    first = set(live_children(s.pid))
    # both are replaced (uWSGI lets the replaced worker finish its request first)
    assert wait_for(lambda: not first & set(live_children(s.pid)), timeout=30), (
        first, live_children(s.pid), s.output()[-2000:])
    assert s.wait_log("lifetime reached")
    assert wait_children(s.pid, lambda n: n == 2)
    get(s)


def test_cheaper_busyness_spawns_when_busy_and_cheaps_when_idle(server, flavour):
    # Debian ships the algorithm as a plugin; it is built in here
    plugin = ["--plugin", "cheaper_busyness"] if flavour.upstream else []
    s = start_workers_app(server, flavour, *plugin, "--processes", "3", "--cheaper", "1",
                          "--cheaper-algo", "busyness", "--cheaper-overload", "1",
                          "--cheaper-busyness-multiplier", "2")
    assert wait_children(s.pid, lambda n: n == 1), live_children(s.pid)
    grew, answers = while_busy(s, 4, lambda: wait_children(s.pid, lambda n: n >= 2, timeout=20))
    assert grew, (live_children(s.pid), s.output()[-2000:])
    assert len(answers) == 2
    assert "average busyness is at 100%, will spawn 1 new worker(s)" in s.output()
    assert wait_children(s.pid, lambda n: n == 1, timeout=40), s.output()[-2000:]
    assert s.wait_log("cheap one of 2 running workers")


def test_idle_stops_the_workers_and_a_connection_brings_them_back(server, flavour):
    s = start_workers_app(server, flavour, "--processes", "2", "--idle", "2")
    get(s)
    assert wait_children(s.pid, lambda n: n == 0, timeout=30), s.output()[-2000:]
    assert s.wait_log("cheap mode enabled: waiting for socket connection...")
    assert "workers have been inactive for more than 2 seconds" in s.output()
    # the connection waits in the backlog until the master has spawned the workers
    assert int(get(s)) in live_children(s.pid)
    assert wait_children(s.pid, lambda n: n == 2)


def test_die_on_idle_shuts_the_server_down(server, flavour):
    s = start_workers_app(server, flavour, "--processes", "2", "--idle", "2", "--die-on-idle")
    get(s)
    s.proc.wait(timeout=30)
    assert s.proc.returncode == 0, s.output()[-2000:]


def test_cheaper_spare2_keeps_spare_idle_workers(server, flavour):
    if flavour.upstream:
        # seen: `uwsgi-core --cheaper-algos-list` of 2.0.21 lists spare, backlog and manual;
        # spare2 and --cheaper-idle came with uWSGI 2.0.22
        pytest.skip("Debian's uWSGI 2.0.21 has no spare2 algorithm")
    s = start_workers_app(server, flavour, "--processes", "4", "--cheaper", "2",
                          "--cheaper-algo", "spare2", "--cheaper-idle", "2")
    assert wait_children(s.pid, lambda n: n == 2), live_children(s.pid)
    # one busy worker leaves one idle, fewer than --cheaper 2: spare2 spawns before every
    # worker is busy (spare would not: it waits for all of them)
    t, answer = in_background(lambda: get(s, "/sleep?s=8&mark=1"))
    try:
        assert s.wait_log("sleeping in worker")
        assert wait_children(s.pid, lambda n: n == 3, timeout=20), (live_children(s.pid),
                                                                     s.output()[-2000:])
    finally:
        t.join(60)
    assert answer
    # three idle now, one more than --cheaper: one retires after --cheaper-idle seconds
    assert wait_children(s.pid, lambda n: n == 2, timeout=30), (live_children(s.pid),
                                                                 s.output()[-2000:])


def test_cheaper_backlog_spawns_for_the_listen_queue(server, flavour):
    s = start_workers_app(server, flavour, "--processes", "3", "--cheaper", "1",
                          "--cheaper-algo", "backlog", "--cheaper-overload", "2")
    assert wait_children(s.pid, lambda n: n == 1), live_children(s.pid)
    assert wait_for(lambda: worker_pid(s) in live_children(s.pid))
    # the only worker is held; three more connections wait in the listen queue (3 > 2)
    slow, slow_answer = in_background(lambda: get(s, "/sleep?s=10&mark=1"))
    assert s.wait_log("sleeping in worker")
    queued = [in_background(lambda: get(s, timeout=60)) for _ in range(3)]
    try:
        assert wait_children(s.pid, lambda n: n >= 2, timeout=20), (live_children(s.pid),
                                                                     s.output()[-2000:])
        # the new worker takes the queued requests
        for t, _ in queued:
            t.join(60)
        assert all(out and int(out[0]) > 0 for _, out in queued)
    finally:
        slow.join(60)
        for t, _ in queued:
            t.join(60)
    assert slow_answer
    # an empty queue (below --cheaper-overload): back to --cheaper workers, one a second
    assert wait_children(s.pid, lambda n: n == 1, timeout=30), (live_children(s.pid),
                                                                 s.output()[-2000:])


def test_cheaper_manual_moves_only_with_the_fifo(server, flavour, tmp_path):
    fifo = str(tmp_path / "master.fifo")
    s = start_workers_app(server, flavour, "--processes", "3", "--cheaper", "1",
                          "--cheaper-algo", "manual", "--cheaper-overload", "1",
                          "--master-fifo", fifo)
    assert wait_children(s.pid, lambda n: n == 1), live_children(s.pid)
    # every worker busy for 4 s, --cheaper-overload 1: spare would spawn; manual does not.
    # Watched until the answers come, not for a set time.
    counts = set()
    busy, answers = in_background(lambda: while_busy(s, 4, lambda: None))
    while busy.is_alive():
        counts.add(len(live_children(s.pid)))
        busy.join(0.1)
    assert counts == {1}, counts
    send(fifo, "+")
    assert wait_children(s.pid, lambda n: n == 2, timeout=20), s.output()[-2000:]
    send(fifo, "-")
    assert wait_children(s.pid, lambda n: n == 1, timeout=20), s.output()[-2000:]
