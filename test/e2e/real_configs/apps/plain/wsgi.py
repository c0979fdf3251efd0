def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"corpus plain ok"]


def app(environ, start_response):  # the name a `callable = app` file asks for
    return application(environ, start_response)
