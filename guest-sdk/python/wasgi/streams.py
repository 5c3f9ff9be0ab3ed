"""`wsgi.input` and `wsgi.errors`: file-like objects over the host's
streams."""

from componentize_py_types import Err

from .errors import exception, text


def _size(n):
    """`None` for "all" (a negative or absent size), else the int."""
    if n is None:
        return None
    n = n.__index__()
    return None if n < 0 else n


class InputStream:
    """`wsgi.input`: the request body, already bounded by `CONTENT_LENGTH`
    and de-chunked, so reading to the end is safe (`wsgi.input_terminated`).
    Reads as a binary file does: `read`, `readline`, `readlines`, and
    iteration over lines."""

    __slots__ = ("_host",)

    def __init__(self, host):
        self._host = host

    def _call(self, method, arg):
        try:
            return method(arg)
        except Err as e:
            raise exception(e.value) from None

    def read(self, size=-1):
        """At most `size` bytes; everything left when `size` is negative or
        omitted. `b''` at the end of the body."""
        return self._call(self._host.read, _size(size))

    def readline(self, size=-1):
        """One line, with its `b'\\n'`; at most `size` bytes when given."""
        return self._call(self._host.readline, _size(size))

    def readlines(self, hint=-1):
        """The remaining lines; stops once they total `hint` bytes, when
        `hint` is positive."""
        hint = _size(hint)
        return self._call(self._host.readlines, hint or None)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readable(self):
        return True

    def close(self):
        """Nothing to release: the server owns the request body."""


class ErrorStream:
    """`wsgi.errors`: a text stream into the server's error log, like the
    `sys.stderr` wsgiref hands out."""

    __slots__ = ("_host",)

    def __init__(self, host):
        self._host = host

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self._host.write(text(s))
        return len(s)

    def writelines(self, lines):
        lines = list(lines)
        for s in lines:
            if not isinstance(s, str):
                raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self._host.writelines([text(s) for s in lines])

    def flush(self):
        self._host.flush()

    def writable(self):
        return True
