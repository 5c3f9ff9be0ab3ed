"""`host build-python --warm URL`: requests served through the app at build
time, before the snapshot is taken, so that a fresh instance starts where
a warm worker would be: what every first request does (Django's URL
resolver and template loading, SQLAlchemy's mappers and compiled
statements, Jinja's compiled templates, lazy imports) is then done once,
in the snapshot, instead of in every request.

Nothing is written meanwhile: the host's state (key-value stores,
configuration, password hashes, TLS) refuses, SQLite databases open
read-only (`wasgi.sqlite`), and every connection is closed again before
the snapshot, pools emptied (an open handle would not survive it)."""

import gc
import io
import logging
import sys
import time
import urllib.parse
from wsgiref.util import setup_testing_defaults

from . import errors
from .files import FileWrapper


def environ_for(url):
    """The environ of `GET url`, where `url` is a path (`/catalog/?page=2`,
    for `Host: localhost`) or an absolute URL (`https://example.com/`, for
    an app that checks its host, as Django's `ALLOWED_HOSTS` does)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme or "http"
    host = parts.hostname or "localhost"
    port = str(parts.port or (443 if scheme == "https" else 80))
    path = urllib.parse.unquote_to_bytes(parts.path or "/").decode("latin-1")
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": parts.netloc or host,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
    }
    setup_testing_defaults(environ)
    return environ


class _Errors(logging.Handler):
    """The last error the app logged (Django and Flask log a failed
    request's exception and answer 500), for the warm request's line."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = None

    def emit(self, record):
        exc = record.exc_info and record.exc_info[1]
        self.last = f"{errors.kind_of(exc)}: {exc}" if exc else record.getMessage()


def serve(app, url):
    """`GET url` through `app`, the body read and `close()` called: one
    line saying how it went."""
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        line = _serve(app, url)
    finally:
        root.removeHandler(handler)
    if handler.last:
        line += f" (it logged {handler.last[:300]})"
    return line


def _serve(app, url):
    environ = environ_for(url)
    status = []

    def start_response(s, headers, exc_info=None):
        status[:] = [s]
        return lambda data: None

    started = time.perf_counter()
    try:
        result = app(environ, start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except BaseException as e:
        return f"warmed GET {url}: {errors.kind_of(e)}: {e} (the request failed; the snapshot keeps what it did)"
    took = (time.perf_counter() - started) * 1000
    line = f"warmed GET {url}: {status[0] if status else 'no status'} in {took:.1f} ms"
    logged = environ["wsgi.errors"].getvalue().strip().splitlines()
    if logged:
        line += f" (wsgi.errors: {logged[-1][:200]})"
    return line


def warm(app, urls, tzpath=None):
    """Serves `urls` through `app`; returns one line for each. `tzpath`:
    where the build mounted the time zones (at run time they are at
    `/usr/share/zoneinfo`)."""
    if not urls:
        return []
    zoneinfo = None
    if tzpath:
        import zoneinfo

        zoneinfo.reset_tzpath([tzpath])
    try:
        return [serve(app, url) for url in urls]
    finally:
        if zoneinfo is not None:
            # (The zones loaded stay cached, in the snapshot.)
            zoneinfo.reset_tzpath()
            if tzpath in sys.path:
                sys.path.remove(tzpath)


def release():
    """Closes what the build's import and warm requests left open: Django's
    connections, SQLAlchemy's pools, then any SQLite connection left."""
    django_db = sys.modules.get("django.db")
    if django_db is not None:
        try:
            django_db.connections.close_all()
        except Exception:
            pass
    engine = getattr(sys.modules.get("sqlalchemy.engine"), "Engine", None)
    if engine is not None:
        for obj in gc.get_objects():
            if isinstance(obj, engine):
                try:
                    obj.dispose()
                except Exception:
                    pass
    sqlite = sys.modules.get("wasgi.sqlite")
    if sqlite is not None:
        sqlite.close_built()
