"""Debian's uwsgidecorators, imported unmodified by an app with a master and 2 workers: each
decorator that needs no signals is observed firing. Runs on our PyPy server and on Debian's
uWSGI with its CPython plugin (the `flavour` fixture)."""
import http.client
import os

from module_helpers import events, from_each_worker, get, start_app, wait_for


def test_postfork_runs_in_each_worker(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py")
    from_each_worker(s, "/")  # both workers are serving
    wait_for(lambda: {int(e[1]) for e in events(s) if e[0] == "postfork"} == {1, 2},
             what="@postfork in workers 1 and 2")
    assert len({e[2] for e in events(s) if e[0] == "postfork"}) == 2  # two processes


def test_rpc_registers_a_callable_function(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py")
    assert from_each_worker(s, "/rpc") == {1: b"hello a,b", 2: b"hello a,b"}


def test_thread_runs_the_function_in_another_thread(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py", "--enable-threads")
    assert get(s, "/thread?tag=t1")[1] == "started"
    wait_for(lambda: ["thread", "t1", "1"] in events(s), what="the @thread function")


def test_harakiri_kills_a_worker_stuck_in_the_function(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py")
    try:
        get(s, "/harakiri", timeout=90)
        died = False
    except (OSError, http.client.HTTPException):
        died = True
    assert died, "the request outlived @harakiri(1)"
    pid = [int(e[2]) for e in events(s) if e[0] == "harakiri-start"][0]
    wait_for(lambda: not os.path.exists("/proc/%d/status" % pid)
             or "zombie" in open("/proc/%d/status" % pid).read(), what="the worker to die")
    assert get(s, "/")[1] == "hello"  # respawned, serving


def test_lock_decorator_serialises_both_workers(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "decorators_app.py")
    from_each_worker(s, "/incr-deco?n=20")  # 4 requests per round until both workers did some
    done = [e for e in events(s) if e[0] == "incremented"]
    assert {e[1] for e in done} == {"1", "2"}
    with open(os.path.join(s.out_dir, "counter")) as f:
        assert int(f.read()) == 20 * len(done)
