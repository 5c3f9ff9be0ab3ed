"""The benchmark's Python rows: the seed's hello_world_app, served by
CPython's wsgiref.simple_server (`python3 hello_wsgi.py PORT`) or by
gunicorn (`gunicorn hello_wsgi:app`)."""

import sys


def app(environ, start_response):
    start_response("200 OK", [("Content-type", "text/plain; charset=utf-8")])
    return [b"Hello World"]


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    # Access lines go to stderr, as the host's do.
    server = make_server("127.0.0.1", int(sys.argv[1]), app)
    print(f"listening on http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()
