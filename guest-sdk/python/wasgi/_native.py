"""`wasgi.kv` outside a component: each store a SQLite file under
`$WASGI_STATE_DIR` (default `.wasgi/` in the working directory), so an app
that keeps state in the host's stores also runs natively (development,
tests, a comparison under gunicorn). No quotas; the same operations."""

import os
import sqlite3
from collections.abc import MutableMapping

_opened = {}


def open(label):
    if label not in _opened:
        directory = os.environ.get("WASGI_STATE_DIR") or ".wasgi"
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{label}.native.sqlite")
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        _opened[label] = NativeStore(db)
    return _opened[label]


def _bytes(value):
    from .kv import _bytes
    return _bytes(value)


class NativeStore(MutableMapping):
    """A store: `str` keys, `bytes` values, as `wasgi.kv.Store`."""

    def __init__(self, db):
        self._db = db

    def _value(self, key):
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def get(self, key, default=None):
        value = self._value(key)
        return default if value is None else value

    def __getitem__(self, key):
        value = self._value(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self._db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, _bytes(value)))

    def __delitem__(self, key):
        if self._db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def __contains__(self, key):
        return isinstance(key, str) and self._value(key) is not None

    def __iter__(self):
        return iter([k for (k,) in self._db.execute("SELECT key FROM kv ORDER BY key")])

    def __len__(self):
        return self._db.execute("SELECT count(*) FROM kv").fetchone()[0]

    def increment(self, key, delta=1):
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            current = int(self._value(key) or b"0")
            self[key] = str(current + delta)
            return current + delta

    def compare_and_swap(self, key, expected, value):
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            expected = None if expected is None else _bytes(expected)
            if self._value(key) != expected:
                return False
            self[key] = value
            return True

    def get_many(self, keys):
        return {k: v for k in keys if (v := self._value(k)) is not None}

    def set_many(self, items):
        items = items.items() if hasattr(items, "items") else items
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for k, v in items:
                self[k] = v

    def delete_many(self, keys):
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for k in keys:
                self._db.execute("DELETE FROM kv WHERE key = ?", (k,))
