"""A WSGI app for upstream uWSGI (python3 + rpc plugins) that talks RPC with our server.

It registers two functions for our client to call:
    uhello A B...   b"Hello from upstream A B..."
    ubig N          N bytes of b"z" (over 64 KiB the answer uses modifier2 5)
and, for each HTTP request GET /FUNC?NODE&ARG1&ARG2..., calls FUNC on NODE with uwsgi.rpc and
answers the result (or "NONE" when the call failed, which upstream reports as None).

    /usr/bin/uwsgi --plugins python3,rpc --http-socket 127.0.0.1:8080 --socket 127.0.0.1:3031 \
        --wsgi-file examples/rpc/upstream_app.py --need-app
    curl 'http://127.0.0.1:8080/hello?127.0.0.1:3032&x'      # our server on 3032
"""
import uwsgi


def uhello(*args):
    return b"Hello from upstream " + b" ".join(args)


def ubig(n):
    return b"z" * int(n)


uwsgi.register_rpc("uhello", uhello)
uwsgi.register_rpc("ubig", ubig)


def application(environ, start_response):
    func = environ["PATH_INFO"].strip("/").encode("latin-1")
    node, *args = environ.get("QUERY_STRING", "").split("&")
    # upstream's Python 3 uwsgi.rpc wants bytes for the function name and the arguments
    result = uwsgi.rpc(node, func, *[a.encode("latin-1") for a in args])
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [b"NONE" if result is None else result]
