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
weight is loaded, and an entry the header does not announce is refused rather than ignored.

Writing goes to a temporary file in the same directory, flushed to disk and renamed over the
target, so a crash or a full disk never leaves half a model where a whole one was.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memograd._files import write_atomically
from memograd.nn.layers import build_module
from memograd.nn.module import Module

FORMAT = "memograd-model"
VERSION = 1
HEADER_KEY = "__memograd__"
STATE_PREFIX = "state/"
# Numeric kinds a model may hold: floats, signed and unsigned ints, booleans.
ALLOWED_KINDS = "fiub"
MAX_HEADER_BYTES = 16 * 1024 * 1024
# An .npy entry is its data plus a small header (128 bytes in practice; 64 kB at the most).
NPY_HEADER_ALLOWANCE = 65_536 + 16


class ModelFileError(ValueError):
    """A model file that is missing pieces, damaged, foreign, or carries objects."""


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

    Returns the path written. ``metadata`` is for what travels with a model: class names,
    feature names, training settings.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save expects a memograd Module, got {type(model).__name__}")
    path = Path(path)
    state = model.state_dict()
    for name, array in state.items():
        if array.dtype.kind not in ALLOWED_KINDS:
            raise TypeError(f"state entry {name!r} has dtype {array.dtype}; only numbers are saved")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model.describe(),
        "arrays": {
            name: {"shape": list(array.shape), "dtype": array.dtype.str}
            for name, array in state.items()
        },
        "metadata": dict(metadata or {}),
    }
    try:
        text = json.dumps(header, allow_nan=False, sort_keys=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"model architecture or metadata is not plain JSON: {exc}") from None
    entries = {HEADER_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update({STATE_PREFIX + name: array for name, array in state.items()})
    _write_atomically(path, entries)
    return path


def _write_atomically(path: Path, entries: Mapping[str, np.ndarray]) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(2, "directory does not exist", str(directory))
    write_atomically(path, lambda handle: np.savez_compressed(handle, **entries))


def load(path: str | os.PathLike[str]) -> Module:
    """Rebuild the model saved at ``path``; see :func:`load_checkpoint` for its metadata too."""
    return load_checkpoint(path).model


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read, check and rebuild a model file; any problem raises ``ModelFileError`` naming it."""
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
        state = _read_state(archive, header["arrays"], source)
    architecture = header["architecture"]
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
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{source}: damaged header (not JSON: {exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a memograd model (header format is not {FORMAT!r})")
    if header.get("version") != VERSION:
        raise ModelFileError(
            f"{source}: model format version {header.get('version')!r}; this memograd reads "
            f"version {VERSION}"
        )
    for key, kind in (("architecture", dict), ("arrays", dict), ("metadata", dict)):
        if not isinstance(header.get(key), kind):
            raise ModelFileError(f"{source}: damaged header ({key!r} missing or not an object)")
    announced = {STATE_PREFIX + name for name in header["arrays"]} | {HEADER_KEY}
    extra = [name for name in names if name not in announced]
    if extra:
        raise ModelFileError(
            f"{source}: holds entries the header does not list ({', '.join(extra[:5])}); refused"
        )
    return header


def _read_state(
    archive: np.lib.npyio.NpzFile, arrays: Mapping[str, Any], source: str
) -> dict[str, np.ndarray]:
    state: dict[str, np.ndarray] = {}
    for name, spec in arrays.items():
        key = STATE_PREFIX + name
        if key not in archive.files:
            raise ModelFileError(f"{source}: the header lists {name!r} but the archive lacks it")
        _check_unpacked_size(archive, key, _announced_bytes(spec), source)
        array = _read_entry(archive, key, source)
        if array.dtype.kind not in ALLOWED_KINDS:
            raise ModelFileError(f"{source}: {name!r} has dtype {array.dtype}, not numbers")
        expected_shape = tuple(spec.get("shape", ())) if isinstance(spec, dict) else None
        expected_dtype = spec.get("dtype") if isinstance(spec, dict) else None
        if array.shape != expected_shape or array.dtype.str != expected_dtype:
            raise ModelFileError(
                f"{source}: {name!r} is {array.dtype.str} of shape {array.shape}, but the header "
                f"says {expected_dtype} of shape {expected_shape}"
            )
        state[name] = array
    return state


def _announced_bytes(spec: Any) -> int:
    try:
        shape = [int(n) for n in spec["shape"]]
        itemsize = np.dtype(spec["dtype"]).itemsize
    except (KeyError, TypeError, ValueError):
        return 0
    return int(np.prod(shape, dtype=np.int64)) * itemsize


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
