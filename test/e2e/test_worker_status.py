"""uwsgi.workers()'s status beyond idle/busy/cheap, as uWSGI's CPython plugin reports it:
"sigN" while a worker runs the handler of uwsgi signal N, "pause" for an idle worker while the
master pauses the workers (SIGTSTP). Runs on our PyPy server and on Debian's uWSGI."""
import os
import signal
import threading

from module_helpers import events, from_each_worker, get, start_app, wait_for


def test_status_is_sigN_while_a_signal_handler_runs(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "worker_status_app.py")
    from_each_worker(s, "/")
    assert {st for _, st in get(s, "/statuses")[1]} <= {b"idle", b"busy"}
    get(s, "/raise?n=41")  # its handler runs in worker 2 and holds
    wait_for(lambda: [e for e in events(s) if e[0] == "handler"], what="the handler to start")
    # worker 2 is in the handler: a request (answered by worker 1, or by a request thread of
    # worker 2 on ours) sees it as sig41
    wait_for(lambda: dict(get(s, "/statuses")[1]).get(2) == b"sig41", what="worker 2 as sig41")
    open(os.path.join(s.out_dir, "release-handler"), "w").close()
    wait_for(lambda: dict(get(s, "/statuses")[1]).get(2) in (b"idle", b"busy"),
             what="worker 2 back to idle after its handler")


def test_status_is_pause_for_idle_workers_while_paused(server, flavour, tmp_path):
    s = start_app(server, flavour, tmp_path, "worker_status_app.py")
    from_each_worker(s, "/")
    result = []
    holder = threading.Thread(target=lambda: result.append(get(s, "/hold")))
    holder.start()
    try:
        wait_for(lambda: [e for e in events(s) if e[0] == "holding"], what="a held request")
        os.kill(s.pid, signal.SIGTSTP)  # uWSGI's pause (--pause PIDFILE sends the same)
        assert s.wait_log("PAUSE"), s.output()[-2000:]
    finally:
        open(os.path.join(s.out_dir, "release-request"), "w").close()
        holder.join(60)
    wid, statuses = result[0]
    # the worker serving the held request is busy; the other one is paused
    assert dict(statuses) == {wid: b"busy", 3 - wid: b"pause"}, statuses
    os.kill(s.pid, signal.SIGTSTP)  # resume
    assert s.wait_log("resuming workers"), s.output()[-2000:]
    assert get(s, "/")[1] == "hello"
