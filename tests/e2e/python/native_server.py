"""Serves MODULE:CALLABLE with CPython's own wsgiref.simple_server on a
free port of 127.0.0.1 and prints the port: the tests' reference for the
same app built with `host build-python`."""

import importlib
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


module, _, name = sys.argv[1].partition(":")
app = getattr(importlib.import_module(module), name or "application")
httpd = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
print(httpd.server_port, flush=True)
httpd.serve_forever()
