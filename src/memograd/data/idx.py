"""Read the IDX format of the MNIST files (``train-images-idx3-ubyte``, gzipped or not).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values, big-endian, row-major. The loader checks
that the byte count matches the dimensions exactly, so a truncated download is reported as one,
with the number of bytes missing, instead of surfacing later as a reshape error.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import struct
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET, check_memory, readable_bytes
from memograd.data.dataset import Dataset, default_feature_names
from memograd.data.errors import DataError
from memograd.data.sources import data_file_size
from memograd.data.targets import column_targets
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
# Deflate never compresses better than about 1032:1, so a gzip file of n bytes cannot unpack
# to much more than 1032 n: a header claiming more is refused without decompressing anything.
MAX_DEFLATE_RATIO = 1032


def is_idx(header: bytes) -> bool:
    """Whether the first 4 bytes of a (decompressed) file look like an IDX magic number."""
    return len(header) >= 4 and header[:2] == b"\0\0" and header[2] in IDX_TYPES and header[3] > 0


def read_idx(
    path: str | os.PathLike[str], *, budget: int | None = DATA_MEMORY_BUDGET, force: bool = False
) -> np.ndarray:
    """The array stored in an IDX file, in native byte order.

    The header is read and checked first (the magic number, the shape against the file's size,
    the bytes against the memory budget); only then is the array allocated and the data read
    into it, decompressing a gzipped file as it goes.
    """
    return _read_idx(path, budget, force, converted_itemsize=0)


def _read_idx(
    path: str | os.PathLike[str], budget: int | None, force: bool, converted_itemsize: int
) -> np.ndarray:
    """``read_idx``, budgeting also for a copy of ``converted_itemsize`` bytes per value."""
    source = str(path)
    size = data_file_size(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        try:
            dtype, shape = _header(stream, source)
            header_size = 4 + 4 * len(shape)
            count = math.prod(shape)
            expected = count * dtype.itemsize
            if expected >= 2**63 or (gzipped and expected > MAX_DEFLATE_RATIO * size + 2**20):
                raise DataError(
                    f"{source}: header bytes 4-{header_size - 1}: dimensions {shape} multiply to "
                    f"{count:,} values ({readable_bytes(expected)}), more than a file of "
                    f"{readable_bytes(size)} can hold"
                )
            if not gzipped:
                _check_length(size - header_size, expected, shape, source)
            check_memory(
                expected + count * converted_itemsize,
                f"{source}: its {dtype.name} array of shape {shape}"
                + (" read as float64" if converted_itemsize else ""),
                budget=budget,
                force=force,
            )
            values = np.empty(count, dtype=dtype)
            received = _read_into(stream, values.view(np.uint8))
            if received < expected:
                _check_length(received, expected, shape, source)
            if gzipped and stream.read(1):
                raise DataError(
                    f"{source}: more bytes after the {expected:,} bytes of data for shape {shape}"
                )
        except (EOFError, OSError, zlib.error) as exc:
            if not gzipped:
                raise
            raise DataError(f"{source}: damaged or truncated gzip data ({exc})") from None
    if dtype.byteorder == ">" and np.little_endian:
        values = values.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return values.reshape(shape)


def load_idx(
    images: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
    *,
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
) -> Dataset:
    """Images (N, ...) flattened to rows of features, and the matching labels file if given.

    Labels are read as every loader reads targets (:mod:`memograd.data.targets`).
    """
    source = str(images)
    array = _read_idx(images, budget, force, converted_itemsize=8)
    if array.ndim < 2:
        raise DataError(f"{source}: an images file needs 2 or more dimensions, got {array.shape}")
    X = as_feature_matrix(array.reshape(array.shape[0], -1), source)
    del array
    y = None
    if labels is not None:
        label_array = _read_idx(labels, budget, force, converted_itemsize=8)
        if label_array.ndim != 1:
            raise DataError(f"{labels}: a labels file must be 1-D, got shape {label_array.shape}")
        if label_array.shape[0] != X.shape[0]:
            raise DataError(
                f"{labels}: has {label_array.shape[0]} labels but {source} has {X.shape[0]} images"
            )
        y = column_targets(label_array, str(labels))
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


def _header(stream: IO[bytes], source: str) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape from the magic number and the dimensions that follow it."""
    magic = stream.read(4)
    if not is_idx(magic):
        if len(magic) < 4:
            why = f"the file has only {len(magic)} bytes"
        elif magic[:2] != b"\0\0":
            why = "an IDX file starts with two zero bytes"
        elif magic[2] not in IDX_TYPES:
            codes = ", ".join(f"{code:02x}" for code in IDX_TYPES)
            why = f"type code 0x{magic[2]:02x} is not one of {codes}"
        else:
            why = "the number of dimensions is 0"
        raise DataError(
            f"{source}: not an IDX file (bad magic number {magic.hex() or 'none'} in bytes 0-3: "
            f"{why})"
        )
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{source}: truncated IDX header ({4 + len(dims)} of {4 + 4 * ndim} bytes)")
    return np.dtype(IDX_TYPES[magic[2]]), struct.unpack(f">{ndim}I", dims)


def _check_length(actual: int, expected: int, shape: tuple[int, ...], source: str) -> None:
    if actual < expected:
        raise DataError(
            f"{source}: truncated: the header promises shape {shape} ({expected:,} bytes of "
            f"data) but only {actual:,} bytes follow"
        )
    if actual > expected:
        raise DataError(
            f"{source}: {actual - expected:,} unexpected bytes after the {expected:,} bytes of "
            f"data for shape {shape}"
        )


def _read_into(stream: IO[bytes], buffer: np.ndarray) -> int:
    """Fill ``buffer`` from ``stream``; the number of bytes read (less at the end of the data)."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(view):
        n = stream.readinto(view[filled:])
        if not n:
            break
        filled += n
    return filled
