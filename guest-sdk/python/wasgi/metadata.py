"""Package metadata (`importlib.metadata.version('flask')`, entry points)
at run time, when the `*.dist-info` directories are gone: read at build
time and served from memory by a finder first on `sys.meta_path`."""

import importlib.metadata as md
import os
import pathlib
import sys

# The files of a `*.dist-info` that code asks for; RECORD (the file list)
# is left out, so `files()` is None as for an installed-by-copy package.
_FILES = ("METADATA", "PKG-INFO", "entry_points.txt", "top_level.txt", "INSTALLER", "WHEEL")


class Distribution(md.Distribution):
    """A distribution whose metadata files were read at build time."""

    def __init__(self, files):
        self._files = files

    def read_text(self, filename):
        return self._files.get(filename)

    def locate_file(self, path):
        return pathlib.PurePosixPath("/", path)


class Finder(md.DistributionFinder):
    """Finds only the distributions read at build time."""

    def __init__(self, dists):
        self._dists = dists

    def find_spec(self, *args, **kwargs):
        return None

    def find_distributions(self, context=md.DistributionFinder.Context()):
        wanted = context.name and md.Prepared.normalize(context.name)
        for name, dist in self._dists:
            if not wanted or name == wanted:
                yield dist


def keep(dirs):
    """Reads the metadata of every distribution installed in `dirs`."""
    dists = []
    for d in dirs:
        try:
            entries = sorted(os.listdir(d))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith((".dist-info", ".egg-info")):
                continue
            files = {}
            for f in _FILES:
                try:
                    with open(os.path.join(d, entry, f), encoding="utf-8") as fh:
                        files[f] = fh.read()
                except OSError:
                    pass
            dist = Distribution(files)
            name = dist.metadata["Name"]
            if name:
                dist.version  # parse once, at build time
                dists.append((md.Prepared.normalize(name), dist))
    sys.meta_path.insert(0, Finder(dists))
