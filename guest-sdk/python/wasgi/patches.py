"""Fixes to standard modules for life in a component, each applied when
its module is first imported (at build time or at run time), so that a
module the app never imports costs nothing:

- `hashlib`: `pbkdf2_hmac` and `scrypt` through the host (`wasgi.hashes`);
- `sqlite3`: connections hold the host's lock on their file (`wasgi.sqlite`);
- `asyncio`: the event loop's self-pipe, a socket pair that WASI cannot
  make, is left out (nothing but this thread can wake the loop)."""

import importlib.abc
import sys


def _hashlib(module):
    from . import hashes
    hashes.install()


def _sqlite3(module):
    from . import sqlite
    sqlite.install()


def _selector_events(module):
    loop = module.BaseSelectorEventLoop

    def _make_self_pipe(self):
        self._ssock = self._csock = None

    original_close = loop._close_self_pipe

    def _close_self_pipe(self):
        if self._ssock is not None:
            original_close(self)

    loop._make_self_pipe = _make_self_pipe
    loop._close_self_pipe = _close_self_pipe


FIXES = {
    "hashlib": _hashlib,
    "sqlite3": _sqlite3,
    "asyncio.selector_events": _selector_events,
}


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, fix):
        self._loader, self._fix = loader, fix

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._fix(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a module with a fix."""

    def find_spec(self, name, path=None, target=None):
        fix = FIXES.get(name)
        if fix is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader, fix)
                return spec
        return None


def install():
    """Fixes the modules already imported and those imported later."""
    for name, fix in FIXES.items():
        if name in sys.modules:
            fix(sys.modules[name])
    sys.meta_path.insert(0, _Finder())
