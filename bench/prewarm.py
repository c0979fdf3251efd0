"""Warms the JIT up in the master before fork (`--pypy-exec bench/prewarm.py`): calls the pages
of bench/pages_app.py in-process for PREWARM_SECONDS (default 10) in all, so every forked worker
inherits the compiled code instead of compiling its own (bench/deploy_bench.py's
`ours-pypy-prewarmed` row; docs/PERFORMANCE.md). Runs before the app is loaded: the module it
imports is the one the server then loads.

What a deployment doing this must see to: nothing opened here may be shared by the workers
after fork. Django's database connections are closed at the end (a SQLite or socket connection
used by two processes corrupts both sides).
"""
import os
import time

import page_speed

seconds = float(os.environ.get("PREWARM_SECONDS", "10"))
pages = [p for p in page_speed.PAGES if p != "/"]
deadline = time.time() + seconds
while time.time() < deadline:
    for path in pages:
        page_speed.call(path)

from django.db import connections  # noqa: E402

connections.close_all()
