"""PEP 3333 between the wasgi world and a WSGI callable: the environ, the
`start_response` and `write` callables, and the response iterable."""

import io

from componentize_py_types import Err
from wit_world.exports import application as wit

from . import errors
from .files import FileWrapper, file_body
from .streams import ErrorStream, InputStream

_NOT_BYTES = "write() argument must be a bytes instance"


def _check_str(value, title):
    """wsgiref's `_convert_string_type`: native strings only."""
    if type(value) is not str:
        raise AssertionError(f"{title} must be of type str (got {value!r})")


class StartResponse:
    """`start_response(status, response_headers, exc_info=None)`; returns
    the `write(data)` callable. The host applies wsgiref's rules to the
    status and headers; the types are checked here, where Python sees them."""

    __slots__ = ("_host",)

    def __init__(self, host):
        self._host = host

    def __call__(self, status, headers, exc_info=None):
        if type(headers) is not list:
            raise TypeError("Headers must be a list of name/value tuples")
        _check_str(status, "Status")
        for name, value in headers:
            _check_str(name, "Header name")
            _check_str(value, "Header value")
        info = errors.exc_info(exc_info[1], exc_info[2]) if exc_info else None
        try:
            self._host.call(status, [(n, v) for n, v in headers], info)
        except Err as e:
            failure = e.value
            if info is not None and (failure.kind, failure.message) == (info.kind, info.message):
                # The headers are out: re-raise the app's own exception.
                try:
                    raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            raise errors.exception(failure) from None
        return self.write

    def write(self, data):
        """The `write()` callable: sends the headers if not yet sent, then
        `data`, and returns once it is transmitted."""
        if type(data) is not bytes:
            raise AssertionError(_NOT_BYTES)
        try:
            self._host.write(data)
        except Err as e:
            raise errors.exception(e.value) from None


class Body(wit.Body):
    """The response iterable, one chunk per `next` from the host, and its
    `close()`."""

    __slots__ = ("_result", "_iterator")

    def __init__(self, result):
        self._result = result
        self._iterator = None

    def next(self):
        try:
            if self._iterator is None:
                self._iterator = iter(self._result)
            chunk = next(self._iterator)
        except StopIteration:
            return None
        except BaseException as e:
            raise Err(errors.exc_info(e))
        if type(chunk) is not bytes:
            raise Err(errors.assertion(_NOT_BYTES))
        return chunk

    def close(self):
        close = getattr(self._result, "close", None)
        if close is None:
            return
        try:
            close()
        except BaseException as e:
            raise Err(errors.exc_info(e))


def environ(env, input, errors_stream):
    """The environ dict: the host's native-string CGI variables, then the
    `wsgi.*` keys in the order wsgiref's `setup_environ` adds them.

    A body without `Content-Length` (a chunked request, which the host
    decodes) is read whole here and given `CONTENT_LENGTH`, as nginx does
    for its upstreams: Python frameworks read `CONTENT_LENGTH` bytes (bottle
    and Django read nothing without it), and the host bounds the body by
    `--max-body-size`. So there is no `wsgi.input_terminated` either, as
    under wsgiref."""
    d = dict(env.vars)
    stream = InputStream(input)
    if not d.get("CONTENT_LENGTH") and env.input_terminated:
        body = stream.read()
        if body:
            d["CONTENT_LENGTH"] = str(len(body))
            stream = io.BytesIO(body)
    d["wsgi.input"] = stream
    d["wsgi.errors"] = ErrorStream(errors_stream)
    d["wsgi.version"] = tuple(env.version)
    d["wsgi.run_once"] = env.run_once
    d["wsgi.multithread"] = env.multithread
    d["wsgi.multiprocess"] = env.multiprocess
    if env.file_wrapper:
        d["wsgi.file_wrapper"] = FileWrapper
    return d


def response(result, file_wrapper_offered):
    """The world's `response` for what the app returned: a list of byte
    strings in one piece (wsgiref gives a one-item list a
    `Content-Length`), a file for the host to send, or a lazy iterable."""
    if type(result) in (list, tuple) and all(type(c) is bytes for c in result):
        return wit.Response_Chunks(list(result))
    if file_wrapper_offered and type(result) is FileWrapper:
        body = file_body(result, Body(result))
        if body is not None:
            return wit.Response_File(body)
    return wit.Response_Iterable(Body(result))


def application_class(app):
    """The class componentize-py exports as `Application`, calling `app`."""

    class Application:
        def call(self, env, input, errors_stream, start_response):
            try:
                d = environ(env, input, errors_stream)
                result = app(d, StartResponse(start_response))
                return response(result, env.file_wrapper)
            except Err:
                raise
            except BaseException as e:
                raise Err(errors.exc_info(e))

    return Application
