"""Where a hello request's time goes inside the pypy plugin, measured in a worker: GET /prof
times each piece of the setup script's request path in a loop (thread CPU time, ns per call,
three rounds), on the request being served. perf cannot name them: libpypy3.9-c.so is stripped
(Debian ships no debug symbols for it) and PyPy writes no perf map for its JIT code.

    build/core/uwsgi --http-socket 127.0.0.1:9090 --pypy-pp bench --pypy-wsgi request_profile_app
    curl http://127.0.0.1:9090/prof

Other paths answer hello. The pieces are reached through the setup script's globals (every
function of the `uwsgi` module has them), so this follows the script's internal names.
"""
import time

import uwsgi

SCRIPT = uwsgi.reload.__globals__
CALLS = 200000


_stubbed = []  # set while _handle is timed: the app answers hello, respond_once writes nothing


def ns_per_call(fn):
    fn()
    t0 = time.thread_time()
    for _ in range(CALLS):
        fn()
    return (time.thread_time() - t0) / CALLS * 1e9


def pieces(req):
    g = SCRIPT
    host, ffi, api = g["host"], g["ffi"], g["api"]
    scratch = g["_scratch"]()
    key, value, buf, keys_len, same = scratch[0], scratch[1], scratch[2], scratch[5], scratch[7]
    headers = [("Content-Type", "text/plain"), ("Content-Length", "11")]

    def start_response():
        g["Response"](req).start_response("200 OK", headers)

    def handle_without_io():
        # the whole request path with the response write stubbed out: _handle, the environ,
        # this app's hello answer, start_response, consume; the socket write is the core's
        g["_handle"](req)
        g["_tls"].req = req

    def stub_io():
        _stubbed.append(g["Response"].respond_once)
        g["Response"].respond_once = lambda self, hs, body: None

    return [
        ("_handle, response write stubbed", handle_without_io, stub_io),
        ("environ (whole)", lambda: g["_environ"](req)),
        ("  api.pack_vars (one crossing)", lambda: api.pack_vars(req, buf, len(buf), keys_len, same)),
        ("  Input + Errors objects", lambda: (g["Input"](req), g["Errors"]())),
        ("one host call (req_var_at)", lambda: host.req_var_at(req, 0, key, value)),
        ("ffi.unpack + latin-1 decode", lambda: ffi.unpack(value.ptr, value.len).decode("latin-1")),
        ("Response + start_response", start_response),
        ("ffi.new('uwsgi_header[]', 2)", lambda: ffi.new("uwsgi_header[]", 2)),
        ("threading.local attribute set", lambda: setattr(g["_tls"], "req", req)),
    ]


def timed(row):
    """ns per call of row[1], with row[2] (if any) run first and undone after"""
    if len(row) > 2:
        row[2]()
    try:
        return ns_per_call(row[1])
    finally:
        if _stubbed:
            SCRIPT["Response"].respond_once = _stubbed.pop()


def application(environ, start_response):
    if _stubbed or environ["PATH_INFO"] != "/prof":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
        return [b"Hello World"]
    req = SCRIPT["_tls"].req
    rows = pieces(req)
    rounds = [[timed(row) for row in rows] for _ in range(3)]
    lines = ["%d request vars; ns per call, three rounds" % SCRIPT["host"].req_var_count(req)]
    lines += ["%-34s %s" % (row[0], " ".join("%7.0f" % r[i] for r in rounds))
              for i, row in enumerate(rows)]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
