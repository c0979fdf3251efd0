"""The process model: master, workers, threads, respawn, reload, shutdown, harakiri."""
import collections
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import ROOT, UWSGI, free_port, uwsgi_request, wait_for

HELLO = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REQUEST_URI": "/"}


def hello(port, timeout=15):
    status, _, body = uwsgi_request(port, HELLO, timeout=timeout)
    return status == 200 and body == b"Hello World"


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


class Loop(threading.Thread):
    """Sends requests back to back until stopped; counts successes and failures."""

    def __init__(self, port, path="/"):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.ok = self.failed = 0
        self.errors = []
        self.running = True

    def run(self):
        deadline = time.time() + 120  # bounded, whatever happens
        while self.running and time.time() < deadline:
            try:
                status, _, _ = uwsgi_request(self.port, dict(HELLO, PATH_INFO=self.path), timeout=20)
                if status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors.append(status)
            except OSError as e:
                self.failed += 1
                self.errors.append(repr(e))

    def stop(self):
        self.running = False
        self.join(timeout=60)


def test_master_with_processes_and_threads_serves_concurrently(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--processes", "2", "--threads", "4")
    assert wait_for(lambda: len(children(s.pid)) == 2)
    results = []

    def slow():
        status, _, _ = uwsgi_request(s.port, dict(HELLO, PATH_INFO="/sleep", QUERY_STRING="300"))
        results.append(status)

    threads = [threading.Thread(target=slow) for _ in range(8)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    assert results == [200] * 8
    assert elapsed < 1.5, "8 slow requests on 2x4 threads should run in parallel (%.2fs)" % elapsed


def test_killed_worker_is_respawned_and_requests_keep_succeeding(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--processes", "2")
    assert wait_for(lambda: len(children(s.pid)) == 2)
    loop = Loop(s.port)
    loop.start()
    time.sleep(0.3)
    victim = children(s.pid)[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: len(children(s.pid)) == 2 and victim not in children(s.pid))
    time.sleep(0.3)
    loop.stop()
    assert s.wait_log("killed by signal 9") and s.wait_log("respawning worker"), s.output()
    assert loop.ok > 10
    # only a request in flight on the killed worker may fail
    assert loop.failed <= 1, loop.errors


def test_sighup_reload_loses_no_request(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--processes", "2")
    loop = Loop(s.port)
    loop.start()
    time.sleep(0.3)
    before = loop.ok
    os.kill(s.pid, signal.SIGHUP)
    assert s.wait_log("reloading: executing")
    assert wait_for(lambda: s.output().count("spawned worker") >= 4, timeout=20)
    time.sleep(0.5)
    loop.stop()
    assert loop.failed == 0, loop.errors
    assert loop.ok > before
    assert s.proc.poll() is None  # same master pid, re-executed


def test_sighup_lets_an_in_flight_request_finish(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master")
    result = {}

    def slow():
        result["r"] = uwsgi_request(s.port, dict(HELLO, PATH_INFO="/sleep", QUERY_STRING="700"))

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    os.kill(s.pid, signal.SIGHUP)
    t.join()
    assert result["r"][0] == 200
    assert wait_for(lambda: hello(s.port))


def test_sigterm_exits_0_and_leaves_no_process(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--processes", "3", "--threads", "2")
    assert wait_for(lambda: len(children(s.pid)) == 3)
    workers = children(s.pid)
    assert hello(s.port)
    assert s.stop(signal.SIGTERM) == 0
    for pid in workers:
        assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert "goodbye" in s.output()


def test_sigint_on_a_single_process_exits_0(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}")
    assert hello(s.port)
    assert s.stop(signal.SIGINT) == 0


def test_harakiri_kills_a_stuck_worker_and_serving_goes_on(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--harakiri", "1")
    status, _, _ = uwsgi_request(s.port, dict(HELLO, PATH_INFO="/sleep", QUERY_STRING="5000"))
    assert status == 0  # the connection died with the worker
    assert s.wait_log("HARAKIRI"), s.output()
    assert wait_for(lambda: hello(s.port))


def test_max_requests_recycles_workers_without_failures(server):
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--max-requests", "20")
    first = children(s.pid)
    for _ in range(60):
        assert hello(s.port)
    assert wait_for(lambda: s.output().count("recycling") >= 2), s.output()
    assert children(s.pid) != first
    # A worker stops accepting once it has served its 20: on a loaded machine one used to take
    # dozens more before its main thread ran the stop.
    served = collections.Counter(re.findall(r"\[(\d+)\] \[info\] \[worker \d+\] GET / =>",
                                            s.output()))
    assert max(served.values()) <= 20, served


def test_pidfile_and_request_logging_switch(server, tmp_path):
    pidfile = tmp_path / "uwsgi.pid"
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--pidfile", str(pidfile),
               "--disable-logging")
    assert int(pidfile.read_text()) == s.pid
    assert hello(s.port)
    assert "GET / =>" not in s.output()
    s.stop()
    assert not pidfile.exists()


def test_ini_file_with_magic_dir(server, tmp_path):
    ini = tmp_path / "site.ini"
    port = free_port()
    ini.write_text("[uwsgi]\nplugin = example\nsocket = %%dapp.sock\nsocket = 127.0.0.1:%d\n"
                   "master = true\nprocesses = 2\n" % port)
    s = server(str(ini), port=port)
    assert (tmp_path / "app.sock").exists()
    assert wait_for(lambda: len(children(s.pid)) == 2)
    assert hello(s.port)


def test_environment_options(server):
    port = free_port()
    s = server("--plugin", "example", port=port,
               env={"UWSGI_SOCKET": "127.0.0.1:%d" % port, "UWSGI_MASTER": "true",
                    "UWSGI_PROCESSES": "2"})
    assert wait_for(lambda: len(children(s.pid)) == 2)
    assert hello(s.port)


def test_uid_and_gid_are_dropped_after_binding(server):
    import grp
    import pwd
    if os.getuid() != 0:
        import pytest
        pytest.skip("needs root to switch users")
    nobody, nogroup = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--master",
               "--uid", "nobody", "--gid", "nogroup")
    assert wait_for(lambda: len(children(s.pid)) == 1)
    for pid in [s.pid] + children(s.pid):
        status = open("/proc/%d/status" % pid).read()
        uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0].split()
        gid_line = [l for l in status.splitlines() if l.startswith("Gid:")][0].split()
        groups = [l for l in status.splitlines() if l.startswith("Groups:")][0].split()[1:]
        assert uid_line[1:] == [str(nobody.pw_uid)] * 4
        assert gid_line[1:] == [str(nogroup.gr_gid)] * 4
        assert groups == [str(nogroup.gr_gid)]
    assert hello(s.port)


UPSTREAM = "/usr/bin/uwsgi-core"


def start_refused(impl, *args):
    """Runs our server or Debian's uWSGI with ARGS, which must refuse to start."""
    if impl == "ours":
        cmd = [UWSGI, "--plugin", "example"] + list(args)
    else:
        if not os.path.exists("/usr/lib/uwsgi/plugins/python3_plugin.so"):
            import pytest
            pytest.skip("Debian's uwsgi-core with the python3 plugin is not installed")
        cmd = [UPSTREAM, "--plugins", "python3", "--wsgi-file",
               os.path.join(ROOT, "examples", "hello", "app.py")] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("impl", ["ours", "debian-uwsgi"])
def test_unknown_uid_or_gid_names_and_out_of_range_ids_are_fatal(impl):
    """Before: a failed name lookup fell back to atoi() and the server ran as root (uid 0).
    Debian's uWSGI refuses the unknown names too (exit 1), but takes "12abc" as uid 12."""
    port = free_port()
    for args, says in [(["--uid", "no-such-user-xyz"], "--uid no-such-user-xyz: no such user"),
                       (["--gid", "no-such-group-xyz"], "--gid no-such-group-xyz: no such group"),
                       (["--uid", "99999999999"], "no such user"),
                       (["--uid", "4294967295"], "no such user"),
                       (["--gid", "-1"], "no such group"),
                       (["--uid", "12abc"], "no such user")]:
        if impl != "ours" and (args[1].isdigit() or args[1].startswith(("-", "12"))):
            continue  # upstream takes any number (atoi), the faults this test is about
        r = start_refused(impl, "--socket", "127.0.0.1:%d" % port, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        if impl == "ours":
            assert says in r.stdout + r.stderr, (args, r.stdout + r.stderr)


def test_numeric_uid_and_gid_are_taken_as_ids(server):
    import pytest
    if os.getuid() != 0:
        pytest.skip("needs root to switch users")
    s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--uid", "54321",
               "--gid", "54322")
    status = open("/proc/%d/status" % s.pid).read()
    assert [l for l in status.splitlines() if l.startswith("Uid:")][0].split()[1] == "54321"
    assert [l for l in status.splitlines() if l.startswith("Gid:")][0].split()[1] == "54322"
    assert hello(s.port)


@pytest.mark.parametrize("impl", ["ours", "debian-uwsgi"])
def test_unwritable_pidfile_is_fatal(tmp_path, impl):
    """Before: ignored without a word. Debian's uWSGI also exits 1."""
    port = free_port()
    r = start_refused(impl, "--socket", "127.0.0.1:%d" % port, "--pidfile",
                      str(tmp_path / "no-such-dir" / "u.pid"))
    assert r.returncode == 1
    assert "No such file" in r.stdout + r.stderr
    if impl == "ours":
        assert "cannot write --pidfile" in r.stdout + r.stderr and "No such file" in r.stdout + r.stderr


@pytest.mark.parametrize("impl", ["ours", "debian-uwsgi"])
@pytest.mark.parametrize("mode", ["999", "rw", "66", "06666"])
def test_invalid_chmod_socket_is_refused(tmp_path, mode, impl):
    """Before: the socket got mode 000 silently. Debian's uWSGI also exits 1."""
    r = start_refused(impl, "--socket", str(tmp_path / "s.sock"), "--chmod-socket=" + mode)
    assert r.returncode == 1, r.stdout + r.stderr
    if impl == "ours":
        assert "--chmod-socket must be an octal mode" in r.stdout + r.stderr
        assert not (tmp_path / "s.sock").exists()



def test_pidfile_prepared_in_a_directory_the_server_cannot_write(server):
    """The pidfile is normally written beside itself and renamed over (never seen empty); an
    unprivileged server given a pidfile it may write in a directory it may not is still served."""
    import pwd
    if os.getuid() != 0:
        pytest.skip("needs root to prepare the files for another user")
    import shutil
    import tempfile
    nobody = pwd.getpwnam("nobody")
    run_dir = tempfile.mkdtemp(prefix="uwsgi-run-")  # pytest's tmp_path is root's alone (0700)
    try:
        os.chmod(run_dir, 0o755)
        pidfile = os.path.join(run_dir, "u.pid")
        with open(pidfile, "w"):
            pass
        os.chown(pidfile, nobody.pw_uid, nobody.pw_gid)

        def as_nobody():
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        s = server("--plugin", "example", "--socket", "127.0.0.1:{port}", "--pidfile", pidfile,
                   preexec_fn=as_nobody)
        assert int(open(pidfile).read()) == s.pid
        assert hello(s.port)
        s.stop()
    finally:
        shutil.rmtree(run_dir)
