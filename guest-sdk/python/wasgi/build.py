"""Build time: what `host build-python` runs inside componentize-py's
pre-initialization, whose memory snapshot becomes the component.

Modules imported here are in the snapshot, ready at no cost per request:
besides the app this imports every module its code names anywhere,
including imports inside functions (`wasgi.scan` lists them). Everything
else stays importable at run time from the files the component carries
(`package`), as do the app's own data files."""

import errno
import importlib
import json
import linecache
import os
import shutil
import sys
import traceback

from . import errors

# Modules that do something when imported, or cannot work in a component.
_SKIP = ("__main__", "this", "antigravity", "__hello__", "__phello__", "idlelib", "pdb", "pydoc",
         "tkinter", "turtle", "turtledemo", "test", "lib2to3", "pydoc_data", "ensurepip",
         "venv", "multiprocessing", "concurrent.futures.process", "ctypes")

_MARK = "wasgi-build-error: "
# The file in the bridge's directory `_note` writes to (hidden: not packed).
NOTES = ".build-notes"


def _report(kind, message, filename=None, lineno=None):
    """One line `host build-python` turns into its error message."""
    if filename:
        filename = errors._source(filename)
    sys.stderr.write(_MARK + json.dumps({"kind": kind, "message": message,
                                          "file": filename, "line": lineno}) + "\n")
    sys.stderr.flush()


def _report_exception(e):
    filename = lineno = None
    if isinstance(e, SyntaxError):
        filename, lineno = e.filename, e.lineno
    else:
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if not f.filename.startswith("<frozen")]
        # The app's own line (an `app.run()` at import), not the
        # library's or the bridge's frame under it where it was raised.
        own = [f for f in frames if _in_project(errors._source(f.filename))]
        if own or frames:
            frame = (own or frames)[-1]
            filename, lineno = frame.filename, frame.lineno
    message = errors.shown(str(e), e) if not isinstance(e, SyntaxError) else e.msg
    _report(errors.kind_of(e), message, filename, lineno)


def _in_project(filename):
    """Whether `filename` (as the user knows it) is in a `--path`
    directory: not the bridge's (the first), not the dependencies'."""
    dirs = list(errors.SOURCE_DIRS.values())[1:]
    return any(filename.startswith(d.rstrip("/") + "/") for d in dirs if d != "site-packages")


def _check_native(checks):
    """Fails the build if a requirement does not import without a native
    extension that was left out (`host build-python` lists, as (module,
    package), those of the direct requirements): its package, and the
    module itself when it is the package's public API, a module at its top
    level (`lxml.etree`). A private one (`markupsafe._speedups`) or one in a
    subpackage (the accelerators `falcon.cyutil.misc`,
    `sqlalchemy.cyextension.collections`) is expected to have a fallback."""
    left_out = {module for module, _ in checks}
    for module, package in checks:
        targets = [package]
        parts = module.split(".")
        if len(parts) == 2 and parts[0] == package and not parts[1].startswith("_"):
            targets.append(module)
        for target in targets:
            try:
                importlib.import_module(target)
            except ImportError as e:
                missing = e.name if e.name in left_out else module
                _report("NativeCode",
                        f"`{package}` does not work without its native code: `import {target}` "
                        f"fails ({errors.kind_of(e)}: {e}), as `{missing}` was left out (native "
                        "code cannot run in a wasm component); use a pure-Python package "
                        f"instead, or build with --allow-missing-native {package} if the app "
                        "never imports it")
                raise


def _skipped(name):
    return any(name == s or name.startswith(s + ".") for s in _SKIP) or name.endswith(".__main__")


# Codecs are looked up by name (`codecs.lookup('idna')`), which no scan
# can see; these are the ones web code asks for.
_CODECS = ("ascii", "latin_1", "utf_8", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be",
           "utf_32", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "charmap",
           "cp1252", "iso8859_15", "base64_codec", "hex_codec", "quopri_codec", "zlib_codec")


def preimport(names):
    """Imports the modules `wasgi.scan` found in the app's code (and its
    dependencies' code), so that an import inside a function still works
    after the snapshot, and the codecs. Returns the names that failed to
    import (they would fail at run time too)."""
    import codecs

    for codec in _CODECS:
        try:
            # Into the codec registry's cache, which outlives the snapshot.
            codecs.lookup(codec)
        except LookupError:
            pass
    left_out = []
    for name in names:
        if name in sys.modules or _skipped(name):
            continue
        try:
            importlib.import_module(name)
        except BaseException:
            left_out.append(name)
    return left_out


def _compile_with_source_paths():
    """Compiles modules from the `--path` directories with the path the
    user knows (`/work/app/app.py`, not componentize-py's `/2/app.py`), so
    every traceback names it, also those an app or framework formats
    itself. `__file__` stays the path that can be read at build time."""
    from importlib.machinery import SourceFileLoader

    original_compile = SourceFileLoader.source_to_code
    original_stats = SourceFileLoader.path_stats
    mounts = tuple(d + "/" for d in errors.SOURCE_DIRS)

    def source_to_code(self, data, path, *args, **kwargs):
        return original_compile(self, data, errors._source(path), *args, **kwargs)

    def path_stats(self, path):
        # Without the source's stats, the loader neither reads a cached
        # `.pyc` (whose names would be the guest's) nor writes one into the
        # user's directories.
        if path.startswith(mounts):
            raise OSError("wasgi: compiled from source")
        return original_stats(self, path)

    SourceFileLoader.source_to_code = source_to_code
    SourceFileLoader.path_stats = path_stats


def _keep_source_lines(source_dirs):
    """Reads the app's own source files into `linecache`, so tracebacks at
    run time (when there are no files) still show each frame's line."""
    dirs = tuple(d + "/" for d, shown in source_dirs.items() if shown != "site-packages")
    for m in list(sys.modules.values()):
        filename = getattr(m, "__file__", None) or ""
        if filename.startswith(dirs):
            lines = linecache.getlines(filename)
            # Under the name tracebacks use; no mtime, so that `checkcache`
            # keeps the entry though the file is gone at run time.
            shown = errors._source(filename)
            linecache.cache[shown] = (sum(map(len, lines)), None, lines, shown)


# Parts of the standard library no web app can use (a GUI, a REPL, the
# docs' text), left out of the packaged files.
_UNPACKAGED = ("idlelib", "tkinter", "turtledemo", "turtle.py", "pydoc_data", "ensurepip",
               "_pyrepl", "site-packages", "test", "config-3.14-wasm32-wasi", "venv",
               "lib2to3")


def package(dest):
    """Copies the standard library (`/python`) and componentize-py's own
    modules (`/bundled`), which only the guest sees, into `dest` on the
    staging mount: `host build-python` packs them into the component with
    the app's files, and the host mounts them read-only at the same paths
    at run time, so that any module can still be imported there. (Copies
    keep their times, so the `__pycache__` files stay valid.)"""
    def ignore(directory, names):
        return _UNPACKAGED if directory.rstrip("/") == "/python" else ()

    for mount in ("python", "bundled"):
        shutil.copytree("/" + mount, os.path.join(dest, mount), ignore=ignore)


def _warm_templates(app):
    """Compiles a Flask app's Jinja templates into the snapshot: a fresh
    instance would otherwise compile each it renders, every request (tens
    of milliseconds in wasm). Flask does not check them again unless
    `TEMPLATES_AUTO_RELOAD` is set, and then finds them unchanged."""
    jinja2 = sys.modules.get("jinja2")
    env = getattr(app, "jinja_env", None) if jinja2 and hasattr(app, "jinja_loader") else None
    if not isinstance(env, getattr(jinja2, "Environment", ())) or env.loader is None:
        return
    try:
        names = env.list_templates()
    except Exception:
        return
    for name in names:
        try:
            env.get_template(name)
        except Exception:
            pass  # one that does not compile fails when rendered, as natively


class _NoNetwork:
    """Refuses, while the app is imported, what would make the guest's
    C library fetch its `wasi:sockets` network handle: the library keeps
    the handle in memory, so one fetched at build time would be in the
    snapshot but not in the instance (urllib3 binds a socket on import to
    see whether IPv6 works). Code that tries gets an `OSError`, as it
    would at run time in a sandbox without a network."""

    _METHODS = ("bind", "connect", "connect_ex")
    _FUNCTIONS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                  "getnameinfo")

    def __enter__(self):
        import socket

        def refused(*args, **kwargs):
            raise OSError(errno.ENETUNREACH, "no network while the app is built")

        self._saved = [(socket.socket, name, socket.socket.__dict__.get(name))
                       for name in self._METHODS]
        self._saved += [(socket, name, getattr(socket, name)) for name in self._FUNCTIONS]
        for owner, name, _ in self._saved:
            setattr(owner, name, refused)
        return self

    def __exit__(self, *exc):
        for owner, name, original in self._saved:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def _factory_call(callable_name):
    """`NAME` and None, or for `NAME(ARGS)` (an application factory, as
    gunicorn takes it) `NAME` and its positional and keyword arguments,
    which must be Python literals."""
    import ast

    if "(" not in callable_name:
        return callable_name, None
    name = callable_name[:callable_name.index("(")]
    try:
        call = ast.parse(callable_name, mode="eval").body
        if not isinstance(call, ast.Call):
            raise ValueError
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        if None in kwargs:
            raise ValueError
    except (SyntaxError, ValueError):
        message = (f"{callable_name}: the arguments of an application factory must be "
                   "Python literals (strings, numbers, True/False/None, lists, dicts)")
        _report("TypeError", message)
        raise TypeError(message) from None
    return name, (args, kwargs)


def load(module_name, callable_name, source_dirs, modules, packaged=None, cwd=None, env=None,
         warm=(), tzpath=None, native=()):
    """Imports `module_name` in the environment `env` (over the build's
    own), finds `callable_name` in it (a dotted path is followed attribute
    by attribute, `NAME(ARGS)` called), imports `modules` (see
    `preimport`), checks the requirements whose `native` code was left
    out (`_check_native`), serves the `warm` requests through it
    (`wasgi.warm`, with the time zones at `tzpath`) and returns the `Application` class componentize-py exports. Failures
    are reported as one line, then raised, which stops the build."""
    errors.SOURCE_DIRS.update(source_dirs)
    os.environ.update(env or {})
    from . import command

    command.BUILD_ENV.update(env or {})
    if cwd:
        # The app's directory, as when it runs from there natively
        # (bottle's TEMPLATE_PATH, relative paths); the snapshot keeps it.
        os.chdir(cwd)
    _compile_with_source_paths()
    from . import patches

    patches.install()
    from .building import Building

    with _NoNetwork(), Building():
        return _load(module_name, callable_name, source_dirs, modules, packaged, warm, tzpath,
                     native)


def _note(line):
    """One line `host build-python` shows in its output: into a file of
    the bridge's directory, which the host reads after the build
    (componentize-py shows the guest's output only when it fails)."""
    bridge = next(iter(errors.SOURCE_DIRS))
    with open(os.path.join(bridge, NOTES), "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _load(module_name, callable_name, source_dirs, modules, packaged, warm, tzpath, native):
    try:
        module = importlib.import_module(module_name)
    except BaseException as e:
        if isinstance(e, ModuleNotFoundError) and e.name == module_name.split(".")[0]:
            _report("ModuleNotFoundError", f"No module named {module_name!r} on the given --path directories")
        else:
            _report_exception(e)
        raise
    app = module
    callable_name, factory = _factory_call(callable_name)
    for part in callable_name.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            message = f"module {module_name!r} has no attribute {callable_name!r}"
            _report("AttributeError", message, getattr(module, "__file__", None))
            raise AttributeError(message) from None
    if factory is not None:
        try:
            app = app(*factory[0], **factory[1])
        except BaseException as e:
            _report_exception(e)
            raise
    if not callable(app):
        message = f"{module_name}:{callable_name} is not callable (it is {type(app).__name__})"
        _report("TypeError", message, getattr(module, "__file__", None))
        raise TypeError(message)
    preimport(modules)
    _check_native(native)
    _warm_templates(app)
    from . import warm as warming

    for line in warming.warm(app, warm, tzpath):
        _note(line)
    warming.release()
    _keep_source_lines(source_dirs)
    if packaged:
        package(packaged)
        # At run time the packaged files are read-only: no `__pycache__`.
        sys.dont_write_bytecode = True
    from . import metadata

    metadata.keep(list(source_dirs)[1:])
    from .bridge import application_class

    return application_class(app)
