"""A programmed mule (--mule=crash_mule.py) for test_mule_decorators.py: records each start;
the first time it aborts (SIGABRT), the master must start it again."""
import os

import uwsgi
from app_events import event

event("mule-start", uwsgi.mule_id(), os.getpid())
marker = os.path.join(os.environ["MODULE_TEST_DIR"], "crashed-once")
if not os.path.exists(marker):
    open(marker, "w").close()
    os.abort()
while True:
    uwsgi.mule_get_msg()
