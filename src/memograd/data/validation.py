"""Checks shared by every loader and by training: numeric, finite, labels that fit the model.

Each check reports the *first* offending cell by position, because "the data contains NaN" sends a
user hunting through thousands of rows while "X[417, 3] is NaN" does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memograd.data.errors import DataError


def as_feature_matrix(X: object, source: str = "X") -> np.ndarray:
    """Return ``X`` as a finite 2-D float array or raise ``DataError`` naming the bad cell.

    Integer and boolean inputs are accepted and converted (the digits are stored as uint8 pixel
    counts); strings, objects and complex numbers are refused rather than guessed at.
    """
    array = np.asarray(X)
    if array.dtype == object or array.dtype.kind in "USV":
        raise DataError(f"{source}: features must be numbers, got an array of dtype {array.dtype}")
    if array.dtype.kind == "c":
        raise DataError(f"{source}: features must be real numbers, got dtype {array.dtype}")
    if array.ndim == 1:
        raise DataError(
            f"{source}: features must be 2-D (rows x features), got shape {array.shape}; "
            "use X.reshape(-1, 1) for a single feature"
        )
    if array.ndim != 2:
        raise DataError(
            f"{source}: features must be 2-D (rows x features), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise DataError(f"{source}: has no rows")
    if array.shape[1] == 0:
        raise DataError(f"{source}: has no feature columns")
    if array.dtype.kind == "f":
        check_finite(array, source)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def check_finite(array: np.ndarray, source: str) -> None:
    """Raise ``DataError`` naming the first NaN or infinite entry of ``array``."""
    bad = ~np.isfinite(array)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        value = array[position]
        kind = "NaN" if np.isnan(value) else "infinite"
        index = ", ".join(str(i) for i in position)
        count = int(bad.sum())
        more = f" ({count} non-finite entries in all)" if count > 1 else ""
        raise DataError(f"{source}[{index}] is {kind}{more}; remove or impute it first")


def as_class_labels(y: object, n_rows: int, source: str = "y") -> np.ndarray:
    """Return integer class labels as a 1-D int64 array, refusing fractions, NaN and bad shapes."""
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{source}: class labels must be 1-D, got shape {array.shape}")
    if array.shape[0] != n_rows:
        raise DataError(f"{source}: has {array.shape[0]} labels for {n_rows} rows of features")
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        check_finite(array, source)
        fractional = np.flatnonzero(array != np.round(array))
        if fractional.size:
            i = int(fractional[0])
            raise DataError(
                f"{source}[{i}] = {array[i].item()!r} is not a whole-number class label"
            )
        return array.astype(np.int64)
    raise DataError(f"{source}: class labels must be integers, got dtype {array.dtype}")


def check_labels_in_classes(
    labels: np.ndarray,
    classes: Sequence[object],
    source: str = "y",
    first_line: int | None = None,
) -> np.ndarray:
    """Map ``labels`` to indices into ``classes``; a label the model does not know is an error.

    Returns the int64 class index of every label. The error names the first unknown label, its
    row, and the classes the model was trained on. For labels read from a text file, give the
    file's line number of the first row as ``first_line`` and the error names the line instead.
    """
    lookup = {_key(c): i for i, c in enumerate(classes)}
    indices = np.empty(len(labels), dtype=np.int64)
    for row, label in enumerate(np.asarray(labels).tolist()):
        index = lookup.get(_key(label))
        if index is None:
            shown = ", ".join(repr(c) for c in list(classes)[:20])
            more = ", ..." if len(classes) > 20 else ""
            where = (
                f"{source}[{row}]" if first_line is None else f"{source}, line {first_line + row}"
            )
            raise DataError(
                f"{where}: label {label!r} is not one of the model's classes [{shown}{more}]"
            )
        indices[row] = index
    return indices


def _key(label: object) -> object:
    # 3, 3.0 and np.int64(3) are the same class; "3" (a string label) is not.
    if isinstance(label, bool):
        return ("n", float(label))
    if isinstance(label, int | float | np.integer | np.floating):
        return ("n", float(label))
    return ("s", str(label))
