# MapProxy's generated config.py shape: the app made by a factory at import
def make_wsgi_app(conf):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("corpus mapproxy ok %s" % conf).encode()]
    return app


application = make_wsgi_app("mapproxy.yaml")
