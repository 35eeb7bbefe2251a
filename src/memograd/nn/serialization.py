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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET, BudgetExceeded, check_memory
from memograd.nn.model_file import FORMAT, STATE_PREFIX, VERSION, write_model
from memograd.nn.model_header import ModelFileError, check_arrays, expected_state
from memograd.nn.module import Module, build_module
from memograd.nn.npz_archive import (
    check_entries,
    check_only_listed,
    check_version,
    non_finite,
    open_archive,
    read_entry,
)

__all__ = ["Checkpoint", "ModelFileError", "load", "load_checkpoint", "save"]


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
    with open_archive(path, "memograd model") as (archive, header, source):
        return model_from_archive(archive, header, source, budget=budget, force=force)


def model_from_archive(
    archive: Any, header: dict[str, Any], source: str, *, budget: int | None, force: bool
) -> Checkpoint:
    """The checks and the rebuilding of :func:`load_checkpoint`, on an archive already open."""
    _check_header(archive, header, source)
    specs = check_arrays(header["arrays"], source)
    check_entries(archive, specs, STATE_PREFIX, source)
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


def _check_header(archive: Any, header: dict[str, Any], source: str) -> None:
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a memograd model (header format is not {FORMAT!r})")
    check_version(header, VERSION, "model", source)
    for key in ("architecture", "arrays", "metadata"):
        if not isinstance(header.get(key), dict):
            raise ModelFileError(f"{source}: damaged header ({key!r} missing or not an object)")
    check_only_listed(archive, {STATE_PREFIX + name for name in header["arrays"]}, source)


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
    archive: Any, specs: Mapping[str, tuple[tuple, np.dtype]], source: str
) -> dict[str, np.ndarray]:
    state: dict[str, np.ndarray] = {}
    for name in specs:
        array = read_entry(archive, STATE_PREFIX + name, source)
        problem = non_finite(array)
        if problem:
            raise ModelFileError(
                f"{source}: weight {name!r} {problem}; a model that diverged in training "
                "cannot predict"
            )
        state[name] = array
    return state
