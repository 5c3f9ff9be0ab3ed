"""`wsgi.file_wrapper`: wsgiref's `FileWrapper`, which the host sends
itself (without copying the file through the guest) when the file lies in a
preopened directory."""

import os
import posixpath

from componentize_py_types import Err
from wit_world.exports.application import FileBody
from wit_world.imports import preopens
from wit_world.imports.wasi_filesystem_types import DescriptorFlags, OpenFlags, PathFlags


class FileWrapper:
    """`wsgi.file_wrapper(filelike, blksize=8192)`, as `wsgiref.util`'s:
    iterating reads `blksize` bytes at a time, and `close()` closes the
    file."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


def _relative(path, root):
    """`path` relative to the directory `root`, or None outside it."""
    root = posixpath.normpath(root)
    if root == "/":
        return path.lstrip("/") or "."
    if path == root:
        return "."
    if path.startswith(root + "/"):
        return path[len(root) + 1:]
    return None


def file_body(wrapper, close):
    """The host-sent body for `wrapper`, or None when its file cannot be
    sent by the host (not a named binary file in a preopened directory):
    then the bridge iterates it like any other body."""
    f = wrapper.filelike
    name = getattr(f, "name", None)
    blksize = wrapper.blksize
    if not isinstance(name, str) or "b" not in getattr(f, "mode", ""):
        return None
    if type(blksize) is not int or blksize < 1:
        return None
    try:
        offset = f.tell()
    except Exception:
        return None
    path = posixpath.normpath(posixpath.join(os.getcwd(), name))
    best = None
    for descriptor, root in preopens.get_directories():
        rel = _relative(path, root)
        if rel is not None and (best is None or len(root) > len(best[1])):
            best = (descriptor, root, rel)
    if best is None:
        return None
    descriptor, _, rel = best
    try:
        opened = descriptor.open_at(
            PathFlags.SYMLINK_FOLLOW, rel, OpenFlags(0), DescriptorFlags.READ
        )
    except Err:
        return None
    return FileBody(opened, offset, blksize, close)
