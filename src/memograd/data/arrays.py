"""Load features and targets from NumPy's own files, .npy and .npz, without ever unpickling.

``allow_pickle=False`` is the whole point: an .npy or .npz holding Python objects would run code
when loaded with pickling allowed, so such files are refused with an error that says why.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from memograd.data.dataset import Dataset, default_feature_names
from memograd.data.errors import DataError
from memograd.data.validation import as_feature_matrix, check_finite


def read_array_file(path: str | os.PathLike[str]):
    """``np.load`` with pickling off; every way the file can be wrong becomes a ``DataError``."""
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


def load_npy(path: str | os.PathLike[str], target: int | None = None) -> Dataset:
    """A 2-D .npy array; ``target`` is the index of the label column, None for features only."""
    source = str(path)
    array = read_array_file(path)
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{source}: is an .npz archive, not a single .npy array")
    if array.ndim != 2:
        raise DataError(f"{source}: expected a 2-D array (rows x columns), got shape {array.shape}")
    if target is None:
        X = as_feature_matrix(array, source)
        return Dataset(X=X, y=None, feature_names=default_feature_names(X.shape[1]), source=source)
    if isinstance(target, bool) or not isinstance(target, int | np.integer):
        raise TypeError(f"target must be a column index for an .npy file, got {target!r}")
    width = array.shape[1]
    if not -width <= target < width:
        raise DataError(f"{source}: target column {target} is out of range for {width} columns")
    index = int(target) % width
    y = _target(array[:, index], f"{source} column {index}")
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
    path: str | os.PathLike[str], features: str = "X", target: str | None = "y"
) -> Dataset:
    """An .npz archive with a features array (key ``features``) and a target array (``target``)."""
    source = str(path)
    archive = read_array_file(path)
    if isinstance(archive, np.ndarray):
        raise DataError(f"{source}: is a single .npy array, not an .npz archive")
    with archive:
        keys = list(archive.keys())
        try:
            if features not in keys:
                raise DataError(f"{source}: no array named {features!r}; it holds {keys}")
            X = as_feature_matrix(archive[features], f"{source}[{features!r}]")
            y = None
            if target is not None:
                if target not in keys:
                    raise DataError(f"{source}: no target array named {target!r}; it holds {keys}")
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


def _target(column: np.ndarray, source: str) -> np.ndarray:
    if column.ndim == 2 and column.shape[1] == 1:
        column = column[:, 0]
    if column.dtype.kind in "iub":
        return column.astype(np.int64)
    if column.dtype.kind == "f":
        check_finite(column, source)
        whole = np.all(column == np.round(column))
        return column.astype(np.int64) if whole else column.astype(np.float64)
    if column.dtype.kind == "U":
        return column
    raise DataError(f"{source}: targets must be numbers or text, got dtype {column.dtype}")
