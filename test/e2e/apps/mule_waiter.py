"""A programmed mule for test_mules.py (--mule=mule_waiter.py): records its start (with
uwsgi.mule_file(), which Debian's uWSGI 2.0.21 does not have yet) and everything
uwsgi.mule_get_msg(signals=$MULE_SIGNALS) returns, None included."""
import os

import uwsgi
from app_events import event

mule_file = getattr(uwsgi, "mule_file", None)
event("waiter", uwsgi.mule_id(), os.getpid(), mule_file() if mule_file else "-")
signals = os.environ.get("MULE_SIGNALS", "1") == "1"
while True:
    event("got", repr(uwsgi.mule_get_msg(signals=signals)))
