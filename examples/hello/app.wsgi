# A mod_wsgi-style file: uwsgi --http-socket 127.0.0.1:9090 --pypy-wsgi-file examples/hello/app.wsgi
# It is run as a script, not imported; it only has to define `application` (or --callable).


def application(environ, start_response):
    body = b"Hello World"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
