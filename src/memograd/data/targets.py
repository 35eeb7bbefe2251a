"""The target column: class labels or regression values, decided once for every loader.

The rule, the same for CSV, .npy, .npz and IDX (and stated by ``memograd train``):

* text labels ("setosa") are classes;
* integers are classes; so are floats that are all whole numbers (``0.0``/``1.0`` are the
  labels 0 and 1 whether a CSV spells them ``0.0`` or an .npy stores them as float64), as long
  as each is exactly representable (at most 2**53 in size);
* any other float (a fraction, or a whole number too large for a float to hold exactly) makes
  the column a regression target;
* NaN and infinity, empty cells, and integers beyond 64 bits are errors naming the cell.

Loaders call :func:`column_targets` (arrays) or :func:`text_targets` (text cells); both return
int64 or str labels for classification and float64 values for regression, so the dtype carries
the decision, :func:`task_of` reads it back, and :func:`as_task` applies a user's explicit choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from memograd.data import cells as cell_syntax
from memograd.data.errors import DataError
from memograd.data.validation import check_finite

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)
# The largest whole number every float64 between 0 and it represents exactly.
EXACT_FLOAT_INTEGERS = 2**53
_INT64 = np.iinfo(np.int64)
# Deleting these from a column's text leaves nothing when every cell is written as an integer.
_INTEGER_CHARACTERS = str.maketrans("", "", "0123456789+- \t")


def column_targets(column: np.ndarray, source: str) -> np.ndarray:
    """Class labels (int64 or str) or regression values (float64) from a numeric or text array."""
    kind = column.dtype.kind
    if kind in "bi":
        return column.astype(np.int64)
    if kind == "u":
        if column.size and column.max() > _INT64.max:
            index = int(np.argmax(column > _INT64.max))
            raise DataError(
                f"{source}[{index}] = {column[index]} is too large for a class label (beyond "
                "the 64-bit range)"
            )
        return column.astype(np.int64)
    if kind == "f":
        return _float_targets(column.astype(np.float64, copy=False), source)
    if kind == "U":
        return np.char.strip(column)
    raise DataError(f"{source}: targets must be numbers or text, got dtype {column.dtype}")


def text_targets(cells: Sequence[str], where: Callable[[int], str]) -> np.ndarray:
    """Targets from text cells (a CSV column); ``where(row)`` names a cell in an error.

    Numbers when every cell is a number (:mod:`memograd.data.cells`), text labels otherwise:
    a column mixing "1" and "cat" holds names, and all of them stay text. Cells written as
    integers are read exactly (as int64), not through a float.
    """
    integers = not "".join(cells).translate(_INTEGER_CHARACTERS)
    if integers:
        labels = cell_syntax.parse_rows(cells, 1, dtype=np.int64)
        if labels is not None:
            return labels[:, 0]
    values = None if integers else cell_syntax.parse_rows(cells, 1)
    if values is None:  # NumPy refused a cell: an empty one, text, or an integer out of range
        stripped = list(map(str.strip, cells))
        for row, text in enumerate(stripped):
            if not text:
                raise DataError(f"{where(row)} is empty")
        if not all(map(cell_syntax.is_number, stripped)):
            return np.array(stripped, dtype=str)
        if integers:
            return _integer_targets(stripped, where)
        values = np.array([[cell_syntax.parse_number(text)] for text in stripped])
    values = values[:, 0]
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise DataError(f"{where(row)} is {'NaN' if np.isnan(values[row]) else 'infinite'}")
    return _float_targets(values, "")


def task_of(y: np.ndarray) -> str:
    """ "regression" for float targets, "classification" for integer or text labels."""
    return REGRESSION if np.asarray(y).dtype.kind == "f" else CLASSIFICATION


def as_task(y: np.ndarray, task: str, source: str) -> np.ndarray:
    """``y`` for an explicitly chosen ``task`` ("auto" keeps the loader's decision).

    Whole-number labels may be read as regression values (counts, prices in cents); fractions
    and text cannot be class labels or values respectively, and say so naming the first one.
    """
    if task not in (*TASKS, "auto"):
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
    y = np.asarray(y)
    if task == "auto" or task == task_of(y):
        return y
    if task == REGRESSION:
        if y.dtype.kind not in "iub":
            raise DataError(
                f"{source}: holds text labels such as {str(y[0])!r}; regression needs numbers"
            )
        return y.astype(np.float64)
    fractional = np.flatnonzero(y != np.round(y))
    if fractional.size:
        index = int(fractional[0])
        reason = "is not a whole number"
    else:
        index = int(np.argmax(np.abs(y)))
        reason = "is beyond 2**53, where a float no longer holds every whole number"
    raise DataError(
        f"{source}[{index}] = {y[index].item()!r} {reason}, so it cannot be a class label"
    )


def describe(y: np.ndarray, chosen: bool = False) -> str:
    """One line saying what the targets were read as and why; ``chosen``: by the user's --task."""
    y = np.asarray(y)
    how = " (--task)" if chosen else ""
    if task_of(y) == REGRESSION:
        span = f"values from {y.min():.6g} to {y.max():.6g}"
        if chosen:
            return f"regression{how}: {span}"
        fractional = np.flatnonzero(y != np.round(y))
        if fractional.size:
            row = int(fractional[0])
            reason = f"{y[row]:.6g} in row {row} is not a whole number"
        else:
            reason = "whole numbers beyond 2**53 are not exact class labels"
        return f"regression: {span} ({reason})"
    classes = np.unique(y)
    shown = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in classes[:10].tolist())
    shown += ", ..." if len(classes) > 10 else ""
    if y.dtype.kind in "US":
        reason = "text labels"
    else:
        reason = "whole numbers; --task regression reads them as values"
    return f"classification{how}: {len(classes)} classes [{shown}] ({reason})"


def _float_targets(values: np.ndarray, source: str) -> np.ndarray:
    check_finite(values, source)
    whole = bool(np.all(values == np.round(values)))
    if whole and (not values.size or np.abs(values).max() <= EXACT_FLOAT_INTEGERS):
        return values.astype(np.int64)
    return values.astype(np.float64, copy=False)


def _integer_targets(texts: Sequence[str], where: Callable[[int], str]) -> np.ndarray:
    """Cells all written as integers, one of which NumPy refused: find it and say why."""
    labels = np.empty(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        try:
            value = cell_syntax.parse_integer(text)
        except OverflowError:
            value = None
        if value is None or not _INT64.min <= value <= _INT64.max:
            digits = len(text.lstrip("+-"))
            shown = text if len(text) <= 24 else text[:24] + "..."
            raise DataError(
                f"{where(row)}: {shown} ({digits} digits) is a whole number too large for a "
                "class label (beyond the 64-bit range)"
            )
        labels[row] = value
    return labels
