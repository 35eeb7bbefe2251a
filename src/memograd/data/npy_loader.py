"""Load features and targets from NumPy's own files, .npy and .npz, without ever unpickling.

``allow_pickle=False`` is the whole point: an .npy or .npz holding Python objects would run code
when loaded with pickling allowed, so such files are refused with an error that says why.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET, check_memory
from memograd.data.dataset import Dataset, default_feature_names
from memograd.data.errors import DataError
from memograd.data.npyformat import NpyHeader, check_data_size, npz_member_header, read_npy_header
from memograd.data.sources import data_file_size
from memograd.data.targets import column_targets
from memograd.data.validation import as_feature_matrix


def read_array_file(path: str | os.PathLike[str]):
    """``np.load`` with pickling off; every way the file can be wrong becomes a ``DataError``.

    Opening an .npz reads only its directory; members are read (after :func:`checked_member`)
    when asked for. A single .npy is loaded whole, so :func:`load_npy` checks its header first.
    """
    source = str(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                f"{source}: holds Python objects, which could run code when loaded; refused "
                "(save plain numeric arrays instead)"
            ) from None
        raise DataError(f"{source}: not a readable NumPy file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{source}: not a readable NumPy file ({exc})") from None
    return loaded


def load_npy(
    path: str | os.PathLike[str],
    target: int | None = None,
    *,
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
) -> Dataset:
    """A 2-D .npy array; ``target`` is the index of the label column, None for features only.

    The header is checked against the file size and the memory budget (see
    :func:`memograd._budget.check_memory`) before the array is read.
    """
    source = str(path)
    size = data_file_size(path)
    with open(path, "rb") as handle:
        signature = handle.read(6)
        if signature.startswith(b"PK"):
            raise DataError(f"{source}: is an .npz archive, not a single .npy array")
        if signature != b"\x93NUMPY":
            raise DataError(f"{source}: not an .npy file (bad signature)")
        handle.seek(0)
        header = read_npy_header(handle, source)
    check_data_size(header, size - header.data_offset, source)
    _check_numeric(header, source)
    if len(header.shape) != 2:
        raise DataError(
            f"{source}: expected a 2-D array (rows x columns), got shape {header.shape}"
        )
    check_memory(
        header.nbytes + header.count * 8,
        f"{source}: its {header.describe()} read as float64 features",
        budget=budget,
        force=force,
    )
    array = read_array_file(path)
    if target is None:
        X = as_feature_matrix(array, source)
        return Dataset(X=X, y=None, feature_names=default_feature_names(X.shape[1]), source=source)
    if isinstance(target, bool) or not isinstance(target, int | np.integer):
        raise TypeError(f"target must be a column index for an .npy file, got {target!r}")
    width = array.shape[1]
    if not -width <= target < width:
        raise DataError(f"{source}: target column {target} is out of range for {width} columns")
    index = int(target) % width
    y = column_targets(array[:, index], f"{source} column {index}")
    X = as_feature_matrix(np.delete(array, index, axis=1), source)
    names = default_feature_names(width)
    return Dataset(
        X=X,
        y=y,
        feature_names=tuple(n for i, n in enumerate(names) if i != index),
        target_name=names[index],
        source=source,
    )


def load_npz(
    path: str | os.PathLike[str],
    features: str = "X",
    target: str | None = "y",
    *,
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
) -> Dataset:
    """An .npz archive with a features array (key ``features``) and a target array (``target``).

    Both arrays' headers are checked against the archive and the memory budget before either
    is unpacked.
    """
    source = str(path)
    data_file_size(path)
    archive = read_array_file(path)
    if isinstance(archive, np.ndarray):
        raise DataError(f"{source}: is a single .npy array, not an .npz archive")
    with archive:
        keys = list(archive.keys())
        try:
            if features not in keys:
                raise DataError(f"{source}: no array named {features!r}; it holds {keys}")
            if target is not None and target not in keys:
                raise DataError(f"{source}: no target array named {target!r}; it holds {keys}")
            names = [features] if target is None else [features, target]
            headers = [checked_member(archive, name, source) for name in names]
            check_memory(
                sum(h.nbytes + h.count * 8 for h in headers),
                f"{source}: its arrays "
                + ", ".join(
                    f"{name!r} ({h.describe()})" for name, h in zip(names, headers, strict=True)
                ),
                budget=budget,
                force=force,
            )
            X = as_feature_matrix(archive[features], f"{source}[{features!r}]")
            y = None
            if target is not None:
                y = _target(archive[target], f"{source}[{target!r}]")
                if y.ndim != 1 or y.shape[0] != X.shape[0]:
                    raise DataError(
                        f"{source}: target {target!r} has shape {y.shape}, expected "
                        f"({X.shape[0]},) to match the {X.shape[0]} rows of {features!r}"
                    )
        except ValueError as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{source}: holds Python objects or unreadable data ({exc})") from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"{source}: damaged archive ({exc})") from None
    return Dataset(
        X=X, y=y, feature_names=default_feature_names(X.shape[1]), target_name=target, source=source
    )


def checked_member(archive: np.lib.npyio.NpzFile, key: str, source: str) -> NpyHeader:
    """The header of array ``key`` of an open .npz, agreeing with its size in the zip."""
    name = key + ".npy"
    if name not in archive.zip.namelist():
        raise DataError(f"{source}: entry {key!r} is not an .npy array")
    header = npz_member_header(archive.zip, name, f"{source}[{key!r}]")
    _check_numeric(header, f"{source}[{key!r}]")
    return header


def _check_numeric(header: NpyHeader, source: str) -> None:
    if header.dtype.kind not in "biufU":
        raise DataError(f"{source}: holds {header.dtype} values; expected numbers (or text labels)")


def _target(column: np.ndarray, source: str) -> np.ndarray:
    if column.ndim == 2 and column.shape[1] == 1:
        column = column[:, 0]
    return column_targets(column, source)
