"""What the test apps share: events, one line each in $MODULE_TEST_DIR/events, appended with a
single write by every process so lines never interleave; and the answer every request gets,
repr((worker_id, result)), after an optional hold= delay that lets concurrent requests reach
every worker; status= and pad= (trailing spaces) shape it for the request-log tests."""
import os
import time

import uwsgi

EVENTS = os.path.join(os.environ["MODULE_TEST_DIR"], "events")


def event(*words):
    line = (" ".join(str(w) for w in words) + "\n").encode()
    fd = os.open(EVENTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def answer(start_response, query, result):
    time.sleep(float(query.get("hold", 0)))
    body = repr((uwsgi.worker_id(), result)).encode() + b" " * int(query.get("pad", 0))
    start_response(query.get("status", "200 OK"), [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
