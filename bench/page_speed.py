"""Times each page of bench/pages_app.py called in-process, with no server: the page function's
own speed on this interpreter. bench/run.py --deploy runs it under pypy3 and python3 in the same
run, so each page's served ratio can be set beside the interpreters' own ratio.

    pypy3 bench/page_speed.py [SECONDS_WARMUP] [SECONDS]

Each page is first called until it is warm: at least SECONDS_WARMUP of thread CPU time, then
until a second of calls is no faster than the best second before it (3% margin) three times in a
row, at most WARMUP_LIMIT seconds. A fixed warm-up is not enough for PyPy: the Django page needs
about 8000 calls (9 s of CPU here) before the JIT has compiled it, and runs 2.5 times as fast
after (4 ms per call in the first second, 1.3 ms after 4 s, 0.5 ms after 9 s).

Prints one JSON object: page -> seconds of thread CPU time per call (best of 5 slices).
"""
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pages_app  # noqa: E402

PAGES = ("/", "/django", "/flask", "/json")
WARMUP_LIMIT = 60.0


def environ(path):
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False}


def call(path):
    status = []
    body = pages_app.application(environ(path), lambda s, h, e=None: status.append(s))
    try:
        n = sum(len(chunk) for chunk in body)
    finally:
        if hasattr(body, "close"):
            body.close()
    if not status or not status[0].startswith("200") or not n:
        raise RuntimeError("%s answered %r" % (path, status))


def per_call(path, seconds):
    """Best of 5 slices of `seconds`/5 each: CPU seconds per call."""
    best = None
    for _ in range(5):
        calls, t0 = 0, time.thread_time()
        while True:
            call(path)
            calls += 1
            spent = time.thread_time() - t0
            if spent >= seconds / 5:
                break
        best = min(best or spent / calls, spent / calls)
    return best


def warm(path, at_least):
    """Calls the page until the JIT and the caches are done with it (see the module's text)."""
    best, slower, t_start = None, 0, time.thread_time()
    while time.thread_time() - t_start < WARMUP_LIMIT:
        slice_time = per_call(path, 1.0)  # best of five 0.2 s slices
        if best is None or slice_time < best * 0.97:
            best, slower = slice_time, 0
        else:
            slower += 1
        if slower >= 3 and time.thread_time() - t_start >= at_least:
            return


def main():
    warmup = float(sys.argv[1]) if len(sys.argv) > 1 else 3
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3
    out = {}
    for path in PAGES:
        warm(path, warmup)
        out[path] = per_call(path, seconds)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
