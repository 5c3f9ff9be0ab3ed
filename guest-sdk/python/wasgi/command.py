"""`host run-python APP.wasm -- ARGV...`: a command run inside the app's
own Python, as `python ARGV...` runs in the app's directory (the first
`--path`, the guest's working directory). `ARGV` is a script
(`manage.py migrate`), `-m MODULE`, `-c CODE`, or the name of an
installed package's console script (`flask db upgrade`, `alembic
upgrade head`), looked up as pip's launcher would."""

import builtins
import importlib.metadata
import linecache
import os
import sys
import traceback
import types

from . import errors

# The environment the app was imported in at build time (`--env`, the
# project's `.env` and `.flaskenv`): a command sees it under run-python's
# own `--env`, as the project's tooling (`flask`) reads those files where
# it runs. `wasgi.build` fills it in.
BUILD_ENV = {}


def run(argv):
    """Runs `argv`; returns its exit status as Python's would be."""
    argv = list(argv)
    for name, value in BUILD_ENV.items():
        os.environ.setdefault(name, value)
    try:
        if not argv:
            sys.stderr.write("run-python: nothing to run (give a script, -m MODULE, -c CODE "
                             "or a console script after --)\n")
            return 2
        if argv[0] == "-m" and len(argv) > 1:
            import runpy

            sys.argv = argv[1:]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c" and len(argv) > 1:
            sys.argv = ["-c"] + argv[2:]
            _run_code(compile(argv[1], "<string>", "exec"), None)
        else:
            script = _script(argv[0])
            if script is not None:
                sys.argv = argv
                _run_script(script)
            else:
                entry = _console_script(argv[0])
                if entry is None:
                    return _not_found(argv[0])
                sys.argv = argv
                status = entry.load()()
                if status:
                    raise SystemExit(status)
        return 0
    except SystemExit as e:
        return _exit_status(e.code)
    except BaseException as e:
        _print_exception(e)
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def _print_exception(e):
    frames = traceback.extract_tb(e.__traceback__)
    for frame in frames:
        frame.filename = errors._source(frame.filename)
    # As Python prints it: from the command's own first frame, not this
    # module's under it.
    bridge = next(iter(errors.SOURCE_DIRS.values()), None)
    while frames and bridge and frames[0].filename.startswith(bridge.rstrip("/") + "/"):
        frames.pop(0)
    sys.stderr.write("Traceback (most recent call last):\n")
    sys.stderr.write("".join(traceback.format_list(frames)))
    sys.stderr.write(errors.shown("".join(traceback.format_exception_only(e)), e))


def _guest_path(path):
    """`path` as the guest sees it: one under a `--path` directory named as
    the user knows it (`/home/me/site/manage.py`) is where the component
    mounts it (`/2/manage.py`)."""
    for guest, shown in errors.SOURCE_DIRS.items():
        shown = shown.rstrip("/")
        if shown != "site-packages" and (path == shown or path.startswith(shown + "/")):
            return guest + path[len(shown):]
    return path


def _script(name):
    """The file `name` names, if it is one (as `python NAME` takes it)."""
    path = _guest_path(name)
    return path if os.path.isfile(path) else None


def _run_script(path):
    """Runs the file at `path` as `__main__`, its directory first on
    `sys.path`, its frames named as the user knows them."""
    with open(path, "rb") as f:
        source = f.read()
    shown = errors._source(os.path.abspath(path))
    lines = source.decode("utf-8", "replace").splitlines(keepends=True)
    linecache.cache[shown] = (len(source), None, lines, shown)
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    _run_code(compile(source, shown, "exec"), path)


def _run_code(code, path):
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    if path is not None:
        main.__file__ = path
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _console_scripts():
    return importlib.metadata.entry_points(group="console_scripts")


def _console_script(name):
    for entry in _console_scripts():
        if entry.name == name:
            return entry
    return None


def _not_found(name):
    names = sorted({e.name for e in _console_scripts()})
    known = ", ".join(names) if names else "none"
    here = errors._source(os.getcwd() + "/").rstrip("/")
    sys.stderr.write(f"run-python: {name}: no such file in the app's directory ({here}) "
                     f"and no console script of that name (the app's packages have: {known})\n")
    return 2


class Command:
    """What componentize-py exports as `wasgi:wsgi/command`."""

    def run(self, argv):
        return run(argv)
