"""A WSGI app on PyPy that registers RPC functions and calls others (ours, native or upstream).

    uwsgi --plugin rpc,rpcdemo --http-socket 127.0.0.1:8080 --socket 127.0.0.1:3031 --threads 4 \
        --pypy-pp examples/rpc --pypy-wsgi pypy_app

    GET /call/FUNC/ARG...            uwsgi.call(FUNC, ARG...)         (local registry)
    GET /rpc/NODE/FUNC/ARG...        uwsgi.rpc(NODE, FUNC, ARG...)    (NODE host:port)
    GET /at/FUNC@NODE/ARG...         uwsgi.call('FUNC@NODE', ARG...)
    GET /list                        uwsgi.rpc_list()
    GET /limits                      the ValueError messages of over-limit calls
Answers the result bytes, or "NONE" when the call failed (uWSGI returns None).
"""
import uwsgi


def pyhello(*args):
    return "Hello from PyPy " + " ".join(a.decode("latin-1") for a in args)  # str is accepted


def pyupper(arg):
    return arg.upper()


def pyfail():
    raise RuntimeError("pyfail always fails")


uwsgi.register_rpc("pyhello", pyhello)
uwsgi.register_rpc(b"pyupper", pyupper)  # bytes names work too
uwsgi.register_rpc("pyfail", pyfail)


def limits():
    out = []
    for args in ((["x"] * 255), ["y" * 70000], ["z" * 40000, "z" * 40000]):
        try:
            uwsgi.call("pyhello", *args)
            out.append("accepted")
        except ValueError as e:
            out.append(str(e))
    try:
        uwsgi.call("n" * 256)
        out.append("accepted")
    except ValueError as e:
        out.append(str(e))
    return "\n".join(out).encode()


def application(environ, start_response):
    parts = environ["PATH_INFO"].strip("/").split("/")
    kind, rest = parts[0], parts[1:]
    if kind == "call":
        result = uwsgi.call(rest[0], *rest[1:])
    elif kind == "rpc":
        result = uwsgi.rpc(rest[0], rest[1], *rest[2:])
    elif kind == "at":
        result = uwsgi.call(rest[0], *rest[1:])
    elif kind == "list":
        result = b",".join(uwsgi.rpc_list())
    elif kind == "limits":
        result = limits()
    else:
        result = b"unknown"
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [b"NONE" if result is None else result]
