"""The WSGI apps every server is benchmarked with (same code on PyPy and CPython).

/          hello world (11 bytes)
/64k       a 64 KiB body
/echo      echoes a POSTed body (the 1 MiB POST run)
/cpu       CPU-bound page: pure-Python work per request (a 200-row table with a checksum per
           row computed in Python loops)
/template  CPU-bound page: a Jinja2 template render of the same table (Debian's python3-jinja2;
           on CPython its escaping runs in C, on PyPy in Python)
"""
import sys

if "/usr/lib/python3/dist-packages" not in sys.path:
    sys.path.append("/usr/lib/python3/dist-packages")

import jinja2  # noqa: E402

HELLO = b"Hello World"
BODY_64K = b"x" * 65536
ROWS = [{"id": i, "name": "item <%d>" % i, "price": i * 1.25} for i in range(200)]
TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    "<table>{% for row in rows %}<tr class=\"{{ loop.cycle('odd', 'even') }}\">"
    "<td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ '%.2f'|format(row.price) }}</td>"
    "</tr>{% endfor %}</table>")


def render_loops():
    out = ["<table>"]
    for row in ROWS:
        checksum = 0
        for ch in row["name"]:
            checksum = (checksum * 31 + ord(ch)) & 0xffffffff
        out.append("<tr><td>%d</td><td>%08x</td><td>%.2f</td></tr>"
                   % (row["id"], checksum, row["price"]))
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
        body = render_loops()
    elif path == "/template":
        body = TEMPLATE.render(rows=ROWS).encode()
    else:
        body = HELLO
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
