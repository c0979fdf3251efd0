"""WSGI app for the log process tests: each request writes one message of n bytes (query
n=N) to stderr in a single write, "<" + "x" * (n - 3) + ">\n", so a test sees whether the log
process cut it or passed it whole."""
import os
import urllib.parse


def application(environ, start_response):
    n = int(dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""))).get("n", 10))
    os.write(2, b"<" + b"x" * (n - 3) + b">\n")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
