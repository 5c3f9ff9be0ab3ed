"""A Flask app as Flask's documentation lays one out: templates in
`templates/` and static files in `static/` beside the module, found by
Flask's default loader and static route, and Flask's pure-Python
dependencies (werkzeug, jinja2, itsdangerous, click, blinker, markupsafe
without its optional C speedups).

    host build-python app:app -o flask.wasm --path examples/python-flask \\
        --requirements examples/python-flask/requirements.txt
    host serve flask.wasm

`host build-python` packs the templates and static files into the
component, where the app finds them at run time.
"""

from flask import Flask, jsonify, render_template, request

app = Flask(__name__)


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


@app.get("/fail")
def fail():
    raise RuntimeError("this route fails on purpose")


application = app

if __name__ == "__main__":
    app.run()
