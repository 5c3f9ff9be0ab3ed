"""wasgi's Python bridge: serves any WSGI (PEP 3333) callable as a
component of the wasgi world.

`host build-python MODULE:CALLABLE` writes the entry module, which calls
`wasgi.build.load`; at run time, `wasgi.bridge` turns each call from the
host into `application(environ, start_response)`. A WSGI app needs nothing
of this package (it sees the environ and callables PEP 3333 defines, and
`environ['wsgi.file_wrapper']`, which is `wasgi.files.FileWrapper`); an app
that keeps state imports `wasgi.kv`, `wasgi.sessions` or `wasgi.config`."""
