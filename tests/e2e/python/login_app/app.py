"""A Flask-Login app as Flask-Login's documentation lays one out (a user
loader, `login_user`, `login_required`, `logout_user`), its sessions in
the host's store (`wasgi.sessions.FlaskSessions`), plus one route per
mutating method of `flask.session`, each of which must be saved."""

import flask
import flask_login

from wasgi.sessions import FlaskSessions

app = flask.Flask(__name__)
app.secret_key = "not a secret: the session lives in the store"
app.session_interface = FlaskSessions()

login_manager = flask_login.LoginManager()
login_manager.init_app(app)

users = {"ada@example.org": {"pw": "analytical"}}


class User(flask_login.UserMixin):
    pass


@login_manager.user_loader
def user_loader(email):
    if email not in users:
        return None
    user = User()
    user.id = email
    return user


@app.post("/login")
def login():
    email = flask.request.form["email"]
    if email in users and flask.request.form["pw"] == users[email]["pw"]:
        user = User()
        user.id = email
        flask_login.login_user(user)
        return flask.redirect(flask.url_for("protected"))
    return "Bad login", 403


@app.get("/protected")
@flask_login.login_required
def protected():
    return "Logged in as: " + flask_login.current_user.id


@app.get("/logout")
def logout():
    flask_login.logout_user()
    return "Logged out"


@app.post("/session/<op>")
def mutate(op):
    """Each of `MutableMapping`'s mutating methods, as an app calls them."""
    s = flask.session
    if op == "set":
        s["a"], s["b"] = "1", "2"
    elif op == "pop":
        s.pop("a")
    elif op == "popitem":
        s.popitem()
    elif op == "update":
        s.update(c="3")
    elif op == "setdefault":
        s.setdefault("d", "4")
    elif op == "ior":
        s |= {"e": "5"}
    elif op == "del":
        del s["c"]
    elif op == "clear":
        s.clear()
    return ",".join(f"{k}={v}" for k, v in sorted(s.items()))


@app.get("/session")
def show():
    return ",".join(f"{k}={v}" for k, v in sorted(flask.session.items()))


application = app
