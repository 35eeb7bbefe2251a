"""Data comes from regular files, whose size is known before a byte is read.

Every memory estimate starts from a file's size: an IDX or .npy header is checked against it,
and a CSV's row count is extrapolated from it. A device such as ``/dev/zero`` or a pipe has no
size and may never end, so loaders refuse them up front instead of reading until memory runs out.
"""

from __future__ import annotations

import os
import stat

from memograd.data.errors import DataError

_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a pipe",
    stat.S_IFSOCK: "a socket",
}


def data_file_size(path: str | os.PathLike[str]) -> int:
    """The size in bytes of the regular file ``path`` (symlinks followed).

    Raises FileNotFoundError / IsADirectoryError as ``open`` would, and ``DataError`` for
    anything that is not a regular file.
    """
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "is a directory, expected a data file", str(path))
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise DataError(
            f"{path}: is {kind}, not a regular file; memograd reads data from files whose size "
            "it can check before reading (save the data to a file first)"
        )
    return info.st_size
