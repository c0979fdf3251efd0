def main(global_config, **settings):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("corpus pyramid ok %s" % settings.get("greeting")).encode()]
    return app
