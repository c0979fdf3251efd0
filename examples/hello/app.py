"""The smallest WSGI app: uwsgi --http-socket 127.0.0.1:9090 --pypy-pp examples/hello --pypy-wsgi app"""


def application(environ, start_response):
    body = b"Hello World"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
