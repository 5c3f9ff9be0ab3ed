"""Exceptions across the boundary: Python exceptions to the world's
`exc-info` record (with the real traceback, so the host's log shows what
wsgiref's would) and the host's `exc-info` back to Python exceptions."""

import builtins
import traceback

from wit_world.imports.wasgi_wsgi_types import ExcInfo

# Where the build put each `--path` directory (`/0`, `/1`, ...), mapped
# back to the directory the user named, so tracebacks show real paths.
# `wasgi.build` fills it in at build time.
SOURCE_DIRS = {}


def text(s):
    """`s` as a string the component model can carry: lone surrogates
    (from `surrogateescape` decoding) become backslash escapes."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _source(filename):
    for guest, host in SOURCE_DIRS.items():
        if filename.startswith(guest + "/"):
            return host + filename[len(guest):]
    return filename


def shown(text, exc):
    """`text` (an exception's message, as `str(exc)` or traceback prints
    it) with the file names of an `OSError` named as the user knows them:
    `No such file or directory: '/work/app/data.txt'`, not the component's
    `'/2/data.txt'`."""
    if isinstance(exc, OSError):
        for name in (exc.filename, exc.filename2):
            if isinstance(name, str) and _source(name) != name:
                text = text.replace(repr(name), repr(_source(name)))
    return text


def kind_of(exc):
    """The class name Python's traceback prints: `ValueError`, or
    `module.Class` outside the builtins."""
    cls = type(exc)
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def exc_info(exc, tb=None):
    """The `exc-info` for `exc`: its class, `str(exc)` and its traceback
    (outermost call first), as `traceback.print_exception` shows them."""
    try:
        message = shown(str(exc), exc)
    except BaseException:
        message = "<exception str() failed>"
    frames = traceback.extract_tb(tb if tb is not None else exc.__traceback__)
    for frame in frames:
        # (extract_tb read each frame's line already, under its guest path.)
        frame.filename = _source(frame.filename)
    lines = [text(entry.rstrip("\n")) for entry in traceback.format_list(frames)]
    return ExcInfo(text(kind_of(exc)), text(message), lines)


def assertion(message):
    """An `AssertionError` as wsgiref's handler asserts raise it."""
    return ExcInfo("AssertionError", message, [])


def exception(info):
    """The Python exception for the host's `exc-info`: the builtin class of
    that name (`OSError`, `AssertionError`, `BrokenPipeError`, ...), else a
    `RuntimeError` naming it."""
    cls = getattr(builtins, info.kind, None)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        try:
            return cls(info.message)
        except BaseException:
            pass
    return RuntimeError(f"{info.kind}: {info.message}")
