"""Processes by pid, read from /proc: what a test checks to say none was left behind."""
import os
import signal
import time


def alive(pid):
    """A live process (not a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def descendants(pid):
    """Every process below pid (children, their children...)."""
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def group_members(pgid):
    """Live processes (not zombies) of process group pgid."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat_fields(int(entry))
                if int(fields[2]) == pgid and fields[0] != "Z":
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def end_group(pgid, grace=5.0):
    """After a server's main process ended: waits up to `grace` seconds for the rest of its
    process group (workers, vassals, a re-exec'd master's children) to go, then kills what is
    left with SIGKILL and waits until it is gone. Returns what was left after the grace period
    as [(pid, command line)], so the caller can say a server left processes behind. A server
    started in its own session (start_new_session) owns the group whose id is its pid."""
    deadline = time.time() + grace
    while group_members(pgid) and time.time() < deadline:
        time.sleep(0.05)
    left = [(pid, command_line(pid)) for pid in group_members(pgid)]
    if left:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
        deadline = time.time() + 15
        while group_members(pgid) and time.time() < deadline:
            time.sleep(0.05)
        still = group_members(pgid)
        if still:
            raise AssertionError("processes of group %d survive SIGKILL: %s" % (pgid, still))
    return left
