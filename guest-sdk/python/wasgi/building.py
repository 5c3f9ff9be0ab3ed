"""While the app is built (imported, then its `--warm` requests served),
inside componentize-py's pre-initialization: the host's own interfaces
are not there (a call would trap and fail the build with no word of why),
and nothing may be written that the snapshot would then disagree with.
So, for as long as `Building` is entered, each host function raises an
`OSError` naming what is not available, and `wasgi.sqlite` opens
databases read-only and without the host's lock (nothing else runs)."""

import errno
import importlib

# Whether the app is being built (read by `wasgi.sqlite`).
ACTIVE = False

# The host's interfaces, by the module componentize-py generates for each,
# and what the app would be using.
_HOST = {
    "wit_world.imports.wasi_keyvalue_store": "the key-value stores (wasgi.kv, wasgi.sessions)",
    "wit_world.imports.atomics": "the key-value stores (wasgi.kv, wasgi.sessions)",
    "wit_world.imports.batch": "the key-value stores (wasgi.kv, wasgi.sessions)",
    "wit_world.imports.wasi_config_store": "configuration values (wasgi.config)",
    "wit_world.imports.kdf": "password hashing (hashlib.pbkdf2_hmac, hashlib.scrypt)",
    "wit_world.imports.file_lock": "file locks",
    "wit_world.imports.tls": "TLS (ssl)",
}


def _refusal(what, name):
    def refused(*args, **kwargs):
        raise OSError(errno.EPERM, f"{what} cannot be used while the app is built "
                      "(its import and --warm requests): use them when a request needs them")

    refused.__name__ = name
    return refused


class Building:
    """The build's context: host functions refused, SQLite read-only."""

    def __enter__(self):
        global ACTIVE
        ACTIVE = True
        self._saved = []
        for module_name, what in _HOST.items():
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            for name, value in list(vars(module).items()):
                if callable(value) and not isinstance(value, type) and not name.startswith("_"):
                    self._saved.append((module, name, value))
                    setattr(module, name, _refusal(what, name))
        return self

    def __exit__(self, *exc):
        global ACTIVE
        ACTIVE = False
        for module, name, value in self._saved:
            setattr(module, name, value)
