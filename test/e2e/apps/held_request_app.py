"""Records the start of each request (its path, one line) in $MODULE_TEST_DIR/started; /hold
then waits until $MODULE_TEST_DIR/release exists (for at most 120 s), so a test decides when a
busy request ends."""
import os
import time

OUT = os.environ["MODULE_TEST_DIR"]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    with open(os.path.join(OUT, "started"), "a") as f:
        f.write(path + "\n")
    if path == "/hold":
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(OUT, "release")) and time.time() < deadline:
            time.sleep(0.02)
    body = path.encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
