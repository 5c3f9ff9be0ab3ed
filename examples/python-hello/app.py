"""A bare WSGI callable: no framework, nothing but PEP 3333.

    host build-python app:application -o hello.wasm --path examples/python-hello
    host serve hello.wasm --dir some/dir::/static
"""

import os


def application(environ, start_response):
    """Greets the path it was asked for, echoes a POSTed body, shows the
    environ at `/environ/...` (as wsgiref's `demo_app` does) and sends
    files from `/static/`."""
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/static/") and "wsgi.file_wrapper" in environ:
        return static(environ, start_response, path[len("/static/"):])
    if path == "/environ" or path.startswith("/environ/"):
        out = "".join(f"{k} = {v!r}\n" for k, v in sorted(environ.items())).encode()
    elif environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        out = b"You sent %d bytes: %s\n" % (len(body), body)
    else:
        name = path.strip("/").encode("latin-1").decode("utf-8", "replace") or "world"
        query = environ.get("QUERY_STRING", "")
        out = f"Hello, {name}!\n".encode()
        if query:
            out += f"query: {query}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(out)))])
    return [out]


def static(environ, start_response, name):
    """A file from the preopened `/static` (`$STATIC_ROOT` natively),
    through `wsgi.file_wrapper`: the host sends it, and gives it the
    `Content-Length` the app left out."""
    root = os.environ.get("STATIC_ROOT") or "/static"
    try:
        f = open(os.path.join(root, os.path.basename(name)), "rb")
    except OSError:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such file\n"]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](f, 65536)
