"""Read a CSV file with a header row into a :class:`Dataset`, refusing anything doubtful.

Features must be numbers. The target column, chosen by name or by index, may hold numbers
(integers become class labels, fractions a regression target) or text labels ("setosa"). Every
problem is reported with the file, the line, and the column by number and name: an empty cell, a
non-numeric cell, NaN or infinity, a row with too many or too few cells, an empty file, a missing
target column. Nothing is skipped silently: a blank line in the middle of the data is an error too;
only blank lines at the very end are ignored.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from memograd.data.dataset import Dataset
from memograd.data.errors import DataError

Target = str | int | None


def load_csv(path: str | os.PathLike[str], target: Target = -1, delimiter: str = ",") -> Dataset:
    """Load ``path``; ``target`` names the label column (name or index, -1 = last; None = none).

    Returns float64 features and, for the target, int64 (whole numbers), float64 (other numbers)
    or str labels.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})"
        ) from None
    rows = list(_numbered_rows(text, delimiter, source))
    if not rows:
        raise DataError(f"{source}: the file is empty")
    header_line, header = rows[0]
    header = [name.strip() for name in header]
    _check_header(header, source)
    data = rows[1:]
    if not data:
        raise DataError(f"{source}: has a header row but no data rows")
    width = len(header)
    for line, cells in data:
        if len(cells) != width:
            raise DataError(
                f"{source}: line {line} has {len(cells)} cells but the header has {width} "
                "(ragged row)"
            )
    target_index = _target_index(header, target, source)
    feature_indices = [i for i in range(width) if i != target_index]
    if not feature_indices:
        raise DataError(f"{source}: no feature columns besides the target {header[target_index]!r}")
    X = _feature_table(data, feature_indices, header, source)
    y = None
    if target_index is not None:
        y = _target_column(data, target_index, header[target_index], source)
    return Dataset(
        X=X,
        y=y,
        feature_names=tuple(header[i] for i in feature_indices),
        target_name=None if target_index is None else header[target_index],
        source=source,
    )


def _feature_table(
    data: list[tuple[int, list[str]]], indices: list[int], header: list[str], source: str
) -> np.ndarray:
    """The feature cells as floats: NumPy's C parser first, the cell-by-cell check on failure.

    NumPy converts a whole MNIST-sized CSV (47 million cells) in seconds where a Python loop
    takes a minute; when it refuses a cell, or accepts "nan" or "inf", the slow path walks the
    rows to report that exact cell with its line and column.
    """
    try:
        table = np.array([[row[i] for i in indices] for _, row in data], dtype=np.float64)
    except ValueError:
        table = None
    if table is not None:
        bad_rows = np.flatnonzero(~np.isfinite(table).all(axis=1))
        if not bad_rows.size:
            return table
        data = [data[int(bad_rows[0])]]
    for line, cells in data:
        for index in indices:
            _number(cells[index], source, line, index, header[index])
    raise AssertionError("unreachable: the slow path raises on the cell NumPy refused")


def _numbered_rows(text: str, delimiter: str, source: str):
    """Yield (line number, cells), dropping only the blank lines at the end of the file."""
    reader = csv.reader(text.splitlines(), delimiter=delimiter, strict=True)
    pending_blank: list[int] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                pending_blank.append(line)
                continue
            if pending_blank:
                raise DataError(f"{source}: line {pending_blank[0]} is blank inside the data")
            yield line, cells
    except csv.Error as exc:
        raise DataError(f"{source}: line {reader.line_num}: malformed CSV ({exc})") from None


def _check_header(header: list[str], source: str) -> None:
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{source}: line 1, column {i + 1} of the header is empty")
        if _is_number(name):
            raise DataError(
                f"{source}: line 1 looks like data, not a header (column {i + 1} is {name!r}); "
                "the first line must name the columns"
            )
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            raise DataError(
                f"{source}: columns {seen[name] + 1} and {i + 1} are both named {name!r}"
            )
        seen[name] = i


def _target_index(header: list[str], target: Target, source: str) -> int | None:
    if target is None:
        return None
    if isinstance(target, bool):
        raise TypeError(f"target must be a column name or index, got {target!r}")
    if isinstance(target, int | np.integer):
        index = int(target)
        if not -len(header) <= index < len(header):
            raise DataError(
                f"{source}: target column index {index} is out of range for {len(header)} columns"
            )
        return index % len(header)
    if isinstance(target, str):
        if target in header:
            return header.index(target)
        stripped = target.strip()
        if stripped.lstrip("-").isdigit():
            return _target_index(header, int(stripped), source)
        shown = ", ".join(repr(n) for n in header[:20]) + (", ..." if len(header) > 20 else "")
        raise DataError(f"{source}: no target column named {target!r}; the columns are {shown}")
    raise TypeError(f"target must be a column name or index, got {type(target).__name__}")


def _number(cell: str, source: str, line: int, index: int, name: str) -> float:
    text = cell.strip()
    where = f"{source}: line {line}, column {index + 1} ({name!r})"
    if not text:
        raise DataError(f"{where} is empty (a missing value)")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {cell!r} is not a number") from None
    if math.isnan(value):
        raise DataError(f"{where} is NaN")
    if math.isinf(value):
        raise DataError(f"{where} is infinite")
    return value


def _target_column(data: list[tuple[int, list[str]]], index: int, name: str, source: str):
    cells = [(line, row[index].strip()) for line, row in data]
    for line, text in cells:
        if not text:
            raise DataError(f"{source}: line {line}, column {index + 1} ({name!r}) is empty")
    texts = [text for _, text in cells]
    if all(_is_int(text) for text in texts):
        return np.array([int(text) for text in texts], dtype=np.int64)
    if all(_is_number(text) for text in texts):
        return np.array(
            [_number(text, source, line, index, name) for line, text in cells], dtype=np.float64
        )
    # Text labels. A mix such as "1" and "cat" is kept as text too: both are just names.
    return np.array(texts, dtype=str)


def _is_int(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isdigit() and digits.isascii()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
