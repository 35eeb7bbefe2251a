"""Save and load models: one .npz file, plain arrays plus a JSON header, never a pickle.

Layout of the archive (an ordinary NumPy .npz, i.e. a zip of .npy files):

* ``__memograd__``: a uint8 array holding UTF-8 JSON::

      {"format": "memograd-model", "version": 1,
       "architecture": {"type": "MLP", "config": {"sizes": [64, 32, 10], ...}},
       "arrays": {"layers.0.weight": {"shape": [64, 32], "dtype": "float32"}, ...},
       "metadata": {...}}

* one array per entry of ``state_dict()``, under ``state/<name>``.

Why this shape: every byte of it is data. The architecture is rebuilt by looking its class names
up in memograd's registry of known modules (custom modules opt in with ``register_module``), and
the arrays are read with ``allow_pickle=False``, so a model file can never run code, however it
was made. The header lists every array with its shape and dtype, so a file is checked before any
weight is loaded, and an entry the header does not announce is refused rather than ignored; the
architecture is checked against the arrays before it is built (:mod:`memograd.nn.model_header`),
so a few hundred bytes announcing a huge layer cost nothing to refuse.

Writing goes to a temporary file in the same directory, flushed to disk and renamed over the
target, so a crash or a full disk never leaves half a model where a whole one was.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET, BudgetExceeded, check_memory
from memograd.data.errors import DataError
from memograd.data.npy_loader import checked_member
from memograd.nn.model_file import (
    FORMAT,
    HEADER_KEY,
    STATE_PREFIX,
    VERSION,
    non_finite,
    write_model,
)
from memograd.nn.model_header import (
    ModelFileError,
    check_arrays,
    expected_state,
    parse_header,
)
from memograd.nn.module import Module, build_module

__all__ = ["Checkpoint", "ModelFileError", "load", "load_checkpoint", "save"]

MAX_HEADER_BYTES = 16 * 1024 * 1024
# An .npy entry is its data plus a small header (128 bytes in practice; 64 kB at the most).
NPY_HEADER_ALLOWANCE = 65_536 + 16


@dataclass
class Checkpoint:
    """What a model file holds: the rebuilt module and the free-form metadata saved with it."""

    model: Module
    metadata: dict[str, Any] = field(default_factory=dict)
    architecture: dict[str, Any] = field(default_factory=dict)


def save(
    model: Module, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` (architecture and state) and ``metadata`` (JSON values) to ``path``.

    Returns the path written; see :func:`memograd.nn.model_file.write_model` for the format.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save expects a memograd Module, got {type(model).__name__}")
    return write_model(path, model.describe(), model.state_dict(), metadata)


def load(
    path: str | os.PathLike[str], *, budget: int | None = DATA_MEMORY_BUDGET, force: bool = False
) -> Module:
    """Rebuild the model saved at ``path``; see :func:`load_checkpoint` for its metadata too."""
    return load_checkpoint(path, budget=budget, force=force).model


def load_checkpoint(
    path: str | os.PathLike[str], *, budget: int | None = DATA_MEMORY_BUDGET, force: bool = False
) -> Checkpoint:
    """Read, check and rebuild a model file; any problem raises ``ModelFileError`` naming it.

    Nothing is allocated on the header's word: the header is parsed defensively, each weight
    array's own .npy header is checked against the header and against its size in the archive,
    the architecture is checked against those arrays (see :mod:`memograd.nn.model_header`),
    and their total size against ``budget`` bytes (lifted by ``force``) and the memory
    available. Only then are the weights read and the model built.
    """
    source = str(path)
    if Path(path).is_dir():
        raise IsADirectoryError(21, "is a directory, expected a model file", source)
    with Path(path).open("rb") as handle:
        signature = handle.read(4)
    if not signature:
        raise ModelFileError(f"{source}: the file is empty")
    if signature != b"PK\x03\x04":
        raise ModelFileError(f"{source}: not a memograd model (not an .npz archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(f"{source}: truncated or corrupted archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{source}: not a memograd model (not an .npz archive)")
    with archive:
        header = _read_header(archive, source)
        specs = check_arrays(header["arrays"], source)
        _check_entries(archive, specs, source)
        architecture = header["architecture"]
        _check_architecture(architecture, specs, source)
        total = sum(math.prod(shape) * dtype.itemsize for shape, dtype in specs.values())
        try:
            check_memory(  # the arrays, and the model's own copy of them
                2 * total,
                f"{source}: its {len(specs)} weight arrays",
                budget=budget,
                force=force,
            )
        except BudgetExceeded as exc:
            raise ModelFileError(str(exc)) from None
        state = _read_state(archive, specs, source)
    try:
        model = build_module(architecture)
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{source}: cannot rebuild the architecture: {exc}") from None
    try:
        model.load_state_dict(state)
    except ValueError as exc:
        raise ModelFileError(f"{source}: weights do not fit the architecture: {exc}") from None
    return Checkpoint(model=model, metadata=header["metadata"], architecture=architecture)


def _read_header(archive: np.lib.npyio.NpzFile, source: str) -> dict[str, Any]:
    names = list(archive.files)
    if HEADER_KEY not in names:
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise ModelFileError(
            f"{source}: not a memograd model (an .npz without a {HEADER_KEY!r} header; "
            f"it holds {shown or 'nothing'})"
        )
    _check_unpacked_size(archive, HEADER_KEY, MAX_HEADER_BYTES, source)
    raw = _read_entry(archive, HEADER_KEY, source)
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{source}: damaged header (expected UTF-8 bytes, got {raw.dtype})")
    header = parse_header(raw.tobytes(), source)
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a memograd model (header format is not {FORMAT!r})")
    version = header.get("version")
    if isinstance(version, bool) or version != VERSION:
        raise ModelFileError(
            f"{source}: model format version {version!r}; this memograd reads version {VERSION}"
        )
    for key in ("architecture", "arrays", "metadata"):
        if not isinstance(header.get(key), dict):
            raise ModelFileError(f"{source}: damaged header ({key!r} missing or not an object)")
    announced = {STATE_PREFIX + name for name in header["arrays"]} | {HEADER_KEY}
    extra = [name for name in names if name not in announced]
    if extra:
        raise ModelFileError(
            f"{source}: holds entries the header does not list ({', '.join(extra[:5])}); refused"
        )
    return header


def _check_entries(
    archive: np.lib.npyio.NpzFile, specs: Mapping[str, tuple[tuple, np.dtype]], source: str
) -> None:
    """Each announced array is in the archive, as the header says, and no bigger (unread)."""
    for name, (shape, dtype) in specs.items():
        key = STATE_PREFIX + name
        if key not in archive.files:
            raise ModelFileError(f"{source}: the header lists {name!r} but the archive lacks it")
        _check_unpacked_size(archive, key, math.prod(shape) * dtype.itemsize, source)
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


def _check_architecture(
    architecture: Any, specs: Mapping[str, tuple[tuple, np.dtype]], source: str
) -> None:
    """The state the architecture implies is exactly the arrays the file holds."""
    expected, opaque = expected_state(architecture, source)
    problems = []
    for name, (shape, dtype, where) in expected.items():
        if name not in specs:
            problems.append(f"{name!r} ({dtype} {shape}, from {where}) is not in the file")
        elif specs[name] != (shape, dtype):
            held_shape, held_dtype = specs[name]
            problems.append(
                f"{name!r} is {held_dtype} {held_shape} in the file but {where} makes it "
                f"{dtype} {shape}"
            )
    unexpected = [
        name
        for name in specs
        if name not in expected and not any(name.startswith(prefix) for prefix in opaque)
    ]
    if unexpected:
        problems.append("the architecture has no place for " + ", ".join(map(repr, unexpected)))
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ModelFileError(
            f"{source}: weights do not fit the architecture: {'; '.join(problems[:3])}{more}"
        )


def _read_state(
    archive: np.lib.npyio.NpzFile, specs: Mapping[str, tuple[tuple, np.dtype]], source: str
) -> dict[str, np.ndarray]:
    state: dict[str, np.ndarray] = {}
    for name in specs:
        array = _read_entry(archive, STATE_PREFIX + name, source)
        problem = non_finite(array)
        if problem:
            raise ModelFileError(
                f"{source}: weight {name!r} {problem}; a model that diverged in training "
                "cannot predict"
            )
        state[name] = array
    return state


def _check_unpacked_size(
    archive: np.lib.npyio.NpzFile, key: str, announced: int, source: str
) -> None:
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


def _read_entry(archive: np.lib.npyio.NpzFile, key: str, source: str) -> np.ndarray:
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
