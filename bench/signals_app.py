"""bench/apps.py's hello, plus (with BENCH_TIMER=1) a uwsgi ms timer of 100 ms whose handler
runs in the worker: the signal machinery in use while the worker serves (bench/signals_bench.py)."""
import os

import uwsgi
from apps import application  # noqa: F401  (the hello app)

if os.environ.get("BENCH_TIMER") == "1":
    fired = [0]

    def on_timer(num):
        fired[0] += 1

    uwsgi.register_signal(30, "worker", on_timer)
    uwsgi.add_ms_timer(30, 100)
