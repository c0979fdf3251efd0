"""Mules: extra processes the master forks beside its workers, respawns when they die, stops
on shutdown and restarts on reload. Signal targets mule, muleN, mules deliver to them. Runs on
our PyPy server and on Debian's uWSGI (CPython plugin)."""
import os
import signal
import time

import pytest

from module_helpers import APPS, events, get, start_app, wait_for
from process_tree import alive


def mule_signals(s, num):
    """(pid, mule_id, worker_id) of every run of signal NUM's handler."""
    return [(int(e[2]), int(e[3]), int(e[4])) for e in events(s)
            if e[0] == "signal" and e[1] == str(num)]


def mule_pids(s, flavour):
    """{mule_id: pid}, from signal 41 (target "mules") run by each of the 2 mules."""
    before = len(mule_signals(s, 41))

    def both():
        return {mid for _, mid, _ in mule_signals(s, 41)[before:]} == {1, 2}

    get(s, "/raise?n=41")
    if flavour.upstream:
        # uWSGI's master skips a mule not forked yet (after a reload or a respawn its workers
        # answer first), so the signal is lost there: raised again until both ran it. Ours
        # queues it in the mule's signal pipe, made before fork: one raise must reach both.
        for _ in range(10):
            if wait_for_quietly(both, 3):
                break
            get(s, "/raise?n=41")
    wait_for(both, what="signal 41 in both mules")
    return {mid: pid for pid, mid, _ in mule_signals(s, 41)[before:]}


def wait_for_quietly(predicate, seconds):
    try:
        return wait_for(predicate, timeout=seconds)
    except AssertionError:
        return False


def test_signal_targets_reach_mules(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mules_app.py", "--mule", "--mule")
    pids = mule_pids(s, flavour)
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
    old = mule_pids(s, flavour)
    os.kill(old[1], signal.SIGKILL)
    wait_for(lambda: not alive(old[1]), what="mule 1 gone")  # gone or a zombie
    new = mule_pids(s, flavour)
    assert new[1] != old[1] and new[2] == old[2]
    if not flavour.upstream:
        assert s.wait_log("mule 1 (pid %d) killed by signal 9" % old[1])
        assert s.wait_log("respawning mule 1")


def test_mules_stop_with_the_server_and_restart_on_reload(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mules_app.py", "--mule", "--mule")
    old = mule_pids(s, flavour)
    os.kill(s.pid, signal.SIGHUP)  # graceful reload: the mules are restarted
    wait_for(lambda: not alive(old[1]) and not alive(old[2]), what="the old mules to end")
    wait_for(lambda: get(s, "/")[1] == "hello", what="the reloaded server")
    new = mule_pids(s, flavour)
    assert set(new.values()).isdisjoint(old.values())
    code = s.stop()
    # Debian's uWSGI at times did not exit within 20 s of its stop signal after a reload on the
    # loaded machine (the full suite, twice on 2026-12-01): its exit code is asserted on ours
    # only; that its mules are gone, on both
    assert code == 0 or flavour.upstream
    assert not any(alive(p) for p in new.values())


def life_signals(s, num):
    """(pid, mule_id) of every run of signal NUM's handler (mule_life_app.py)."""
    return [(int(e[2]), int(e[3])) for e in events(s) if e[0] == "signal" and e[1] == str(num)]


def mule1_pid(s):
    before = len(life_signals(s, 52))
    get(s, "/raise?n=52")
    wait_for(lambda: len(life_signals(s, 52)) > before, what="signal 52 in mule 1")
    return life_signals(s, 52)[-1][0]


@pytest.mark.parametrize("signals", [True, False])
def test_mule_get_msg_returns_none_after_handling_a_signal(server, flavour, tmp_path, signals):
    """mule_get_msg(signals=True) handles the mule's signals and returns None after each, as
    uWSGI's documentation and its Python signature say. uWSGI 2.0's code has the test inverted
    (core/mule.c: `if (manage_signals) count = 2;` leaves the signal fds out of its poll): there
    signals=False is the one that handles them and returns None, and with signals=True a
    programmed mule waiting in mule_get_msg never runs them. Ours runs a mule's handlers on its
    signal thread either way; signals=True makes the call return None after each."""
    waiter = os.path.join(APPS, "mule_waiter.py")
    s = start_app(server, flavour, tmp_path, "mule_life_app.py", "--mule=%s" % waiter,
                  env={"MULE_SIGNALS": "1" if signals else "0"})
    started = wait_for(lambda: [e for e in events(s) if e[0] == "waiter"], what="the mule")[0]
    assert started[1] == "1" and started[3] == ("-" if flavour.upstream else waiter)
    got = lambda: [e[1] for e in events(s) if e[0] == "got"]  # noqa: E731
    get(s, "/raise?n=52")
    returns_none = signals != flavour.upstream
    if returns_none or not flavour.upstream:
        wait_for(lambda: life_signals(s, 52), what="the signal handler in the mule")
    if returns_none:
        wait_for(lambda: got() == ["None"], what="mule_get_msg to return None")
    assert get(s, "/msg?text=hello")[1] is True
    wait_for(lambda: "b'hello'" in got(), what="the message")
    assert got() == (["None", "b'hello'"] if returns_none else ["b'hello'"])
    if flavour.upstream and signals:
        assert not life_signals(s, 52)  # uWSGI: still queued, not handled


def test_mule_file(server, flavour, tmp_path):
    """uwsgi.mule_file() as uWSGI's CPython plugin defines it (newer than Debian's 2.0.21,
    which has no mule_file: there the test checks only that)."""
    waiter = os.path.join(APPS, "mule_waiter.py")
    s = start_app(server, flavour, tmp_path, "mule_life_app.py", "--mule=%s" % waiter, "--mule",
                  "--mules", "1")
    if flavour.upstream:
        assert get(s, "/mule_file?id=1")[1] == ("error", "AttributeError")
        return
    started = wait_for(lambda: [e for e in events(s) if e[0] == "waiter"], what="the mule")[0]
    assert started[3] == waiter  # no id, in the mule: its own
    assert get(s, "/mule_file?id=1")[1] == waiter
    assert get(s, "/mule_file?id=2")[1] is None  # signal-only
    assert get(s, "/mule_file?id=3")[1] is None
    assert get(s, "/mule_file?id=4")[1] == ("error", "ValueError")
    # without an id outside a mule uWSGI's code returns NULL without an exception (a
    # SystemError); ours says what to pass
    assert get(s, "/mule_file")[1] == ("error", "ValueError")


def test_mule_harakiri_kills_a_stuck_signal_handler(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mule_life_app.py", "--mule", "--mule-harakiri",
                  "2", env={"SLOW_SIGNAL": "1"})
    first = mule1_pid(s)
    get(s, "/raise?n=51")
    wait_for(lambda: life_signals(s, 51), what="the slow handler to start")
    assert s.wait_log("HARAKIRI ON MULE 1 HANDLING SIGNAL 51 (pid: %d)" % first, timeout=30)
    wait_for(lambda: not alive(first), what="the stuck mule killed")  # gone or a zombie
    wait_for(lambda: mule1_pid(s) != first, what="mule 1 respawned")


def test_mule_reload_mercy_kills_a_mule_that_does_not_stop(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mule_life_app.py", "--mule", "--mule-reload-mercy",
                  "2", "--reload-mercy", "60")
    mule = mule1_pid(s)
    os.kill(mule, signal.SIGSTOP)  # it cannot stop on its own now
    try:
        started = time.time()
        s.proc.send_signal(signal.SIGINT)  # shutdown on both servers
        # Debian's uWSGI: under load a worker at times hangs in its exit on SIGINT and its
        # master waits --reload-mercy for it (seen: worker 2 never buried, master gone after
        # 60 s), so its run is only bounded; ours is asked not to wait 60 s.
        s.proc.wait(timeout=100 if flavour.upstream else 40)
        assert flavour.upstream or time.time() - started < 40  # not --reload-mercy's 60 s
        assert s.wait_log("is taking too much time to die...NO MERCY !!!")
        assert not alive(mule)
    finally:
        if alive(mule):
            os.kill(mule, signal.SIGKILL)
