"""uwsgi.lock / unlock / is_locked and --locks: shared by all workers, robust when a holder dies,
clear errors for a bad id. Runs on our PyPy server and on Debian's uWSGI (CPython plugin)."""
import http.client
import os
import threading

from module_helpers import events, get, start_app, wait_for


def test_two_workers_incrementing_under_the_lock_end_exact(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py")
    results = []

    def hammer():
        for _ in range(5):
            results.append(get(s, "/incr?n=30")[0])
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(os.path.join(s.out_dir, "counter")) as f:
        assert int(f.read()) == 4 * 5 * 30
    assert set(results) == {1, 2}, "both workers must have taken part"


def test_a_worker_killed_holding_the_lock_does_not_hang_the_others(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py")
    get(s, "/")
    try:
        get(s, "/lock-and-die", timeout=20)
    except (OSError, http.client.HTTPException):
        pass
    wait_for(lambda: any(e[0] == "dying-with-lock" for e in events(s)), what="the dying worker")
    # whichever worker answers (the other one, or the respawned one) gets the lock
    for _ in range(4):
        assert get(s, "/incr?n=1", timeout=20)[1] == "ok"
    with open(os.path.join(s.out_dir, "counter")) as f:
        assert int(f.read()) == 4
    if not flavour.upstream:
        assert s.wait_log("died holding it; recovered")


def test_is_locked_and_locks_option(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py", "--locks", "2")
    assert get(s, "/is-locked")[1] == [True, False, False]


def test_a_lock_id_past_locks_is_a_value_error(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py", "--locks", "2")
    _, errors = get(s, "/bad-lock?id=3")
    assert all(e.startswith("ValueError") for e in errors), errors
    _, errors = get(s, "/bad-lock?id=-1")
    assert all(e.startswith("ValueError") for e in errors), errors
    assert get(s, "/")[1] == "hello"  # the server serves on
