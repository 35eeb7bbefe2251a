"""Read a CSV file with a header row into a :class:`Dataset`, streaming, refusing anything doubtful.

Features must be numbers (:mod:`memograd.data.cells` says which spellings count). The target
column, chosen by name or by index, may hold numbers or text labels; :mod:`memograd.data.targets`
decides between classes and regression values, as it does for every loader. Every problem is
reported with the file, the line, and the column by number and name: an empty cell, a
non-numeric cell, NaN or infinity, a row with too many or too few cells, an empty file, a missing
target column, bytes that are not UTF-8. Nothing is skipped silently: a blank line in the middle
of the data is an error too; only blank lines at the very end are ignored.

How it reads: the file is taken in blocks of about 256 kB of text, each cut at a line break,
so memory is the float64 table (preallocated from the file size) plus one block, never a string
object per cell. A block is read one of two ways, with the same result:

* Python's ``csv`` module, over the text as it is (a quoted cell may hold the delimiter, line
  breaks or U+2028). Its rows come in groups of about 65,000 cells whose feature cells are
  joined back into plain lines for NumPy's C number parser.
* When a block holds no quote character (and no row of a quoted block is still open), the csv
  module would split it at line breaks and delimiters and do nothing else. Then the block's
  lines (split by ``io.StringIO``, exactly as the csv module gets them) go to NumPy's parser
  directly, after checking that every line has the header's number of delimiters. This skips a
  string object per cell, which is half the time on a table of numbers.

Anything the fast way doubts (a ragged or blank line, a cell that is not a number, NaN) sends the
block the csv way, which finds the exact cell to report; a test checks that both ways read any
quote-free text alike. Line numbers are counted only when an error needs one.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from collections.abc import Iterator
from functools import partial
from itertools import chain, islice
from operator import methodcaller
from typing import NamedTuple

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET, check_memory
from memograd.data import cells as cell_syntax
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
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
) -> Dataset:
    """Load ``path``; ``target`` names the label column (name or index, -1 = last; None = none).

    Returns float64 features and, for the target, int64 or str class labels or float64
    regression values (see :mod:`memograd.data.targets`). The feature table is refused before
    it is allocated if it would exceed ``budget`` bytes (unless ``force``) or the memory
    available (see :func:`memograd._budget.check_memory`).
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
        rows.expect(width, features, target_index)
        for first, block in rows.blocks(max(1, BLOCK_CELLS // width)):
            if isinstance(block, _Parsed):
                if blank_from is not None:
                    raise DataError(
                        f"{source}: line {rows.line_of(blank_from)} is blank inside the data"
                    )
                labels.extend(block.labels)
                table.append(block.values, rows.chars)
                continue
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


class _Parsed(NamedTuple):
    """A block read the fast way: its feature table and its target cells."""

    values: np.ndarray
    labels: list[str]


class _Rows:
    """The file in blocks of rows (csv rows, or parsed tables), with line numbers on demand."""

    def __init__(self, path: str | os.PathLike[str], delimiter: str, source: str) -> None:
        self.path, self.delimiter, self.source = path, delimiter, source
        self.handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.texts = self._texts()
        self.handoff: str | None = None  # a block of text passed to the csv reader
        self.reader = csv.reader(
            chain.from_iterable(self._reader_texts()), delimiter=delimiter, strict=True
        )
        self.csv_lines = 0  # lines in the blocks given to the csv reader so far
        self.fast_lines = 0  # lines read the fast way (the csv reader counts its own)
        self.chars = 0  # characters in the blocks read so far, either way
        self.rows = 0
        self.columns: tuple[int, list[int], int | None] | None = None
        # (first data row, line number before it, line number after the block, rows in it)
        self.spans: list[tuple[int, int, int, int]] = []

    def __enter__(self) -> _Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    @property
    def line(self) -> int:
        """Lines read so far, both ways."""
        return self.fast_lines + self.reader.line_num

    def header(self) -> list[str]:
        # Hand the reader the first line only, so the rest of the block may go the fast way.
        text = self._read(lambda: next(self.texts, None)) or ""
        line = next(io.StringIO(text, newline=""), "")
        if text[len(line) :]:
            self.texts = chain([text[len(line) :]], self.texts)
        self.handoff = line
        self.csv_lines += 1
        self.chars += len(line)
        row = self._read(lambda: next(self.reader, None))
        if row is None:
            raise DataError(f"{self.source}: the file is empty")
        if _is_blank(row):
            raise DataError(f"{self.source}: line 1 is blank; the first line must name the columns")
        return row

    def expect(self, width: int, features: list[int], target: int | None) -> None:
        """The header's shape, which enables the fast way for the blocks after it."""
        self.columns = (width, features, target)

    def blocks(self, size: int) -> Iterator[tuple[int, list[list[str]] | _Parsed]]:
        """(index of the first data row, the rows) for each block: csv rows or a _Parsed."""
        while True:
            if self.reader.line_num >= self.csv_lines:  # the csv reader is between blocks
                text = self._read(lambda: next(self.texts, None))
                if text is None:
                    return
                parsed = self._parse(text)
                if parsed is not None:  # one row per line, so line numbers are simple
                    rows = len(parsed.values)
                    self.spans.append((self.rows, self.line, self.line + rows, rows))
                    self.fast_lines += rows
                    self.rows += rows
                    yield self.rows - rows, parsed
                    continue
                self.handoff = text
                self.csv_lines += _count_lines(text)
            before = self.line
            # No more rows than lines left in the block, so the reader stops at its end unless
            # a row spans lines (then it reads on into the next block: correct, just slower).
            room = max(1, min(size, self.csv_lines - self.reader.line_num))
            block = self._read(partial(_take, self.reader, room))
            if block:
                self.spans.append((self.rows, before, self.line, len(block)))
                self.rows += len(block)
                yield self.rows - len(block), block

    def _parse(self, text: str) -> _Parsed | None:
        """The block read the fast way, or None to read it the csv way (see the module doc)."""
        self.chars += len(text)
        if self.columns is None or '"' in text:
            return None
        width, features, target = self.columns
        lines = list(io.StringIO(text, newline=""))
        if set(map(methodcaller("count", self.delimiter), lines)) != {width - 1}:
            return None
        values = cell_syntax.parse_rows(lines, len(features), self.delimiter, features)
        if values is None or not np.isfinite(values).all():
            return None
        if target is None:
            labels = []
        elif target == width - 1:
            labels = [line.rstrip("\r\n").rpartition(self.delimiter)[2] for line in lines]
        elif target == 0:
            labels = [line.partition(self.delimiter)[0] for line in lines]
        else:
            labels = [line.rstrip("\r\n").split(self.delimiter)[target] for line in lines]
        return _Parsed(values, labels)

    def _texts(self) -> Iterator[str]:
        """The file as text in blocks of about TEXT_BLOCK_CHARS, each ending at a line break.

        A block is cut after its last \\n (or a \\r that is not its last character), so a
        \\r\\n pair is never split. Text with no line break for ``MAX_LINE_CHARS`` characters
        is refused instead of being read into memory in one piece.
        """
        pieces: list[str] = []
        pending = 0
        while block := self.handle.read(TEXT_BLOCK_CHARS):
            cut = block.rfind("\n") + 1 or block.rfind("\r", 0, len(block) - 1) + 1
            if not cut:
                pending += len(block)
                if pending > MAX_LINE_CHARS:
                    raise DataError(
                        f"{self.source}: line {self.line + 1} is longer than "
                        f"{MAX_LINE_CHARS:,} characters; not a CSV file with one row per line"
                    )
                pieces.append(block)
                continue
            pieces.append(block[:cut])
            yield "".join(pieces)
            pieces, pending = [block[cut:]], len(block) - cut
        if pieces and pieces[0]:
            yield "".join(pieces)

    def _reader_texts(self) -> Iterator[io.StringIO]:
        """What the csv reader reads: the blocks handed to it, and the next while a row is open.

        Before the header is read, and when a quoted cell runs past the end of a block, the
        reader asks for more than it was handed: then the next block is its too.
        """
        while True:
            text, self.handoff = self.handoff, None
            if text is None:
                text = next(self.texts, None)
                if text is None:
                    return
                self.chars += len(text)
                self.csv_lines += _count_lines(text)
            yield io.StringIO(text, newline="")

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
            raise DataError(f"{self.source}: line {self.line}: malformed CSV ({exc})") from None
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


def _take(reader: Iterator[list[str]], count: int) -> list[list[str]]:
    return list(islice(reader, count))


def _count_lines(text: str) -> int:
    """How many lines ``io.StringIO(text, newline="")`` yields: breaks are \\n, \\r\\n, \\r."""
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return breaks + (not text.endswith(("\n", "\r")))


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
