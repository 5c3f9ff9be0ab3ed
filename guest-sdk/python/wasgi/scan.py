"""Run by `host build-python` with the build machine's Python, before the
component is made: lists the modules the app's code (and its
dependencies' code) can import, including imports inside functions, which
the build then imports into the snapshot. Scanning here rather than in the
component keeps `modulefinder`'s memory out of the snapshot.

    python -m wasgi.scan MODULE DIR... > modules.json
"""

import json
import modulefinder
import os
import sys
import sysconfig

_STDLIB = tuple(
    p + os.sep for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)


class Finder(modulefinder.ModuleFinder):
    """`modulefinder` that scans the app and its dependencies but not the
    standard library (its lazy imports are its own business, and would
    bloat the snapshot), and skips what it cannot scan (code in a newer
    Python's syntax, odd loaders)."""

    def scan_code(self, co, m):
        if not (m.__file__ or "").startswith(_STDLIB):
            super().scan_code(co, m)

    def import_hook(self, name, caller=None, fromlist=None, level=-1):
        try:
            return super().import_hook(name, caller, fromlist, level)
        except ImportError:
            raise
        except Exception:
            return None

    def load_module(self, fqname, fp, pathname, file_info):
        try:
            return super().load_module(fqname, fp, pathname, file_info)
        except SyntaxError:
            return self.add_module(fqname)


def main(module, dirs):
    stdlib = [p for p in sys.path[1:]
              if (p + os.sep).startswith(_STDLIB) and "site-packages" not in p]
    path = list(dirs) + stdlib
    finder = Finder(path=path)
    try:
        finder.import_hook(module)
    except Exception:
        pass
    json.dump(sorted(finder.modules), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
