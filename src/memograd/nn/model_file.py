"""The model file's format and its writer: an npz archive of the state's arrays and a header.

The header (JSON, see :mod:`memograd.nn.npz_archive`) holds ``format``, ``version``, the
architecture as ``{"type", "config"}`` trees, every array's shape and dtype, and free metadata;
each state entry is an array ``state/<name>``. This module knows nothing of modules or layers:
``Module.save`` and :func:`memograd.nn.save` both end here, and the reader, which checks a file
against the layers before building anything, is :mod:`memograd.nn.serialization` above them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from memograd.nn.npz_archive import non_finite, write_archive

FORMAT = "memograd-model"
VERSION = 1
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
    arrays = {STATE_PREFIX + name: array for name, array in state.items()}
    try:
        return write_archive(path, header, arrays, compress=True)
    except TypeError as exc:
        raise TypeError(f"model architecture or metadata is {exc}") from None
