"""wasgi.kv: the app's key-value stores (`wasi:keyvalue@0.2.0-draft2`),
state that outlives the request's instance.

    import wasgi.kv

    store = wasgi.kv.open()              # the app's own "default" store
    visits = store.increment("visits")   # atomic, however many requests at once
    store["greeting"] = "hello"          # str values are stored as UTF-8
    store["greeting"]                    # b'hello'
    del store["greeting"]

A `Store` is a `MutableMapping` of `str` keys to `bytes` values. Opening
a store the app may not open raises `PermissionError`; a quota exceeded or
the backend down raises `OSError` naming it. Outside a component (the app
run natively) a store is a local SQLite file, so the same code runs under
gunicorn or `python -m wsgiref.simple_server` too."""

from collections.abc import MutableMapping

try:
    from componentize_py_types import Err
    from wit_world.imports import atomics as _atomics
    from wit_world.imports import batch as _batch
    from wit_world.imports import wasi_keyvalue_store as _store
except ImportError:  # run natively (python app.py, gunicorn): see _native
    _store = None


def _error(e, label=None):
    """A store's error as the Python exception it is."""
    if isinstance(e, _store.Error_AccessDenied):
        return PermissionError(f"the app may not open the key-value store {label!r}")
    if isinstance(e, _store.Error_NoSuchStore):
        return PermissionError(f"there is no key-value store {label!r}")
    return OSError(f"key-value store: {getattr(e, 'value', e)}")


def _bytes(value):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a value is bytes or str, not {type(value).__name__}")


def open(label="default"):
    """The store `label`: "default" is the app's own. Outside a component
    (the app run natively, for development or tests) it is a SQLite file
    of its own, `$WASGI_STATE_DIR/LABEL.native.sqlite` (default
    `.wasgi/`), with the same behaviour but no quotas."""
    if _store is None:
        from . import _native
        return _native.open(label)
    try:
        return Store(_store.open(label))
    except Err as e:
        raise _error(e.value, label) from None


class Store(MutableMapping):
    """An open store: `str` keys, `bytes` values."""

    def __init__(self, bucket):
        self._bucket = bucket

    def _call(self, f, *args):
        try:
            return f(*args)
        except Err as e:
            raise _error(e.value) from None

    def get(self, key, default=None):
        """The value of `key`, or `default` (one call to the store)."""
        value = self._call(self._bucket.get, key)
        return default if value is None else value

    def __getitem__(self, key):
        value = self._call(self._bucket.get, key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self._call(self._bucket.set, key, _bytes(value))

    def __delitem__(self, key):
        if not self._call(self._bucket.exists, key):
            raise KeyError(key)
        self._call(self._bucket.delete, key)

    def __contains__(self, key):
        return isinstance(key, str) and self._call(self._bucket.exists, key)

    def __iter__(self):
        cursor = None
        while True:
            page = self._call(self._bucket.list_keys, cursor)
            yield from page.keys
            if page.cursor is None:
                return
            cursor = page.cursor

    def __len__(self):
        return sum(1 for _ in self)

    def increment(self, key, delta=1):
        """Adds `delta` to the counter `key` (0 when it has no value), as one
        atomic step; the sum. A counter is decimal text."""
        return self._call(_atomics.increment, self._bucket, key, delta)

    def compare_and_swap(self, key, expected, value):
        """Sets `key` to `value` only if it holds `expected` (None: no
        value); whether it did."""
        cas = self._call(_atomics.Cas.new, self._bucket, key)
        expected = None if expected is None else _bytes(expected)
        if self._call(cas.current) != expected:
            return False
        try:
            _atomics.swap(cas, _bytes(value))
            return True
        except Err as e:
            if isinstance(e.value, _atomics.CasError_CasFailed):
                return False
            raise _error(e.value.value) from None

    def get_many(self, keys):
        """A dict of the `keys` that have values."""
        pairs = self._call(_batch.get_many, self._bucket, list(keys))
        return {k: v for k, v in pairs if v is not None}

    def set_many(self, items):
        """Sets every key of the mapping (or pairs) `items`, all or none."""
        items = items.items() if hasattr(items, "items") else items
        self._call(_batch.set_many, self._bucket, [(k, _bytes(v)) for k, v in items])

    def delete_many(self, keys):
        """Deletes every key."""
        self._call(_batch.delete_many, self._bucket, list(keys))
