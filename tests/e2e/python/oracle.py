"""An example app under CPython's own `wsgiref.validate.validator`, inside
the component; `/__broken__` is a broken app under the same validator, to
show that the validator's complaints do reach the host's log;
`/__unchecked__/...` is the app without the validator."""

from wsgiref.validate import validator

import app

checked = validator(app.application)


def _broken(environ, start_response):
    start_response("200OK", [("Content-Type", "text/plain")])
    return [b"broken"]


broken = validator(_broken)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/__broken__":
        return broken(environ, start_response)
    if path.startswith("/__unchecked__/"):
        # The validator wraps every result, so only an unwrapped
        # wsgi.file_wrapper reaches the host as a file to send.
        environ["PATH_INFO"] = path[len("/__unchecked__"):]
        return app.application(environ, start_response)
    return checked(environ, start_response)
