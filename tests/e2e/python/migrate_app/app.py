"""Flask-Migrate's documented example (its README and docs: an app, a
`User` model, `Migrate(app, db)`), its database `app.db` in the instance
folder as Flask-SQLAlchemy puts a relative SQLite path, and two routes
that read and write the table the migration creates. The migrations in
`migrations/` were made with `host run-python app.wasm --dir-rw
migrations -- flask db init` and `... flask db migrate`."""

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from flask_migrate import Migrate

app = Flask(__name__)
app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///app.db'

db = SQLAlchemy(app)
migrate = Migrate(app, db)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(128))


@app.get("/users")
def users():
    return ", ".join(u.name for u in db.session.execute(db.select(User)).scalars())


@app.post("/users")
def add_user():
    db.session.add(User(name=request.form["name"]))
    db.session.commit()
    return "added", 201
