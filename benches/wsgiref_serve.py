"""The benchmark's native wsgiref rows for real apps: `python3
wsgiref_serve.py DIR MODULE:CALLABLE PORT` serves the callable from DIR
(its working directory and first on sys.path) with CPython's
wsgiref.simple_server, as `python -m wsgiref.simple_server` would."""

import importlib
import os
import sys

if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    directory, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.chdir(directory)
    sys.path.insert(0, directory)
    module, _, name = target.partition(":")
    app = getattr(importlib.import_module(module), name or "application")
    # Access lines go to stderr, as the host's do.
    server = make_server("127.0.0.1", port, app)
    print(f"listening on http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()
