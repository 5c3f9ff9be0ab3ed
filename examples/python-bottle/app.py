"""A bottle app, unmodified: routes, a template found on bottle's default
`TEMPLATE_PATH` (`./views/`), a JSON API and static files from `./static`
sent with `wsgi.file_wrapper`. Run it from its directory, as bottle apps
are run; in a component, the working directory is the first `--path`.

    host build-python app:app -o bottle.wasm --path examples/python-bottle \
        --requirements examples/python-bottle/requirements.txt
    host serve bottle.wasm
"""

import bottle
from bottle import Bottle, HTTPResponse, request, static_file, template

app = Bottle()


@app.get("/")
def index():
    return template("index", name=request.query.name or "world", path=request.path)


@app.get("/hello/<name>")
def hello(name):
    return template("index", name=name, path=request.path)


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
    return static_file(path, root="static")


@app.get("/fail")
def fail():
    raise RuntimeError("this route fails on purpose")


application = app

if __name__ == "__main__":
    bottle.run(app, host="127.0.0.1", port=8080)
