"""The benchmark's bottle rows: a hello route, the same app under
`host build-python hello_bottle:app` and under gunicorn."""

import bottle

app = bottle.Bottle()


@app.get("/")
def hello():
    bottle.response.content_type = "text/plain; charset=utf-8"
    return "Hello World"
