"""``load_file``: one entry point that picks the right loader for a user's file.

The format is recognised by the file's first bytes where it has a signature (.npy, .npz/zip,
gzip, IDX) and by its extension otherwise, so ``train-images-idx3-ubyte`` without an extension
and ``data.csv`` both just work. Text that is none of these is read as CSV, whose loader
explains exactly what it did not like; binary data that is none of these is refused.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET
from memograd.data.csv_loader import load_csv
from memograd.data.dataset import Dataset
from memograd.data.errors import DataError
from memograd.data.idx import GZIP_MAGIC, load_idx, sibling_labels_file
from memograd.data.npy_loader import load_npy, load_npz, read_array_file
from memograd.data.sources import data_file_size

AUTO = "auto"


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of "csv", "npy", "npz", "idx" for ``path`` (which must be a regular file).

    A file starting with two zero bytes is IDX (a bad type code is then reported as a bad IDX
    magic number, not as a strange CSV); any other NUL byte in the first 4 kB means binary data,
    which is refused rather than read as text.
    """
    path = Path(path)
    data_file_size(path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head:
        raise DataError(f"{path}: the file is empty")
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as handle:
                inner = handle.read(4)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: damaged gzip data ({exc})") from None
        if inner.startswith(b"\0\0"):
            return "idx"
        raise DataError(f"{path}: a gzip file that does not hold IDX data; decompress it first")
    if head.startswith(b"\0\0"):
        return "idx"
    suffix = path.suffix.lower()
    if suffix in {".npy", ".npz"}:
        raise DataError(f"{path}: named {suffix} but is not a NumPy file (bad signature)")
    zero = head.find(b"\0")
    if zero >= 0:
        raise DataError(
            f"{path}: binary data (a zero byte at offset {zero}), not a CSV, .npy, .npz or IDX file"
        )
    return "csv"


def load_file(
    path: str | os.PathLike[str],
    target: str | int | None = AUTO,
    *,
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
) -> Dataset:
    """Load a user's data file; ``target`` picks the labels and depends on the format.

    - CSV: a column name or index (default "auto": the last column).
    - .npy: a column index (default: the last column).
    - .npz: the name of the target array (default: "y" when present); features are "X".
    - IDX: the path of the labels file (default: the MNIST-named sibling, e.g.
      ``train-labels-idx1-ubyte`` next to ``train-images-idx3-ubyte``, when it exists).
    ``target=None`` loads features only, as ``memograd predict`` does. Whether the target is
    class labels or regression values is decided the same way for every format
    (:mod:`memograd.data.targets`). Sizes are checked before reading against ``budget`` bytes
    (lifted by ``force``) and the memory available (:mod:`memograd._budget`).
    """
    kind = detect_format(path)
    limits = {"budget": budget, "force": force}
    if kind == "csv":
        delimiter = "\t" if Path(path).suffix.lower() in {".tsv", ".tab"} else ","
        return load_csv(
            path, target=-1 if target == AUTO else target, delimiter=delimiter, **limits
        )
    if kind == "npy":
        if isinstance(target, str) and target != AUTO:
            target = _column_index(target, path)
        return load_npy(path, target=-1 if target == AUTO else target, **limits)
    if kind == "npz":
        if target == AUTO:
            target = "y" if "y" in _npz_keys(path) else None
        return load_npz(path, target=None if target is None else str(target), **limits)
    labels = sibling_labels_file(path) if target == AUTO else target
    return load_idx(path, labels, **limits)


def _column_index(text: str, path: str | os.PathLike[str]) -> int:
    try:
        return int(text)
    except ValueError:
        raise DataError(
            f"{path}: an .npy file has no column names; give the target as a column index, "
            f"not {text!r}"
        ) from None


def _npz_keys(path: str | os.PathLike[str]) -> list[str]:
    """The names in an .npz archive, read without loading (or unpickling) any array."""
    archive = read_array_file(path)
    if isinstance(archive, np.ndarray):
        raise DataError(f"{path}: expected an .npz archive, found a single .npy array")
    with archive:
        return list(archive.files)
