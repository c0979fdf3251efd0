"""The Emperor (--emperor DIR): one vassal per config file, started, reloaded on change, stopped on
removal, respawned when it dies; --vassals-set; --emperor-stats; Debian's uwsgi-emperor layout.

Every test runs against our server and against Debian's uWSGI (uwsgi-core, vassals on its
python3 plugin), so it encodes uWSGI's behaviour. Debian's uWSGI 2.0 emperor stops on SIGINT,
SIGTERM or SIGQUIT (its systemd unit uses SIGQUIT); ours does the same."""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import tempfile
import urllib.request

import pytest

from conftest import (UPSTREAM, UWSGI, free_port, read, read_until_closed, run_uwsgi,
                      wait_for)
from process_tree import alive, descendants, end_group

APP = """
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    body = "%d %d %s %s %d" % (os.getpid(), os.getppid(), os.environ.get("VASSAL_TAG", "-"),
                               os.environ.get("FROM_EMPEROR", "-"), os.getuid())
    return [body.encode()]
"""

# Debian 12's /etc/uwsgi-emperor/emperor.ini (package uwsgi-emperor 2.0.21), verbatim but for
# the vassals directory, which the test points at its own folder of the same shape.
DEBIAN_EMPEROR_INI = """[uwsgi]

# enable master process manager
master = true

# spawn 2 uWSGI emperor worker processes
workers = 2

# automatically kill workers on master's death
no-orphans = true

# place timestamps into log
log-date = true

# user identifier of uWSGI processes
uid = www-data

# group identifier of uWSGI processes
gid = www-data

# vassals directory
emperor = %s
"""


def vassal_ini(flavour, app_file, port, tag, extra=""):
    lines = ["[uwsgi]", "http-socket = 127.0.0.1:%d" % port, "master = true", "processes = 1",
             "env = VASSAL_TAG=%s" % tag]
    args = flavour.app_args(app_file)
    for key, value in zip(args[::2], args[1::2]):
        lines.append("%s = %s" % (key.lstrip("-"), value))
    return "\n".join(lines) + "\n" + extra


def get(port, timeout=3):
    """(master pid, worker pid, tag, FROM_EMPEROR, uid) from the vassal on port, or None."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=timeout) as r:
            worker, master, tag, injected, uid = r.read().decode().split()
            return int(master), int(worker), tag, injected, int(uid)
    except (OSError, ValueError):
        return None


def emperor_stats(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            return json.loads(read_until_closed(s))
    except (OSError, ValueError):
        return None


def touch_later(path, text):
    """Rewrites path with a modification time surely different at a one-second resolution."""
    old = os.stat(path).st_mtime
    with open(path, "w") as f:
        f.write(text)
    os.utime(path, (old + 5, old + 5))


class Emperor:
    def __init__(self, flavour, args, log_path, cwd=None):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.upstream = flavour.upstream
        binary = UPSTREAM if flavour.upstream else UWSGI
        # its own process group: vassals (and their workers) are in it whatever their parent
        self.proc = subprocess.Popen([binary] + args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)

    def output(self):
        return read(self.log_path)

    def stop(self, sig=signal.SIGINT):
        """Stops the emperor and checks that every process it started went with it."""
        tree = descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                for pid in [self.proc.pid] + tree:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()
                end_group(self.proc.pid)
                raise AssertionError("the emperor did not stop within 60 s:\n" + self.output())
        self.log.close()
        gone = wait_for(lambda: not any(alive(p) for p in tree), 30)
        # also a vassal born after `tree` was read (a respawn racing the stop)
        left = end_group(self.proc.pid)
        if self.upstream and left:
            print("Debian's uWSGI emperor left behind (killed): %s" % left)
        assert gone and (self.upstream or not left), \
            "left behind: %s %s\n%s" % ([p for p in tree if alive(p)], left, self.output())
        return self.proc.returncode


@pytest.fixture
def emperor_env(tmp_path, flavour):
    app = tmp_path / "app.py"
    app.write_text(APP)
    vassals = tmp_path / "vassals"
    vassals.mkdir()
    return flavour, str(app), vassals


def test_emperor_runs_reloads_respawns_and_stops_vassals(tmp_path, emperor_env):
    flavour, app, vassals = emperor_env
    pa, pb, ps = free_port(), free_port(), free_port()
    (vassals / "a.ini").write_text(vassal_ini(flavour, app, pa, "a1"))
    (vassals / "b.ini").write_text(vassal_ini(flavour, app, pb, "b1"))
    (vassals / "notes.txt").write_text("not a vassal")
    emp = Emperor(flavour, ["--emperor", str(vassals), "--emperor-freq", "1",
                            "--emperor-stats", "127.0.0.1:%d" % ps,
                            "--vassals-set", "env=FROM_EMPEROR=yes"],
                  str(tmp_path / "emperor.log"))
    try:
        assert wait_for(lambda: get(pa) and get(pb), 90), emp.output()
        a, b = get(pa), get(pb)
        assert a[2:4] == ("a1", "yes") and b[2:4] == ("b1", "yes")  # --vassals-set reached both

        # stats: one entry per config file (not notes.txt), with the vassals' master pids
        assert wait_for(lambda: all(v["loyal"] for v in (emperor_stats(ps) or {"vassals": [{
            "loyal": 0}]})["vassals"]), 30), emperor_stats(ps)
        stats = emperor_stats(ps)
        assert stats["emperor"] == [str(vassals)]
        assert stats["pid"] == emp.proc.pid
        by_id = {v["id"]: v for v in stats["vassals"]}
        assert set(by_id) == {"a.ini", "b.ini"}
        assert by_id["a.ini"]["pid"] == a[0] and by_id["b.ini"]["pid"] == b[0]
        for key in ("born", "last_mod", "loyal", "ready", "accepting", "first_run", "last_run",
                    "cursed", "respawns", "monitor", "uid", "gid"):
            assert key in by_id["a.ini"], key
        assert by_id["a.ini"]["respawns"] == 0

        # a changed file: a graceful reload of that vassal in place (same master pid)
        touch_later(str(vassals / "a.ini"), vassal_ini(flavour, app, pa, "a2"))
        assert wait_for(lambda: (get(pa) or (0, 0, ""))[2] == "a2", 90), emp.output()
        assert get(pa)[0] == a[0], "a reload keeps the vassal's master"
        assert get(pb) == b, "the other vassal is left alone"
        assert wait_for(lambda: {v["id"]: v for v in emperor_stats(ps)["vassals"]}["a.ini"][
            "respawns"] == 1, 10)

        # a vassal that dies (master and worker killed) is started again
        os.kill(b[0], signal.SIGKILL)
        os.kill(b[1], signal.SIGKILL)

        def respawned():
            now = get(pb)
            listed = {v["id"]: v for v in (emperor_stats(ps) or {"vassals": []})["vassals"]}
            return now is not None and now[0] not in (b[0], 1) and "b.ini" in listed and \
                listed["b.ini"]["pid"] == now[0]
        assert wait_for(respawned, 90), emp.output()
        b2 = get(pb)

        # a removed file: that vassal stops, processes gone
        os.unlink(str(vassals / "b.ini"))
        assert wait_for(lambda: not alive(b2[0]) and not alive(b2[1]), 60), emp.output()
        assert wait_for(lambda: [v["id"] for v in emperor_stats(ps)["vassals"]] == ["a.ini"], 10)
        assert get(pa)[2] == "a2"

        # a new file: a new vassal
        (vassals / "c.ini").write_text(vassal_ini(flavour, app, pb, "c1"))
        assert wait_for(lambda: (get(pb) or (0, 0, ""))[2] == "c1", 90), emp.output()
    finally:
        code = emp.stop(signal.SIGINT)
    assert code == 0, emp.output()


def test_emperor_glob_and_yaml_xml_vassals(tmp_path, emperor_env):
    flavour, app, vassals = emperor_env
    pi, px = free_port(), free_port()
    (vassals / "one.ini").write_text(vassal_ini(flavour, app, pi, "ini"))
    xml_lines = ["<uwsgi>"] + ["<%s>%s</%s>" % (k.strip(), v.strip(), k.strip()) for k, v in (
        line.split("=", 1) for line in vassal_ini(flavour, app, px, "xml").splitlines()[1:])] + [
        "</uwsgi>"]
    (vassals / "two.xml").write_text("\n".join(xml_lines) + "\n")
    (vassals / "skip.ini.bak").write_text("[uwsgi]\n")
    emp = Emperor(flavour, ["--emperor", str(vassals / "*.*"), "--emperor-freq", "1"],
                  str(tmp_path / "emperor.log"))
    try:
        assert wait_for(lambda: get(pi) and get(px), 90), emp.output()
        assert get(pi)[2] == "ini" and get(px)[2] == "xml"
    finally:
        assert emp.stop(signal.SIGTERM) == 0


def root_and_user(name, why):
    """The passwd entry of NAME for a test that drops privileges to it; skips without root
    (saying WHY) or without that user."""
    if os.getuid() != 0:
        pytest.skip(why)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pytest.skip("no %s user" % name)


def test_emperor_debian_package_layout(emperor_env):
    """/etc/uwsgi-emperor/emperor.ini of Debian's uwsgi-emperor package, as is, in a temporary
    folder of the same shape; started as its systemd unit does (--ini emperor.ini) and stopped
    with its KillSignal, SIGQUIT. The vassals run as www-data, as the file says."""
    flavour, _, _ = emperor_env
    www = root_and_user("www-data", "the layout drops privileges to www-data: needs root")
    # pytest's tmp_path is private to root; www-data must read the vassal files and the app
    root = tempfile.mkdtemp(prefix="uwsgi-emperor-layout-")
    try:
        os.chmod(root, 0o755)
        etc = os.path.join(root, "etc", "uwsgi-emperor")
        vassals = os.path.join(etc, "vassals")
        os.makedirs(vassals)
        for d in (os.path.join(root, "etc"), etc, vassals):
            os.chmod(d, 0o755)
        app = os.path.join(root, "app.py")
        with open(app, "w") as f:
            f.write(APP)
        os.chmod(app, 0o644)
        with open(os.path.join(etc, "emperor.ini"), "w") as f:
            f.write(DEBIAN_EMPEROR_INI % vassals)
        with open(os.path.join(vassals, "README"), "w") as f:
            f.write("as in the package: not a vassal\n")
        port = free_port()
        with open(os.path.join(vassals, "site.ini"), "w") as f:
            f.write(vassal_ini(flavour, app, port, "deb"))
        emp = Emperor(flavour, ["--ini", os.path.join(etc, "emperor.ini")],
                      os.path.join(root, "emperor.log"))
        try:
            assert wait_for(lambda: get(port) is not None, 90), emp.output()
            master, worker, tag, _, uid = get(port)
            assert tag == "deb" and uid == www.pw_uid
        finally:
            assert emp.stop(signal.SIGQUIT) == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


SLOW_APP = """
import os, time
def application(environ, start_response):
    if environ.get("PATH_INFO") == "/sleep":
        time.sleep(60)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d %d - - %d" % (os.getpid(), os.getppid(), os.getuid())]
"""


def test_emperor_respawns_a_vassal_whose_heartbeat_stops(tmp_path, emperor_env):
    """--heartbeat in a vassal, --emperor-required-heartbeat in the emperor: while its only
    worker is stuck in a request no heartbeat comes, and the emperor kills and respawns it."""
    flavour, _, vassals = emperor_env
    app = tmp_path / "slow_app.py"
    app.write_text(SLOW_APP)
    port, ps = free_port(), free_port()
    (vassals / "hb.ini").write_text(vassal_ini(flavour, str(app), port, "hb", "heartbeat = 1\n"))
    emp = Emperor(flavour, ["--emperor", str(vassals), "--emperor-freq", "1",
                            "--emperor-required-heartbeat", "3",
                            "--emperor-stats", "127.0.0.1:%d" % ps],
                  str(tmp_path / "emperor.log"))

    def vassal():
        listed = (emperor_stats(ps) or {"vassals": []})["vassals"]
        return listed[0] if listed else None
    try:
        assert wait_for(lambda: get(port), 90), emp.output()
        first = get(port)
        # heartbeats arrive while the worker is free
        assert wait_for(lambda: (vassal() or {}).get("last_heartbeat", 0) > 0, 30), vassal()
        assert vassal()["pid"] == first[0]

        def stuck():
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/sleep" % port, timeout=90).read()
            except OSError:
                pass  # the vassal is killed under it
        t = threading.Thread(target=stuck)
        t.start()
        try:
            assert wait_for(lambda: "sent no heartbeat in last 3 seconds, brutally respawning "
                            "it..." in emp.output(), 60), emp.output()[-3000:]
            assert wait_for(lambda: not alive(first[0]), 30)
            again = lambda: (get(port) or (first[0],))[0] not in (first[0], 1)
            assert wait_for(again, 90), emp.output()[-3000:]
        finally:
            t.join(120)
    finally:
        code = emp.stop(signal.SIGINT)
    assert code == 0, emp.output()


def test_emperor_tyrant_runs_each_vassal_as_its_file_owner(emperor_env):
    """--emperor-tyrant: a vassal runs as the uid/gid owning its config file; a root-owned file
    is refused (uWSGI's "[emperor-tyrant] invalid permissions for vassal"). Root only, in a
    directory the test makes (pytest's tmp_path is private to root)."""
    flavour, _, _ = emperor_env
    nobody = root_and_user("nobody", "--emperor-tyrant drops privileges: needs root")
    root = tempfile.mkdtemp(prefix="uwsgi-emperor-tyrant-")
    emp = None
    try:
        os.chmod(root, 0o755)
        vassals = os.path.join(root, "vassals")
        os.makedirs(vassals)
        os.chmod(vassals, 0o755)
        app = os.path.join(root, "app.py")
        with open(app, "w") as f:
            f.write(APP)
        os.chmod(app, 0o644)
        port, root_port = free_port(), free_port()
        owned = os.path.join(vassals, "owned.ini")
        with open(owned, "w") as f:
            f.write(vassal_ini(flavour, app, port, "owned"))
        os.chown(owned, nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(vassals, "root.ini"), "w") as f:
            f.write(vassal_ini(flavour, app, root_port, "root"))
        emp = Emperor(flavour, ["--emperor", vassals, "--emperor-freq", "1", "--emperor-tyrant"],
                      os.path.join(root, "emperor.log"))
        assert wait_for(lambda: get(port) is not None, 90), emp.output()
        master, worker, tag, _, uid = get(port)
        assert tag == "owned" and uid == nobody.pw_uid
        for pid in (master, worker):  # the whole vassal, not just the app's worker
            with open("/proc/%d/status" % pid) as f:
                ids = {l.split(":")[0]: l.split()[1:] for l in f if l.startswith(("Uid", "Gid"))}
            assert ids["Uid"] == [str(nobody.pw_uid)] * 4 and ids["Gid"] == [
                str(nobody.pw_gid)] * 4, ids
        assert "dropping privileges to %d %d for instance owned.ini" % (
            nobody.pw_uid, nobody.pw_gid) in emp.output()
        assert wait_for(lambda: "[emperor-tyrant] invalid permissions for vassal root.ini"
                        in emp.output(), 30), emp.output()
        assert get(root_port) is None
    finally:
        try:
            if emp:
                assert emp.stop(signal.SIGINT) == 0
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("args, says", [
    (["--emperor", "/nonexistent/vassals"], "--emperor /nonexistent/vassals: not a directory"),
    (["--emperor", "/tmp", "--vassals-set", "novalue"], "--vassals-set novalue: expected KEY=VALUE"),
])
def test_emperor_bad_input_is_a_clear_startup_error(args, says):
    """Ours only: uWSGI logs and idles on a missing directory."""
    r = run_uwsgi(*args, timeout=60)
    assert r.returncode == 1 and says in r.stdout + r.stderr, r.stdout + r.stderr
