"""Realistic pages every server is benchmarked with behind nginx (bench/run.py --deploy), the same
code on PyPy and CPython, from Debian's packages (python3-django, python3-flask, python3-jinja2):

/          hello world (11 bytes)
/django    a Django 3.2 view (the whole WSGIHandler: middleware, URL resolver, request and response
           objects) rendering a Django template from an ORM query on SQLite (30 rows)
/flask     a Flask view rendering a Jinja2 template (Flask's render_template) of 100 rows
/json      a JSON API answer: 50 records built and serialised with json.dumps

bench/page_speed.py calls `application` in-process (no server) to measure each page function's
own pypy3/python3 speed ratio in the same run.
"""
import json
import os
import sys
import tempfile

if "/usr/lib/python3/dist-packages" not in sys.path:
    sys.path.append("/usr/lib/python3/dist-packages")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

HELLO = b"Hello World"

# --- Django: settings in code, one model in a SQLite file made when this module loads ---------

_DB_DIR = tempfile.mkdtemp(prefix="bench-django-")
settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                           "NAME": os.path.join(_DB_DIR, "bench.sqlite3"),
                           # persistent connections, as deployments set: with the default 0
                           # every request connects again, and Django's SQLite backend then
                           # registers 44 functions, each a cffi callback on PyPy (~1.3 ms)
                           "CONN_MAX_AGE": 600}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                # the cached loader, as Django uses in production (compiled once per process)
                "OPTIONS": {"loaders": [("django.template.loaders.cached.Loader", [
                    ("django.template.loaders.locmem.Loader", {
                    "items.html":
                        "<html><body><h1>{{ title }}</h1><table>"
                        "{% for item in items %}<tr class=\"{% cycle 'odd' 'even' %}\">"
                        "<td>{{ item.id }}</td><td>{{ item.name }}</td>"
                        "<td>{{ item.price|floatformat:2 }}</td>"
                        "<td>{{ item.stock|default:'none' }}</td></tr>{% endfor %}"
                        "</table><p>{{ items|length }} items</p></body></html>"})])]}}],
    USE_TZ=False,
)
django.setup()

from django.db import connection, models  # noqa: E402
from django.http import HttpResponse  # noqa: E402,F401
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.FloatField()
    stock = models.IntegerField(null=True)

    class Meta:
        app_label = "bench"


with connection.schema_editor() as editor:
    editor.create_model(Item)
Item.objects.bulk_create([Item(name="item <%d> & co" % i, price=i * 1.25,
                               stock=None if i % 7 == 0 else i * 3) for i in range(30)])
connection.close()  # each process (worker after fork) opens its own


def items_view(request):
    return render(request, "items.html",
                  {"title": "Inventory", "items": Item.objects.order_by("id")[:30]})


urlpatterns = [path("django", items_view)]
django_app = WSGIHandler()

# --- Flask + Jinja2 ---------------------------------------------------------------------------

import flask  # noqa: E402

import jinja2  # noqa: E402

flask_app = flask.Flask(__name__)
ROWS = [{"id": i, "name": "row <%d>" % i, "price": i * 0.75, "tags": ["a", "b", "c"][: i % 4]}
        for i in range(100)]
FLASK_TEMPLATE = (
    "<html><body><h1>{{ title }}</h1><ul>{% for row in rows %}"
    "<li class=\"{{ loop.cycle('odd', 'even') }}\">{{ row.id }}: {{ row.name }} "
    "{{ '%.2f'|format(row.price) }} {{ row.tags|join(', ') }}</li>{% endfor %}</ul>"
    "</body></html>")
# a template file as a real app has (compiled once, cached by Flask's Jinja2 environment)
flask_app.jinja_loader = jinja2.DictLoader({"rows.html": FLASK_TEMPLATE})


@flask_app.route("/flask")
def flask_page():
    return flask.render_template("rows.html", title="Rows", rows=ROWS)


# --- a JSON API answer ------------------------------------------------------------------------

def json_answer():
    records = [{"id": i, "name": "user%d" % i, "email": "user%d@example.org" % i,
                "active": i % 3 != 0, "score": i * 1.5, "roles": ["reader", "writer"][: i % 3]}
               for i in range(50)]
    return json.dumps({"count": len(records), "results": records}).encode()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/django":
        return django_app(environ, start_response)
    if path == "/flask":
        return flask_app(environ, start_response)
    if path == "/json":
        body = json_answer()
        ctype = "application/json"
    else:
        body = HELLO
        ctype = "text/plain"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
