"""The container under every file memograd saves: an .npz of plain arrays plus a JSON header.

Model files (:mod:`memograd.nn.serialization`) and ``mg.save`` files (:mod:`memograd.saving`)
are both an ordinary NumPy .npz whose ``__memograd__`` entry is UTF-8 JSON saying what the file
is (``format``, ``version``) and listing every other entry with its shape and dtype. This module
is the part they share: writing such an archive atomically, and reading one as hostile input:

* the file must be a zip, opened with ``allow_pickle=False``; a PyTorch file (also a zip, of
  pickles) is recognised and named as such;
* the header is read only if its unpacked size is sane, and parsed defensively
  (:func:`parse_header`: nesting, huge integers, NaN and duplicate keys refused);
* every listed entry must be present, unpack to no more than its header announces (from the zip
  directory, before decompressing anything), and carry an .npy header agreeing with the JSON;
  an entry the header does not list is refused rather than ignored.

Only after those checks does a caller read an array. Every problem is a ``ModelFileError``, one
line that starts with the file's name.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from memograd._files import write_atomically
from memograd.data.errors import DataError, one_line
from memograd.data.npy_loader import checked_member

HEADER_KEY = "__memograd__"
MAX_DEPTH = 64
MAX_DIGITS = 19
MAX_HEADER_BYTES = 16 * 1024 * 1024
# An .npy entry is its data plus a small header (128 bytes in practice; 64 kB at the most).
NPY_HEADER_ALLOWANCE = 65_536 + 16
Specs = Mapping[str, tuple[tuple[int, ...], np.dtype]]


def write_archive(
    path: str | os.PathLike[str],
    header: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    compress: bool,
) -> Path:
    """Write ``header`` (plain JSON) and ``arrays`` to ``path`` atomically; returns the path.

    Raises, before anything is written, TypeError if the header is not plain JSON and
    ValueError if it is longer than a reader accepts.
    """
    try:
        text = json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not plain JSON: {exc}") from None
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_HEADER_BYTES:
        raise ValueError(
            f"cannot save {path}: its header would take {len(encoded):,} bytes of JSON, more "
            f"than the {MAX_HEADER_BYTES:,} a reader accepts"
        )
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(2, "directory does not exist", str(directory))
    entries = {HEADER_KEY: np.frombuffer(encoded, dtype=np.uint8), **arrays}
    save = np.savez_compressed if compress else np.savez
    return write_atomically(path, lambda handle: save(handle, **entries))


@contextmanager
def open_archive(path: str | os.PathLike[str], what: str) -> Iterator[tuple[Any, dict, str]]:
    """Open ``path`` and read its header: yields ``(archive, header, source)``.

    ``what`` names the kind of file expected, for the messages ("memograd model"). The header
    is parsed but its ``format`` and ``version`` are the caller's to check.
    """
    source = str(path)
    if Path(path).is_dir():
        raise IsADirectoryError(21, f"is a directory, expected a {what} file", source)
    with Path(path).open("rb") as handle:
        signature = handle.read(4)
    if not signature:
        raise ModelFileError(f"{source}: the file is empty")
    if signature != b"PK\x03\x04":
        raise ModelFileError(f"{source}: not a {what} (not an .npz archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(f"{source}: truncated or corrupted archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{source}: not a {what} (not an .npz archive)")
    with archive:
        yield archive, _read_header(archive, source, what), source


def _read_header(archive: Any, source: str, what: str) -> dict[str, Any]:
    names = list(archive.files)
    if HEADER_KEY not in names:
        members = archive.zip.namelist()
        if any(name.endswith("data.pkl") for name in members):
            raise ModelFileError(
                f"{source}: a PyTorch file (torch.save writes pickles, which could run code "
                "when loaded); memograd never unpickles: in PyTorch, turn its tensors into "
                "NumPy arrays (t.numpy()) and save those with memograd"
            )
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise ModelFileError(
            f"{source}: not a {what} (an .npz without a {HEADER_KEY!r} header; "
            f"it holds {shown or 'nothing'})"
        )
    check_unpacked_size(archive, HEADER_KEY, MAX_HEADER_BYTES, source)
    raw = read_entry(archive, HEADER_KEY, source)
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{source}: damaged header (expected UTF-8 bytes, got {raw.dtype})")
    return parse_header(raw.tobytes(), source)


def check_version(header: Mapping[str, Any], version: int, what: str, source: str) -> None:
    found = header.get("version")
    if isinstance(found, bool) or found != version:
        raise ModelFileError(
            f"{source}: {what} format version {found!r}; this memograd reads version {version}"
        )


def check_only_listed(archive: Any, listed: set[str], source: str) -> None:
    """Refuse entries the header does not announce (besides the header itself)."""
    extra = [name for name in archive.files if name not in listed and name != HEADER_KEY]
    if extra:
        raise ModelFileError(
            f"{source}: holds entries the header does not list ({', '.join(extra[:5])}); refused"
        )


def check_entries(archive: Any, specs: Specs, prefix: str, source: str) -> None:
    """Each announced array is in the archive, as the header says, and no bigger (unread)."""
    for name, (shape, dtype) in specs.items():
        key = prefix + name
        if key not in archive.files:
            raise ModelFileError(f"{source}: the header lists {name!r} but the archive lacks it")
        check_unpacked_size(archive, key, math.prod(shape) * dtype.itemsize, source)
        try:
            found = checked_member(archive, key, source)
        except DataError as exc:
            raise ModelFileError(str(exc)) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ModelFileError(f"{source}: entry {key!r} is corrupted ({exc})") from None
        if found.shape != shape or found.dtype != dtype:
            raise ModelFileError(
                f"{source}: {name!r} is {found.dtype.str} of shape {found.shape}, but the header "
                f"says {dtype.str} of shape {shape}"
            )


def check_unpacked_size(archive: Any, key: str, announced: int, source: str) -> None:
    """Refuse an entry that would unpack to far more than the header announced.

    Checked from the zip directory before anything is decompressed, so a small file that
    inflates to gigabytes (a zip bomb) costs nothing to reject.
    """
    member = archive.zip.getinfo(key + ".npy") if key + ".npy" in archive.zip.namelist() else None
    if member is not None and member.file_size > announced + NPY_HEADER_ALLOWANCE:
        raise ModelFileError(
            f"{source}: entry {key!r} unpacks to {member.file_size} bytes, far more than the "
            f"{announced} its header announces; refused"
        )


def read_entry(archive: Any, key: str, source: str) -> np.ndarray:
    """One array, never unpickled; every way it can fail is a ModelFileError naming it."""
    try:
        return archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ModelFileError(
                f"{source}: entry {key!r} holds Python objects, which could run code when "
                "loaded; refused without unpickling"
            ) from None
        raise ModelFileError(f"{source}: entry {key!r} is corrupted ({exc})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ModelFileError(f"{source}: entry {key!r} is corrupted ({exc})") from None


def non_finite(array: np.ndarray) -> str | None:
    """``"holds NaN at [i, j] (n non-finite values)"`` for a float array with any, else None."""
    if array.dtype.kind != "f":
        return None
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    position = tuple(int(i) for i in np.argwhere(bad)[0])
    kind = "NaN" if np.isnan(array[position]) else "infinity"
    return f"holds {kind} at {list(position)} ({int(bad.sum())} non-finite values)"


# ---- the header's JSON, read as hostile input --------------------------------------------


class ModelFileError(ValueError):
    """A model file that is missing pieces, damaged, foreign, or carries objects."""


class _TooManyDigits:
    """Stands in for an over-long JSON integer until the walk can name its field."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def parse_header(raw: bytes, source: str) -> dict[str, Any]:
    """The header object from its UTF-8 bytes; ModelFileError for anything unsafe or malformed."""
    _check_depth(raw, source)
    try:
        header = json.loads(
            raw.decode("utf-8"),
            parse_int=_parse_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{source}: damaged header (not JSON: {one_line(exc)})") from None
    _check_values(header, source)
    if not isinstance(header, dict):
        raise ModelFileError(f"{source}: damaged header (not a JSON object)")
    return header


def shown(value: Any) -> str:
    """A header value for an error message: its repr, cut to 60 characters."""
    if isinstance(value, _TooManyDigits):
        return f"a {value.digits}-digit integer"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_int(text: str) -> int | _TooManyDigits:
    digits = len(text.lstrip("-"))
    return int(text) if digits <= MAX_DIGITS else _TooManyDigits(digits)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate!r}")
    return result


def _check_values(header: Any, source: str) -> None:
    """Refuse over-long integers and non-finite floats anywhere, naming their field."""
    stack: list[tuple[Any, str]] = [(header, "")]
    while stack:
        value, at = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{at}.{k}" if at else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, _TooManyDigits):
            raise ModelFileError(
                f"{source}: header field {at} is a {value.digits}-digit integer (at most "
                f"{MAX_DIGITS} digits); refused"
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise ModelFileError(f"{source}: header field {at} is not a finite number")


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _check_depth(raw: bytes, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before the recursive JSON decoder sees it.

    Brackets are counted with NumPy over the bytes, with every string's contents blanked out
    first (same length, so positions still match), so a bracket inside a string never counts.
    """
    blank = _STRING.sub(lambda m: b'"' + b" " * (len(m.group()) - 2) + b'"', raw)
    codes = np.frombuffer(blank, dtype=np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
    steps -= np.isin(codes, (ord("]"), ord("}")))
    depth = np.cumsum(steps)
    if not depth.size or depth.max() <= MAX_DEPTH:
        return
    deepest = int(np.argmax(depth))
    # The top-level key: the last string before the last ':' at depth 1 before that point.
    colons = np.flatnonzero((codes[:deepest] == ord(":")) & (depth[:deepest] == 1))
    field = "(the top level)"
    if colons.size:
        keys = list(_STRING.finditer(raw, 0, int(colons[-1])))
        if keys:
            field = keys[-1].group()[1:-1].decode("utf-8", "replace")
    raise ModelFileError(
        f"{source}: header field {field} is nested {int(depth.max())} levels deep (at most "
        f"{MAX_DEPTH}); refused"
    )
