from django.http import HttpResponse
from django.urls import path


def index(request):
    return HttpResponse("corpus django ok")


urlpatterns = [path("", index)]
