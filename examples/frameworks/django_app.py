"""A one-file Django project (Debian's python3-django, pure Python, runs on PyPy):

    uwsgi --http-socket 127.0.0.1:9090 --pypy-pp /usr/lib/python3/dist-packages \
        --pypy-pp examples/frameworks --pypy-wsgi django_app
"""
import platform

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="example-only-not-secret",
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    INSTALLED_APPS=[],
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def index(request):
    return HttpResponse("Hello from Django on %s" % platform.python_implementation())


def echo(request):
    return JsonResponse({"method": request.method, "body": request.body.decode(),
                         "query": request.GET.get("q")})


urlpatterns = [path("", index), path("echo", echo)]

application = get_wsgi_application()
