"""The benchmark's bottle rows, the same app under `host build-python
hello_bottle:app` and under gunicorn: a hello route, and a page of about
16 KiB rendered from `views/page.tpl` (found on bottle's default
`TEMPLATE_PATH`)."""

import bottle

app = bottle.Bottle()


@app.get("/")
def hello():
    bottle.response.content_type = "text/plain; charset=utf-8"
    return "Hello World"


@app.get("/page")
def page():
    orders = [
        {"id": i, "item": f"Item <{i}> & co", "quantity": i % 7 + 1, "price": i * 1.25, "note": "deliver before noon"}
        for i in range(150)
    ]
    return bottle.template("page", title="Orders", customer=bottle.request.query.customer or "Ada", orders=orders)
