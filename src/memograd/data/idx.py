"""Read the IDX format of the MNIST files (``train-images-idx3-ubyte``, gzipped or not).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values, big-endian, row-major. The loader checks
that the byte count matches the dimensions exactly, so a truncated download is reported as one,
with the number of bytes missing, instead of surfacing later as a reshape error.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from pathlib import Path

import numpy as np

from memograd.data.dataset import Dataset, default_feature_names
from memograd.data.errors import DataError
from memograd.data.validation import as_feature_matrix

# Type code (third magic byte) -> big-endian NumPy dtype, as defined by the format.
IDX_TYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

GZIP_MAGIC = b"\x1f\x8b"


def is_idx(header: bytes) -> bool:
    """Whether the first 4 bytes of a (decompressed) file look like an IDX magic number."""
    return len(header) >= 4 and header[:2] == b"\0\0" and header[2] in IDX_TYPES and header[3] > 0


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file, in native byte order."""
    source = str(path)
    raw = _read_maybe_gzipped(Path(path), source)
    if len(raw) < 4 or not is_idx(raw[:4]):
        raise DataError(f"{source}: not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    dtype = np.dtype(IDX_TYPES[raw[2]])
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{source}: truncated IDX header ({len(raw)} of {header_size} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header_size
    if actual < expected:
        raise DataError(
            f"{source}: truncated: the header promises shape {shape} ({expected} bytes of data) "
            f"but only {actual} bytes follow"
        )
    if actual > expected:
        raise DataError(
            f"{source}: {actual - expected} unexpected bytes after the {expected} bytes of data "
            f"for shape {shape}"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def load_idx(
    images: str | os.PathLike[str], labels: str | os.PathLike[str] | None = None
) -> Dataset:
    """Images (N, ...) flattened to rows of features, and the matching labels file if given."""
    source = str(images)
    array = read_idx(images)
    if array.ndim < 2:
        raise DataError(f"{source}: an images file needs 2 or more dimensions, got {array.shape}")
    X = as_feature_matrix(array.reshape(array.shape[0], -1), source)
    y = None
    if labels is not None:
        label_array = read_idx(labels)
        if label_array.ndim != 1:
            raise DataError(f"{labels}: a labels file must be 1-D, got shape {label_array.shape}")
        if label_array.shape[0] != X.shape[0]:
            raise DataError(
                f"{labels}: has {label_array.shape[0]} labels but {source} has {X.shape[0]} images"
            )
        if label_array.dtype.kind not in "iu":
            raise DataError(f"{labels}: labels must be integers, got {label_array.dtype}")
        y = label_array.astype(np.int64)
    return Dataset(
        X=X,
        y=y,
        feature_names=default_feature_names(X.shape[1]),
        target_name=None if labels is None else "label",
        source=source,
    )


def sibling_labels_file(images: str | os.PathLike[str]) -> Path | None:
    """MNIST's naming: ``*-images-idx3-ubyte[.gz]`` pairs with ``*-labels-idx1-ubyte[.gz]``."""
    path = Path(images)
    name = re.sub(r"images([.-])idx3", r"labels\1idx1", path.name)
    if name == path.name:
        return None
    for candidate in (name, name.removesuffix(".gz"), name + ".gz"):
        if (path.parent / candidate).is_file():
            return path.parent / candidate
    return None


def _read_maybe_gzipped(path: Path, source: str) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{source}: damaged or truncated gzip data ({exc})") from None
