"""WSGI app for bench/embedded_vs_binary.py: each request runs the workloads in the request
thread of a forked worker and answers their times as JSON."""
import json

import embedded_workloads


def application(environ, start_response):
    body = json.dumps(embedded_workloads.run_all()).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
