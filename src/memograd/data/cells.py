"""What counts as a number in a text file, and converting many cells at C speed.

Python's ``float()`` is too forgiving for data files: it reads ``1_000`` as 1000 and the Arabic
digit ``٣`` as 3, so a column of identifiers or a stray locale would silently become numbers.
A cell here is a number when, after surrounding whitespace, it is a plain ASCII decimal
(``-1``, ``2.5``, ``.5``, ``1e-3``), or ``nan`` / ``inf`` / ``infinity`` with a sign
(recognised so that the error can say "is NaN" rather than "is not a number").

:func:`parse_number` is that definition, cell by cell. :func:`parse_rows` converts whole blocks
with NumPy's C text parser, whose grammar is the same (it also refuses underscores and non-ASCII
digits); anything it refuses or cannot shape exactly is left to :func:`parse_number`, so the fast
path can only ever be slower, never different. A test checks the two agree cell for cell.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np

_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE | re.ASCII,
)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
# 19 digits always fit in an int64; more may or may not, and 5000 would hang int().
MAX_INTEGER_DIGITS = 19


class NotANumber(ValueError):
    """A cell that is empty or is not a number; the message says which ("is empty", ...)."""


def parse_number(cell: str) -> float:
    """``cell`` as a float (NaN and infinities included), or :class:`NotANumber`."""
    text = cell.strip()
    if not text:
        raise NotANumber("is empty (a missing value)")
    if not _NUMBER.fullmatch(text):
        raise NotANumber(f"{cell!r} is not a number")
    return float(text)


def is_number(cell: str) -> bool:
    return bool(_NUMBER.fullmatch(cell.strip()))


def parse_integer(cell: str) -> int:
    """``cell`` as an exact int if it is written as a whole number (``-12``), else ValueError."""
    text = cell.strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{cell!r} is not written as a whole number")
    if len(text.lstrip("+-")) > MAX_INTEGER_DIGITS + 1:
        raise OverflowError(f"{text[:12]}... has {len(text.lstrip('+-'))} digits")
    return int(text)


def parse_rows(
    rows: Sequence[str],
    width: int,
    delimiter: str = ",",
    columns: Sequence[int] | None = None,
    dtype: type = np.float64,
) -> np.ndarray | None:
    """Lines of delimited cells as a (len(rows), width) array, or None on any doubt.

    ``columns`` picks ``width`` of the cells (the caller checks each line has all of them);
    None means every cell. None as the result means "convert these cell by cell with
    parse_number": a cell NumPy refuses, an empty line (NumPy skips it), a cell holding the
    delimiter or a line break (NumPy would see two cells or two rows), or an integer out of
    range for ``dtype``.
    """
    if not rows:
        return np.empty((0, width), dtype=dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" for an empty line
            values = np.loadtxt(
                rows,
                delimiter=delimiter,
                comments=None,
                quotechar=None,
                usecols=columns,
                dtype=dtype,
                ndmin=2,
            )
    except (ValueError, OverflowError):
        return None
    if values.shape != (len(rows), width):
        return None
    return values
