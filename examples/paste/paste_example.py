"""The app and filter factories that examples/paste/app.ini wires together."""
import logging

log = logging.getLogger(__name__)


def make_app(global_conf, greeting="Hello"):
    body = greeting.encode("utf-8")

    def app(environ, start_response):
        log.info("serving %s", environ.get("PATH_INFO"))
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


def make_stamp_filter(global_conf, header="X-Filter", value="yes"):
    def wrap(app):
        def filtered(environ, start_response):
            def stamped(status, headers, exc_info=None):
                return start_response(status, headers + [(header, value)], exc_info)
            return app(environ, stamped)
        return filtered
    return wrap
