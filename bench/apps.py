"""The WSGI apps every server is benchmarked with (same code on PyPy and CPython).

/          hello world (11 bytes)
/64k       a 64 KiB body
/echo      echoes a POSTed body (the 1 MiB POST run)
/cpu       a CPU-bound page: pure-Python template rendering of a 200-row table
"""
import html

HELLO = b"Hello World"
BODY_64K = b"x" * 65536
ROWS = [{"id": i, "name": "item <%d>" % i, "price": i * 1.25} for i in range(200)]


def render_table():
    out = ["<table>"]
    for row in ROWS:
        out.append("<tr><td>%d</td><td>%s</td><td>%.2f</td></tr>"
                   % (row["id"], html.escape(row["name"]), row["price"]))
    out.append("</table>")
    return "".join(out).encode()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/64k":
        body = BODY_64K
    elif path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
    elif path == "/cpu":
        body = render_table()
    else:
        body = HELLO
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
