"""The report's directory: checked before any work, so a bad ``--out`` fails in a second."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPORT_NAME = "report.html"


def prepare_output_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and prove it is a writable directory.

    Raises ValueError for a path that is an existing file, OSError (with the path named)
    when the directory cannot be created or written. Writability is tested by creating and
    removing a temporary file, the only check that also holds for root and read-only mounts.
    """
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"--out {os.fspath(path)!r} is a file; expected a directory")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        fd, probe = tempfile.mkstemp(prefix=".memograd-write-test.", dir=directory)
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot write in --out directory: {exc.strerror}", os.fspath(path)
        ) from None
    os.close(fd)
    os.unlink(probe)
    return directory
