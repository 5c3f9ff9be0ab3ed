"""A Flask app keeping its state in the host's key-value stores: a visit
counter (wasgi.kv), a mapping of bytes, server-side sessions
(wasgi.sessions.FlaskSessions) and a configuration value (wasgi.config)."""

from flask import Flask, request, session

import wasgi.config
import wasgi.kv
import wasgi.sessions

app = Flask(__name__)
app.session_interface = wasgi.sessions.FlaskSessions()


@app.get("/count")
def count():
    return str(wasgi.kv.open().increment("visits"))


@app.route("/kv/<key>", methods=["GET", "PUT", "DELETE"])
def item(key):
    try:
        store = wasgi.kv.open(request.args.get("store", "default"))
    except PermissionError as e:
        return str(e), 403
    if request.method == "PUT":
        store[key] = request.get_data()
        return "stored"
    if key not in store:
        return "missing", 404
    if request.method == "DELETE":
        del store[key]
        return "deleted"
    return store[key]


@app.get("/keys")
def keys():
    return "".join(f"{k}\n" for k in sorted(wasgi.kv.open()))


@app.post("/cart/<thing>")
def add_to_cart(thing):
    session.setdefault("cart", []).append(thing)
    session.modified = True
    return ",".join(session["cart"])


@app.get("/cart")
def cart():
    return ",".join(session.get("cart", []))


@app.get("/config/<key>")
def config(key):
    return wasgi.config.get(key, "unset")


application = app
