"""Writing a file so that no reader ever sees half of it.

Model files, plots and the report are all written the same way: into a temporary file in the
target's own directory, flushed to disk, then moved over the target with ``os.replace``, which
is atomic on one filesystem. An interrupted write leaves the old file (or none).

Where ``open(path, "wb")`` would be the naive way, the result looks the same to the user: a
symlink is followed and its target rewritten (the link stays a link), and an existing file keeps
its permission bits (a private 600 model stays private), and its owner where the writer may set
it. What differs: hard links to the old file keep the old contents, since the new file is a new
inode.

A process killed mid-write (SIGKILL, power loss) cannot clean up, so temporaries are named
``.<name>.memograd-<host>-<pid>-<random>.tmp``: recognisably memograd's, and carrying the
writer's process id. The next write to the same place removes those whose writer, on this
machine, is gone.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

TEMPORARY_TAG = "memograd"


@functools.cache
def _umask() -> int:
    # Read once, on the first write rather than at import: os.umask can only be read by
    # setting it, and doing that while another thread creates a file would be a race.
    mask = os.umask(0)
    os.umask(mask)
    return mask


@functools.cache
def _host() -> str:
    return f"{zlib.crc32(os.uname().nodename.encode()):08x}"


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(handle)`` on a temporary binary file, then move it to ``path``.

    The file gets the permission bits of the file it replaces, or those a plain ``open()``
    would give a new one (``mkstemp`` makes it private). A symlink at ``path`` is followed.
    An OSError (a full disk, say) leaves the old file as it was and is raised naming ``path``.
    Returns ``path`` as a Path.
    """
    target = Path(path)
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    directory = real.parent if str(real.parent) else Path(".")
    previous = _stat_or_none(real)
    remove_stale_temporaries(real)
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{real.name}.{TEMPORARY_TAG}-{_host()}-{os.getpid()}-",
            suffix=".tmp",
            dir=directory,
        )
    except OSError as exc:
        raise _naming(exc, real) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_ownership(temporary, previous)
        os.replace(temporary, real)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(exc, real) from exc
        raise
    return target


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise the OSError a write to ``path`` would meet, before any work is done for it.

    The directory must exist and be writable and searchable (checked with ``os.access``, which
    also reports a read-only filesystem); ``path`` itself must not be a directory.
    """
    target = Path(path)
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    directory = real.parent if str(real.parent) else Path(".")
    if real.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a file name", str(target))
    if not directory.is_dir():
        raise FileNotFoundError(errno.ENOENT, "directory does not exist", str(directory))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(
            errno.EACCES, "directory is not writable (nothing was done)", str(directory)
        )


def prepare_output_dir(path: str | os.PathLike[str]) -> Path:
    """Create the directory ``path`` if needed and prove it is writable (``--out DIR``).

    Raises ValueError for a path that is an existing file, OSError (with the path named) when
    the directory cannot be created or written. Writability is tested by creating and removing
    a temporary file, the only check that also holds for root and read-only mounts.
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


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete temporaries of earlier writes to ``path`` whose writer is no longer running.

    Only names written by :func:`write_atomically` on this machine are considered; one whose
    process is alive (another write in progress) is left alone. Returns what was removed.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    pattern = re.compile(
        rf"\.{re.escape(target.name)}\.{TEMPORARY_TAG}-{_host()}-(\d+)-[A-Za-z0-9_]+\.tmp"
    )
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            stale = directory / name
            try:
                stale.unlink()
            except OSError:
                continue
            removed.append(stale)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process is writing
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _copy_ownership(temporary: str, previous: os.stat_result | None) -> None:
    if previous is None:
        os.chmod(temporary, 0o666 & ~_umask())
        return
    os.chmod(temporary, previous.st_mode & 0o777)
    if hasattr(os, "chown"):
        info = os.stat(temporary)
        if (info.st_uid, info.st_gid) != (previous.st_uid, previous.st_gid):
            try:
                os.chown(temporary, previous.st_uid, previous.st_gid)
            except OSError:
                pass  # only root (or the group's member) may; the bits still apply


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` reworded to name the file being written rather than the temporary."""
    reason = exc.strerror or str(exc)
    return type(exc)(exc.errno, f"{reason} (while writing; nothing was replaced)", str(target))
