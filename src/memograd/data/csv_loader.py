"""Read a CSV file with a header row into a :class:`Dataset`, streaming, refusing anything doubtful.

Features must be numbers (:mod:`memograd.data.cells` says which spellings count). The target
column, chosen by name or by index, may hold numbers or text labels; :mod:`memograd.data.targets`
decides between classes and regression values, as it does for every loader. Every problem is
reported with the file, the line, and the column by number and name: an empty cell, a
non-numeric cell, NaN or infinity, a row with too many or too few cells, an empty file, a missing
target column, bytes that are not UTF-8. Nothing is skipped silently: a blank line in the middle
of the data is an error too; only blank lines at the very end are ignored.

How it reads: Python's ``csv`` module parses the file as it is (a quoted cell may hold commas,
line breaks or U+2028), in blocks of about 65,000 cells. Each block's feature cells are joined
back into plain comma-separated lines and converted by NumPy's C parser straight into a float64
table preallocated from the file size, so the memory is the table plus one block of Python
strings, not a string object per cell. A block NumPy refuses is converted again cell by cell,
which finds the exact cell to report. Line numbers are counted only when an error needs one.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from collections.abc import Iterator
from itertools import chain, islice

import numpy as np

from memograd.data import cells as cell_syntax
from memograd.data.budget import DEFAULT_BUDGET, check_memory
from memograd.data.dataset import Dataset
from memograd.data.errors import DataError
from memograd.data.sources import data_file_size
from memograd.data.targets import text_targets

Target = str | int | None

BLOCK_CELLS = 2**16
TEXT_BLOCK_CHARS = 2**18
MAX_LINE_CHARS = 64 * 2**20


def load_csv(
    path: str | os.PathLike[str],
    target: Target = -1,
    delimiter: str = ",",
    *,
    budget: int | None = DEFAULT_BUDGET,
    force: bool = False,
) -> Dataset:
    """Load ``path``; ``target`` names the label column (name or index, -1 = last; None = none).

    Returns float64 features and, for the target, int64 or str class labels or float64
    regression values (see :mod:`memograd.data.targets`). The feature table is refused before
    it is allocated if it would exceed ``budget`` bytes (unless ``force``) or the memory
    available (see :func:`memograd.data.budget.check_memory`).
    """
    source = str(path)
    size = data_file_size(path)
    with _Rows(path, delimiter, source) as rows:
        header = [name.strip() for name in rows.header()]
        _check_header(header, source)
        width = len(header)
        target_index = _target_index(header, target, source)
        features = [i for i in range(width) if i != target_index]
        if not features:
            raise DataError(
                f"{source}: no feature columns besides the target {header[target_index]!r}"
            )
        table = _Table(len(features), size, source, budget, force)
        labels: list[str] = []
        blank_from: int | None = None  # first of the blank rows seen so far at the end
        for first, block in rows.blocks(max(1, BLOCK_CELLS // width)):
            if blank_from is not None or set(map(len, block)) != {width}:
                block, blank_from = _complete_rows(block, first, width, blank_from, rows, source)
            if target_index is not None:
                labels.extend([row.pop(target_index) for row in block])
            values = cell_syntax.parse_rows(list(map(",".join, block)), len(features))
            if values is None or not np.isfinite(values).all():
                values = _checked_block(block, first, features, header, rows, source)
            table.append(values, rows.chars)
        X = table.finish()
        if not len(X):
            raise DataError(f"{source}: has a header row but no data rows")
        y = None
        if target_index is not None:
            name = header[target_index]
            y = text_targets(
                labels,
                lambda row: (
                    f"{source}: line {rows.line_of(row)}, column {target_index + 1} ({name!r})"
                ),
            )
    return Dataset(
        X=X,
        y=y,
        feature_names=tuple(header[i] for i in features),
        target_name=None if target_index is None else header[target_index],
        source=source,
    )


class _Rows:
    """The csv reader over the file, in blocks of rows, with line numbers found on demand."""

    def __init__(self, path: str | os.PathLike[str], delimiter: str, source: str) -> None:
        self.path, self.delimiter, self.source = path, delimiter, source
        self.handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.reader = csv.reader(self._lines(), delimiter=delimiter, strict=True)
        self.current: io.StringIO | None = None  # the block of text being read
        self.done = 0  # characters in the blocks before it
        self.rows = 0
        # (first data row, line number before it, line number after the block, rows in it)
        self.spans: list[tuple[int, int, int, int]] = []

    def __enter__(self) -> _Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def _lines(self) -> Iterator[str]:
        """The file's lines: 256 kB blocks of text, each split into lines by ``StringIO`` in C.

        ``StringIO(newline="")`` breaks lines exactly where ``open(newline="")`` does (\\n,
        \\r\\n, \\r), never at U+2028 or the other breaks ``str.splitlines`` knows. A block is
        cut after its last \\n (or a \\r that is not its last character), so a \\r\\n pair
        is never split. Text with no line break for ``MAX_LINE_CHARS`` characters is refused
        instead of being read into memory in one piece.
        """
        return chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[io.StringIO]:
        pieces: list[str] = []
        pending = 0
        while block := self.handle.read(TEXT_BLOCK_CHARS):
            cut = block.rfind("\n") + 1 or block.rfind("\r", 0, len(block) - 1) + 1
            if not cut:
                pending += len(block)
                if pending > MAX_LINE_CHARS:
                    raise DataError(
                        f"{self.source}: line {self.reader.line_num + 1} is longer than "
                        f"{MAX_LINE_CHARS:,} characters; not a CSV file with one row per line"
                    )
                pieces.append(block)
                continue
            pieces.append(block[:cut])
            yield self._start(io.StringIO("".join(pieces), newline=""))
            pieces, pending = [block[cut:]], len(block) - cut
        if pieces:
            yield self._start(io.StringIO("".join(pieces), newline=""))

    def _start(self, text: io.StringIO) -> io.StringIO:
        if self.current is not None:
            self.done += self.current.tell()
        self.current = text
        return text

    @property
    def chars(self) -> int:
        """Characters the csv reader has consumed so far."""
        return self.done + (self.current.tell() if self.current is not None else 0)

    def header(self) -> list[str]:
        row = self._read(lambda: next(self.reader, None))
        if row is None:
            raise DataError(f"{self.source}: the file is empty")
        if _is_blank(row):
            raise DataError(f"{self.source}: line 1 is blank; the first line must name the columns")
        return row

    def blocks(self, size: int) -> Iterator[tuple[int, list[list[str]]]]:
        """(index of the first data row, rows) for each block of ``size`` rows."""
        while True:
            before = self.reader.line_num
            block = self._read(lambda: list(islice(self.reader, size)))
            if not block:
                return
            self.spans.append((self.rows, before, self.reader.line_num, len(block)))
            self.rows += len(block)
            yield self.rows - len(block), block

    def line_of(self, row: int) -> int:
        """The line on which data row ``row`` (0-based) starts."""
        for first, before, after, count in self.spans:
            if first <= row < first + count:
                if after - before == count:  # one line per row in this block
                    return before + 1 + row - first
                break
        return self._rescan(row)

    def _rescan(self, row: int) -> int:
        with open(self.path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter, strict=True)
            next(reader)
            end = reader.line_num
            for index, _ in enumerate(reader):
                if index == row:
                    return end + 1
                end = reader.line_num
        raise AssertionError(f"row {row} not found on a second reading")

    def _read(self, step):
        try:
            return step()
        except csv.Error as exc:
            raise DataError(
                f"{self.source}: line {self.reader.line_num}: malformed CSV ({exc})"
            ) from None
        except UnicodeDecodeError:
            raise DataError(_decoding_error(self.path, self.source)) from None


class _Table:
    """The float64 feature table, allocated once from the file size and filled block by block.

    After the first block, bytes per row give an estimate of the row count; the table is that
    large plus 5% (pages never written cost no memory), grows by half if the estimate was short,
    and is trimmed in place at the end. The budget is checked before each allocation.
    """

    def __init__(
        self, width: int, file_size: int, source: str, budget: int | None, force: bool
    ) -> None:
        self.width, self.file_size, self.source = width, file_size, source
        self.budget, self.force = budget, force
        self.array = np.empty((0, width))
        self.rows = 0

    def append(self, values: np.ndarray, chars_read: int) -> None:
        needed = self.rows + len(values)
        if needed > len(self.array):
            if not len(self.array):
                estimate = math.ceil(self.file_size / max(chars_read, 1) * needed * 1.05)
            else:
                estimate = len(self.array) * 3 // 2
            self._reserve(max(needed, estimate))
        self.array[self.rows : needed] = values
        self.rows = needed

    def _reserve(self, rows: int) -> None:
        check_memory(
            rows * self.width * 8,
            f"{self.source}: about {rows:,} rows x {self.width} features as float64",
            budget=self.budget,
            force=self.force,
        )
        if not len(self.array):
            self.array = np.empty((rows, self.width))
        else:
            self.array.resize((rows, self.width), refcheck=False)

    def finish(self) -> np.ndarray:
        self.array.resize((self.rows, self.width), refcheck=False)
        return self.array


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _complete_rows(
    block: list[list[str]],
    first: int,
    width: int,
    blank_from: int | None,
    rows: _Rows,
    source: str,
) -> tuple[list[list[str]], int | None]:
    """The rows of ``block`` before any trailing blank ones; ragged or blank-inside is an error."""
    keep = len(block) if blank_from is None else 0
    for offset, row in enumerate(block):
        if _is_blank(row):
            if blank_from is None:
                blank_from, keep = first + offset, offset
            continue
        if blank_from is not None:
            raise DataError(f"{source}: line {rows.line_of(blank_from)} is blank inside the data")
        if len(row) != width:
            raise DataError(
                f"{source}: line {rows.line_of(first + offset)} has {len(row)} cells but the "
                f"header has {width} (ragged row)"
            )
    return block[:keep], blank_from


def _checked_block(
    block: list[list[str]],
    first: int,
    features: list[int],
    header: list[str],
    rows: _Rows,
    source: str,
) -> np.ndarray:
    """Convert a block NumPy refused cell by cell; the first bad cell raises, naming its place."""
    values = np.empty((len(block), len(features)))
    for offset, row in enumerate(block):
        for j, cell in enumerate(row):
            try:
                value = cell_syntax.parse_number(cell)
            except cell_syntax.NotANumber as exc:
                problem = f" {exc}" if not cell.strip() else f": {exc}"
            else:
                if math.isfinite(value):
                    values[offset, j] = value
                    continue
                problem = " is NaN" if math.isnan(value) else " is infinite"
            column = features[j]
            raise DataError(
                f"{source}: line {rows.line_of(first + offset)}, column {column + 1} "
                f"({header[column]!r}){problem}"
            )
    return values


def _check_header(header: list[str], source: str) -> None:
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{source}: line 1, column {i + 1} of the header is empty")
        if cell_syntax.is_number(name):
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
        if stripped.lstrip("-").isdigit() and stripped.isascii():
            return _target_index(header, int(stripped), source)
        shown = ", ".join(repr(n) for n in header[:20]) + (", ..." if len(header) > 20 else "")
        raise DataError(f"{source}: no target column named {target!r}; the columns are {shown}")
    raise TypeError(f"target must be a column name or index, got {type(target).__name__}")


def _decoding_error(path: str | os.PathLike[str], source: str) -> str:
    """Where the file stops being UTF-8: line and byte offset of the first bad byte."""
    pending, base, lines = b"", 0, 1
    with open(path, "rb") as handle:
        while True:
            new = handle.read(1 << 20)
            data = pending + new
            try:
                _, consumed = codecs.utf_8_decode(data, "strict", not new)
            except UnicodeDecodeError as exc:
                line = lines + data.count(b"\n", 0, exc.start)
                return (
                    f"{source}: line {line}, byte {base + exc.start}: not a UTF-8 text file "
                    f"(byte 0x{data[exc.start]:02x}: {exc.reason}); it may be Latin-1 or "
                    "Windows-1252: save it as UTF-8"
                )
            lines += data.count(b"\n", 0, consumed)
            base += consumed
            pending = data[consumed:]
            if not new:
                return f"{source}: not a UTF-8 text file"
