"""SQLite made safe between instances: under WASI, SQLite locks a database
with a directory beside it (`app.db.lock`, its dot-file locking), which an
instance that dies (a trap, a CPU limit) leaves behind, locking the
database for good, and which makes writers fail at once with `database is
locked` rather than wait. `sqlite3.connect` to a database file takes the
host's exclusive lock on that file (`wasgi:wsgi/file-lock`) for as long as
the connection is open, waiting up to the connection's `timeout` but at
least 30 s (the lock is held for a connection, not for one write as
SQLite's) before it raises `OperationalError: database is locked`, as
SQLite would. Connections of one instance share its lock (a helper
opening a connection per query, or one never closed, does not wait for
itself); the host clears a dot-file lock left by an instance that died.
A connection left open across requests holds the database for its
instance's life: close it at the end of the request (as Flask's tutorial
and Django do)."""

import os
import sqlite3
import urllib.parse
import weakref

from componentize_py_types import Err
from wit_world.imports import file_lock

from . import building

_connect = sqlite3.connect

# The least a connection waits for the lock, whatever its `timeout`: the
# lock is held for a whole connection (a request), not for one write as
# SQLite's own, so a queue of requests must not time out where SQLite's
# busy timeout would not have.
_LEAST_WAIT = 30.0
_locking_classes = {}


def _file_of(database, uri):
    """The absolute path of the database file, or None for an in-memory
    or temporary database."""
    if isinstance(database, bytes):
        database = os.fsdecode(database)
    elif not isinstance(database, str):
        database = os.fspath(database)
    if uri and database.startswith("file:"):
        parts = urllib.parse.urlsplit(database)
        query = urllib.parse.parse_qs(parts.query)
        if "memory" in query.get("mode", []):
            return None
        database = urllib.parse.unquote(parts.path)
    if database in ("", ":memory:"):
        return None
    return os.path.abspath(database)


def _locking(factory):
    """`factory` (a `sqlite3.Connection` class), releasing its lock when
    the connection is closed or freed."""
    cls = _locking_classes.get(factory)
    if cls is None:
        class cls(factory):
            _wasgi_lock = None

            def close(self):
                try:
                    super().close()
                finally:
                    _release(self)

            def __del__(self):
                _release(self)

        cls.__name__ = cls.__qualname__ = factory.__name__
        cls.__module__ = factory.__module__
        _locking_classes[factory] = cls
    return cls


def _release(connection):
    lock = connection.__dict__.pop("_wasgi_lock", None)
    if lock is not None:
        lock.__exit__(None, None, None)


# The connections opened while the app was built, closed before the
# snapshot (`close_built`).
_built = []


def _connect_at_build(path, args, kwargs):
    """A connection while the app is built: read-only (`query_only`), to a
    database that exists (none is made), without the host's lock."""
    if path is not None and not os.path.exists(path):
        raise sqlite3.OperationalError(
            f"unable to open database file {path!r}: while the app is built, databases "
            "open read-only, and this one does not exist")
    connection = _connect(*args, **kwargs)
    connection.execute("PRAGMA query_only = ON")
    _built.append(weakref.ref(connection))
    return connection


def close_built():
    """Closes every connection opened while the app was built."""
    for ref in _built:
        connection = ref()
        if connection is not None:
            connection.close()
    _built.clear()


def connect(database, timeout=5.0, detect_types=0, isolation_level="DEFERRED",
            check_same_thread=True, factory=sqlite3.Connection, cached_statements=128,
            uri=False, **kwargs):
    path = _file_of(database, uri)
    if building.ACTIVE:
        args = (database, timeout, detect_types, isolation_level, check_same_thread,
                _locking(factory), cached_statements, uri)
        return _connect_at_build(path, args, kwargs)
    lock = None
    if path is not None:
        try:
            # The host locks files that exist; SQLite would make it anyway.
            with open(path, "ab"):
                pass
        except OSError:
            pass  # read-only or missing: SQLite says so below
        else:
            try:
                wait = max(timeout, _LEAST_WAIT)
                lock = file_lock.acquire(path, int(wait * 1000))
            except Err as e:
                if e.value == "timed out":
                    raise sqlite3.OperationalError("database is locked") from None
                # Not in a writable directory: nobody else can write it.
    try:
        connection = _connect(database, timeout, detect_types, isolation_level,
                              check_same_thread, _locking(factory), cached_statements, uri,
                              **kwargs)
    except BaseException:
        if lock is not None:
            lock.__exit__(None, None, None)
        raise
    connection._wasgi_lock = lock
    return connection


connect.__doc__ = _connect.__doc__


def install():
    """Replaces `sqlite3.connect` (and `sqlite3.dbapi2.connect`)."""
    sqlite3.connect = connect
    sqlite3.dbapi2.connect = connect
