"""A Flask app, unmodified, with Flask's pure-Python dependencies built in
(werkzeug, jinja2, itsdangerous, click, blinker, markupsafe without its
optional C speedups).

    host build-python app:app -o flask.wasm --path examples/python-flask \
        --requirements examples/python-flask/requirements.txt
    host serve flask.wasm --dir examples/python-flask/static::/static

Templates are read when the app is imported, which `host build-python`
does at build time: they are built into the component. Static files are
read at run time from the preopened `/static` (or `$STATIC_ROOT` natively).
"""

import os
from pathlib import Path

from flask import Flask, jsonify, render_template, request, send_from_directory
from jinja2 import DictLoader

app = Flask(__name__, static_folder=None)
TEMPLATES = Path(__file__).parent / "templates"
app.jinja_loader = DictLoader({p.name: p.read_text() for p in TEMPLATES.glob("*.html")})


@app.get("/")
def index():
    return render_template("index.html", name=request.args.get("name", "world"), path=request.path)


@app.get("/hello/<name>")
def hello(name):
    return render_template("index.html", name=name, path=request.path)


@app.post("/api/echo")
def echo():
    data = request.get_json(silent=True)
    if data is None:
        return jsonify(error="send a JSON body"), 400
    return jsonify(received=data, bytes=request.content_length, method=request.method)


@app.route("/api/echo", methods=["PUT", "PATCH", "DELETE"])
def echo_other():
    return jsonify(method=request.method, bytes=len(request.get_data()))


@app.get("/static/<path:name>")
def static_files(name):
    return send_from_directory(os.environ.get("STATIC_ROOT") or "/static", name)


@app.get("/fail")
def fail():
    raise RuntimeError("this route fails on purpose")


application = app

if __name__ == "__main__":
    app.run()
