"""Mules: extra processes the master forks beside its workers, respawns when they die, stops
on shutdown and restarts on reload. Signal targets mule, muleN, mules deliver to them. Runs on
our PyPy server and on Debian's uWSGI (CPython plugin)."""
import os
import signal

from module_helpers import events, get, start_app, wait_for
from process_tree import alive


def mule_signals(s, num):
    """(pid, mule_id, worker_id) of every run of signal NUM's handler."""
    return [(int(e[2]), int(e[3]), int(e[4])) for e in events(s)
            if e[0] == "signal" and e[1] == str(num)]


def mule_pids(s):
    """{mule_id: pid}, from signal 41 (target "mules") run by each of the 2 mules."""
    before = len(mule_signals(s, 41))
    get(s, "/raise?n=41")
    wait_for(lambda: len(mule_signals(s, 41)) >= before + 2, what="signal 41 in both mules")
    return {mid: pid for pid, mid, _ in mule_signals(s, 41)[before:]}


def test_signal_targets_reach_mules(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mules_app.py", "--mule", "--mule")
    pids = mule_pids(s)
    assert sorted(pids) == [1, 2]
    assert all(wid == 0 for _, _, wid in mule_signals(s, 41))  # not a worker
    assert len(set(pids.values())) == 2 and s.pid not in pids.values()
    get(s, "/raise?n=42")  # "mule2"
    wait_for(lambda: mule_signals(s, 42), what="signal 42 in mule 2")
    get(s, "/raise?n=40")  # "mule": one of them
    wait_for(lambda: mule_signals(s, 40), what="signal 40 in a mule")
    assert [m for _, m, _ in mule_signals(s, 42)] == [2]
    assert len(mule_signals(s, 40)) == 1 and mule_signals(s, 40)[0][1] in (1, 2)


def test_a_killed_mule_is_respawned(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mules_app.py", "--mule", "--mule")
    old = mule_pids(s)
    os.kill(old[1], signal.SIGKILL)
    wait_for(lambda: not alive(old[1]), what="mule 1 gone")  # gone or a zombie
    new = mule_pids(s)
    assert new[1] != old[1] and new[2] == old[2]
    if not flavour.upstream:
        assert s.wait_log("mule 1 (pid %d) killed by signal 9" % old[1])
        assert s.wait_log("respawning mule 1")


def test_mules_stop_with_the_server_and_restart_on_reload(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mules_app.py", "--mule", "--mule")
    old = mule_pids(s)
    os.kill(s.pid, signal.SIGHUP)  # graceful reload: the mules are restarted
    wait_for(lambda: not alive(old[1]) and not alive(old[2]), what="the old mules to end")
    wait_for(lambda: get(s, "/")[1] == "hello", what="the reloaded server")
    new = mule_pids(s)
    assert set(new.values()).isdisjoint(old.values())
    assert s.stop() == 0
    assert not any(alive(p) for p in new.values())
