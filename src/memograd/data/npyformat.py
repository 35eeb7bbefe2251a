"""The header of an .npy array (alone or inside an .npz), read and checked before its data.

An .npy file is a short header (magic, version, a Python-literal dict with shape, dtype and
order) followed by the raw values. ``np.load`` trusts the header and allocates what it claims,
so a 200-byte file claiming shape (10**9, 10) asks for 80 GB. Reading the header alone (NumPy's
own parser, which evaluates literals only) gives the exact byte count, which is then compared
with the bytes the file really holds, before anything is allocated.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from typing import IO

import numpy as np

from memograd.data.errors import DataError, one_line

MAX_HEADER_BYTES = 10_000  # NumPy's own default limit for np.load


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    data_offset: int

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize

    def describe(self) -> str:
        return f"shape {self.shape} of {self.dtype}"


def read_npy_header(handle: IO[bytes], source: str) -> NpyHeader:
    """The header at the start of ``handle``; DataError for anything but a numeric array.

    An object dtype (which np.load would unpickle) is refused here, before any data is read.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(handle, max_header_size=MAX_HEADER_BYTES)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(handle, max_header_size=MAX_HEADER_BYTES)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, EOFError) as exc:  # zip and disk errors are the caller's to word
        raise DataError(f"{source}: not a readable .npy header ({one_line(exc)})") from None
    if dtype.hasobject:
        raise DataError(
            f"{source}: holds Python objects, which could run code when loaded; refused "
            "(save plain numeric arrays instead)"
        )
    if any(n < 0 for n in shape):
        raise DataError(f"{source}: .npy header has a negative dimension in shape {shape}")
    return NpyHeader(shape=tuple(int(n) for n in shape), dtype=dtype, data_offset=handle.tell())


def check_data_size(header: NpyHeader, data_bytes: int, source: str) -> None:
    """Refuse a header that promises a different number of bytes than follow it."""
    if data_bytes < header.nbytes:
        raise DataError(
            f"{source}: truncated: its header promises {header.describe()} "
            f"({header.nbytes:,} bytes of data) but only {data_bytes:,} bytes follow"
        )
    if data_bytes > header.nbytes:
        raise DataError(
            f"{source}: {data_bytes - header.nbytes:,} unexpected bytes after the "
            f"{header.nbytes:,} bytes of data its header promises ({header.describe()})"
        )


def npz_member_header(archive: zipfile.ZipFile, name: str, source: str) -> NpyHeader:
    """The header of ``name`` in an .npz (a zip), checked against the member's unpacked size.

    The size comes from the zip directory, and the zip reader never yields more than it, so a
    header that agrees with it bounds what loading the member can allocate.
    """
    member = archive.getinfo(name)
    with archive.open(member) as handle:
        header = read_npy_header(handle, source)
    check_data_size(header, member.file_size - header.data_offset, source)
    return header
