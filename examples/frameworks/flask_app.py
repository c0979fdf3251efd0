"""A small Flask app (Debian's python3-flask, pure Python, runs on PyPy):

    uwsgi --http-socket 127.0.0.1:9090 --pypy-pp /usr/lib/python3/dist-packages \
        --pypy-pp examples/frameworks --pypy-wsgi flask_app:app
"""
import platform

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello from Flask on %s" % platform.python_implementation()


@app.route("/json", methods=["POST"])
def echo_json():
    data = request.get_json()
    return jsonify(received=data, length=request.content_length)


@app.route("/items/<int:item_id>")
def item(item_id):
    return jsonify(id=item_id, q=request.args.get("q"))
