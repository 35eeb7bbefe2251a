"""The model file's format and its writer: one .npz, a JSON header and one array per state entry.

A ``__memograd__`` entry holds UTF-8 JSON (format, version, the architecture as
``{"type", "config"}`` trees, every array's shape and dtype, free metadata); each state entry is
an array ``state/<name>``. Writing goes through :func:`memograd._files.write_atomically`, so a
crash never leaves half a file. This module knows nothing of modules or layers: ``Module.save``
and :func:`memograd.nn.save` both end here, and the reader, which checks a file against the
layers before building anything, is :mod:`memograd.nn.serialization` above them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from memograd._files import write_atomically

FORMAT = "memograd-model"
VERSION = 1
HEADER_KEY = "__memograd__"
STATE_PREFIX = "state/"
# Numeric kinds a model may hold: floats, signed and unsigned ints, booleans.
ALLOWED_KINDS = "fiub"


def write_model(
    path: str | os.PathLike[str],
    architecture: Mapping[str, Any],
    state: Mapping[str, np.ndarray],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model's ``architecture`` (JSON), ``state`` arrays and ``metadata`` to ``path``.

    Returns the path written. ``metadata`` is for what travels with a model: class names,
    feature names, training settings. A state holding NaN or infinity is refused: such a model
    cannot predict anything, and the reader would refuse the file.
    """
    path = Path(path)
    for name, array in state.items():
        if array.dtype.kind not in ALLOWED_KINDS:
            raise TypeError(f"state entry {name!r} has dtype {array.dtype}; only numbers are saved")
        problem = non_finite(array)
        if problem:
            raise ValueError(f"cannot save {path}: state entry {name!r} {problem}")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": dict(architecture),
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
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(2, "directory does not exist", str(directory))
    write_atomically(path, lambda handle: np.savez_compressed(handle, **entries))
    return path


def non_finite(array: np.ndarray) -> str | None:
    """Where a float array holds NaN or infinity, in words (None when it is all finite)."""
    if array.dtype.kind != "f":
        return None
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    position = tuple(int(i) for i in np.argwhere(bad)[0])
    kind = "NaN" if np.isnan(array[position]) else "infinity"
    return f"holds {kind} at {list(position)} ({int(bad.sum())} non-finite values)"
