"""A bottle app, unmodified: routes, a template, a JSON API and static
files sent with `wsgi.file_wrapper`.

    host build-python app:app -o bottle.wasm --path examples/python-bottle \
        --requirements examples/python-bottle/requirements.txt
    host serve bottle.wasm --dir examples/python-bottle/static::/static

The template is read when the app is imported, which `host build-python`
does at build time: it is built into the component. Static files are read
at run time, from the preopened `/static` (or `$STATIC_ROOT` when the app
runs natively, under `python -m wsgiref.simple_server`-style servers).
"""

import os
from pathlib import Path

import bottle
from bottle import Bottle, HTTPResponse, SimpleTemplate, request, static_file

app = Bottle()
INDEX = SimpleTemplate((Path(__file__).parent / "views" / "index.tpl").read_text())


@app.get("/")
def index():
    return INDEX.render(name=request.query.name or "world", path=request.path)


@app.get("/hello/<name>")
def hello(name):
    return INDEX.render(name=name, path=request.path)


@app.post("/api/echo")
def echo():
    try:
        data = request.json
    except Exception:
        data = None
    if data is None:
        return HTTPResponse({"error": "send a JSON body"}, status=400)
    return {"received": data, "bytes": request.content_length, "method": request.method}


@app.route("/api/echo", method=["PUT", "PATCH", "DELETE"])
def echo_other():
    return {"method": request.method, "bytes": len(request.body.read())}


@app.get("/static/<path:path>")
def static(path):
    return static_file(path, root=os.environ.get("STATIC_ROOT") or "/static")


@app.get("/fail")
def fail():
    raise RuntimeError("this route fails on purpose")


application = app

if __name__ == "__main__":
    bottle.run(app, host="127.0.0.1", port=8080)
