"""What the test apps record: one line per event in $MODULE_TEST_DIR/events, appended with a
single write by every process, so lines from workers and the master never interleave."""
import os

EVENTS = os.path.join(os.environ["MODULE_TEST_DIR"], "events")


def event(*words):
    line = (" ".join(str(w) for w in words) + "\n").encode()
    fd = os.open(EVENTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
