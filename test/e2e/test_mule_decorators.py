"""Debian's uwsgidecorators on mules, unmodified: @mulefunc (any mule, and mule 2), @mule,
@muleloop, @mulemsg and @farm, each observed running in the right mule; a crashing programmed
mule is started again. Runs on our PyPy server and on Debian's uWSGI (CPython plugin)."""
import os

from module_helpers import APPS, events, get, start_app, wait_for


def seen(s, kind):
    return [e[1:] for e in events(s) if e[0] == kind]


def test_mulefunc_mule_and_farm(server, flavour, tmp_path):
    # mule 1: @mule(1) once, then signal-only; mule 2: signal-only; mule 3: @farm("f")
    s = start_app(server, flavour, tmp_path, "mule_decorators_app.py", "--mules", "3",
                  "--farm", "f:3")
    wait_for(lambda: seen(s, "brain"), what="@mule(1)")
    assert seen(s, "brain") == [["1"]]
    for i in range(4):
        get(s, "/anywhere?text=a%d" % i)
    get(s, "/mule2?text=b")
    get(s, "/farm?text=c")
    wait_for(lambda: len(seen(s, "mulefunc")) == 4, what="4 @mulefunc calls")
    assert sorted(t for t, _ in seen(s, "mulefunc")) == ["a0", "a1", "a2", "a3"]
    assert {m for _, m in seen(s, "mulefunc")} <= {"1", "2"}  # signal-only mules run them
    wait_for(lambda: seen(s, "mulefunc2"), what="@mulefunc(2)")
    assert seen(s, "mulefunc2") == [["b!", "2"]]
    wait_for(lambda: seen(s, "farm"), what="@farm('f')")
    assert seen(s, "farm") == [["c", "3"]]


def test_muleloop_and_mulemsg(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mule_decorators_app.py", "--mules", "5",
                  "--farm", "f:3")
    wait_for(lambda: len(seen(s, "loop")) >= 3, what="@muleloop(4) three times")
    assert {m for (m,) in seen(s, "loop")} == {"4"}
    for i in range(3):
        get(s, "/msg?to=5&text=m%d" % i)
    wait_for(lambda: len(seen(s, "mulemsg")) == 3, what="@mulemsg(5) three messages")
    assert seen(s, "mulemsg") == [["m0", "5"], ["m1", "5"], ["m2", "5"]]


def test_a_crashing_mule_is_started_again(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "mule_decorators_app.py", "--mules", "1",
                  "--mule=%s" % os.path.join(APPS, "crash_mule.py"))
    wait_for(lambda: len(seen(s, "mule-start")) >= 2, what="the crashed mule started again")
    (first_id, first_pid), (second_id, second_pid) = seen(s, "mule-start")[:2]
    assert first_id == second_id == "2" and first_pid != second_pid
    if not flavour.upstream:
        assert s.wait_log("mule 2 (pid %s) killed by signal 6" % first_pid)
        assert s.wait_log("respawning mule 2")
    assert get(s, "/")[1] == "ok"
