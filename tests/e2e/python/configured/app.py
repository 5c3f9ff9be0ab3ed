"""An app configured when it is imported, as Flask's and Django's
settings are: an application factory taking literal arguments, a value
read from the environment at import (`--env` at build, or the project's
`.env`), one read per request (the run time's `--env`), the home directory
found at import and per request (CPython on WASI has no `pwd` module:
`Path.home()` needs `HOME`), and `cgi`, which
the standard library dropped in 3.13: the project's dependencies bring it
back only for a Python that new (`legacy-cgi; python_version >= "3.13"`)."""

import os
import pathlib
import sys

import cgi

AT_IMPORT = os.environ.get("GREETING", "unset")
FROM_DOTENV = os.environ.get("FROM_DOTENV", "unset")
HOME_AT_IMPORT = pathlib.Path.home()


def create_app(mode, debug=False):
    def application(environ, start_response):
        body = (f"mode={mode} debug={debug} python={sys.version_info[0]}.{sys.version_info[1]} "
                f"import={AT_IMPORT} dotenv={FROM_DOTENV} "
                f"now={os.environ.get('GREETING', 'unset')} cgi={hasattr(cgi, "FieldStorage")} "
                f"home={HOME_AT_IMPORT},{pathlib.Path.home()}")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    return application
