"""A Flask app as Flask's documentation lays one out: templates in
`templates/` and static files in `static/` beside the module, found by
Flask's default loader and static route, and Flask's pure-Python
dependencies (werkzeug, jinja2, itsdangerous, click, blinker, markupsafe
without its optional C speedups).

    host build-python app:app -o flask.wasm --path examples/python-flask \\
        --requirements examples/python-flask/requirements.txt
    host serve flask.wasm

`host build-python` packs the templates and static files into the
component, where the app finds them at run time. Its sessions live in the
host's key-value store (`wasgi.sessions`; natively, a SQLite file under
`.wasgi/`): each request runs in a fresh instance, and the cookie holds
only the session's id.
"""

from flask import Flask, jsonify, redirect, render_template, request, session

from wasgi.sessions import FlaskSessions

app = Flask(__name__)
app.session_interface = FlaskSessions()


@app.get("/")
def index():
    name = request.args.get("name") or session.get("name", "world")
    return render_template("index.html", name=name, path=request.path)


@app.post("/remember")
def remember():
    """Keeps the form's `name` in the session: `/` greets it from then on."""
    session["name"] = request.form.get("name", "world")
    return redirect("/")


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
