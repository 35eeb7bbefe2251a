"""Writing a file so that no reader ever sees half of it.

Model files, plots and the report are all written the same way: into a temporary file in the
target's own directory, flushed to disk, then moved over the target with ``os.replace``, which
is atomic on one filesystem. An interrupted write leaves the old file (or none) and no stray
temporary.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


@functools.cache
def _umask() -> int:
    # Read once, on the first write rather than at import: os.umask can only be read by
    # setting it, and doing that while another thread creates a file would be a race.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(handle)`` on a temporary binary file, then move it to ``path``.

    The file gets the mode a plain ``open()`` would give it (``mkstemp`` makes it private).
    Returns ``path`` as a Path.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
