"""The mule of bench/mule_bench.py (--mule=bench/mule_receiver.py): counts messages until
b"end", then writes "COUNT SECONDS" (from the first message to the end) to $MULE_BENCH_OUT."""
import os
import time

import uwsgi

out = os.environ["MULE_BENCH_OUT"]
while True:
    count, first = 0, None
    while True:
        message = uwsgi.mule_get_msg()
        if message is None:
            continue
        if message == b"end":
            break
        if first is None:
            first = time.time()
        count += 1
    elapsed = time.time() - (first or time.time())
    with open(out + ".tmp", "w") as f:
        f.write("%d %.6f" % (count, elapsed))
    os.rename(out + ".tmp", out)
