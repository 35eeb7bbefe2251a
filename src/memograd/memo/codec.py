"""Stored values: written without pickle, and never returned unless their checksum holds.

A store's entry is a **record**: a header (format, serializer, the function's code fingerprint),
a SHA-256 checksum, and the payload. The checksum covers the entry's key, the header and the
payload, so a record that was corrupted, truncated, edited, or copied under another key fails it
and is recomputed instead of returned (``unpack`` raises :class:`CorruptRecord`).

The payload is by default memograd's own tagged encoding, which can only ever build plain data:
None, bool, int, float, complex, str, bytes; tuples, lists and dicts of these; NumPy arrays and
scalars in the .npy format (never with object dtype), and memograd Tensors (as leaves: data and
``requires_grad``, no graph). Reading a record runs no code of the file's choosing. Anything else
is refused when stored, with a TypeError naming the type and the opt-in ``serializer="pickle"``,
which can store any picklable value and, like every pickle, can run code when read: safe only for
a store that nobody else can write to.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
from typing import Any

import numpy as np

MAGIC = b"MG1"
SAFE, PICKLE = "safe", "pickle"
SERIALIZERS = (SAFE, PICKLE)
_SERIALIZER_BYTE = {SAFE: b"s", PICKLE: b"p"}
_CHECKSUM_TAG = b"memograd-record-1\x00"
CHECKSUM_BYTES = 32
MAX_DEPTH = 100
"""Values nested deeper than this are refused when stored, and such records when read."""

_sha256 = hashlib.sha256
_LENGTH = struct.Struct(">Q")
_FLOAT = struct.Struct(">d")
_COMPLEX = struct.Struct(">dd")
_NPY_MAGIC = b"\x93NUMPY"
_SAFE_TYPES = (
    "None, bool, int, float, complex, str, bytes, tuples, lists and dicts of these, NumPy arrays "
    "and scalars (not of object dtype), and memograd Tensors"
)


class CorruptRecord(ValueError):
    """A record that fails its checksum or cannot be decoded: recompute, never return it."""


class Unstorable(TypeError):
    """A value the safe encoding refuses; ``path`` says where inside the value it is."""

    def __init__(self, path: str, type_name: str, reason: str = "") -> None:
        super().__init__(path, type_name, reason)
        self.path, self.type_name, self.reason = path, type_name, reason


def header(serializer: str, version: str) -> bytes:
    """The record's start for this serializer and code version (a store can compare it alone)."""
    text = version.encode("utf-8", "surrogatepass")
    return MAGIC + _SERIALIZER_BYTE[serializer] + struct.pack(">H", len(text)) + text


def pack(key: bytes, head: bytes, payload: bytes) -> bytes:
    """A record: ``head`` (from :func:`header`), the checksum, the payload."""
    return b"".join((head, _checksum(key, head, payload), payload))


def unpack(key: bytes, head: bytes, record: bytes) -> memoryview:
    """The payload of ``record`` if it starts with ``head`` and its checksum holds.

    :class:`CorruptRecord` when the checksum fails. A record of another code version or
    serializer is not corrupt, only not this function's to read: ``LookupError``.
    """
    if not record.startswith(head):
        raise LookupError("another code version or serializer")
    start = len(head) + CHECKSUM_BYTES
    payload = memoryview(record)[start:]
    if len(record) < start or _checksum(key, head, payload) != record[len(head) : start]:
        raise CorruptRecord("the record fails its checksum")
    return payload


def _checksum(key: bytes, head: bytes, payload: bytes | memoryview) -> bytes:
    digest = _sha256(_CHECKSUM_TAG + _LENGTH.pack(len(key)) + key + head)
    digest.update(payload)
    return digest.digest()


# -- payloads ------------------------------------------------------------------------------


def dumps(value: Any, serializer: str) -> bytes:
    """The payload of ``value``; :class:`Unstorable` (a TypeError) if the safe encoding refuses."""
    if serializer == PICKLE:
        return pickle.dumps(value, protocol=5)
    parts: list[bytes] = []
    _encode(value, parts, 0)
    return b"".join(parts)


def loads(payload: bytes | memoryview, serializer: str) -> Any:
    """The value of a payload (checksummed already); :class:`CorruptRecord` if malformed."""
    if serializer == PICKLE:
        try:
            return pickle.loads(payload)
        except Exception as error:  # noqa: BLE001 - any failure of a checksummed pickle is corruption
            raise CorruptRecord(f"the pickle cannot be read: {error}") from None
    payload = memoryview(payload)
    try:
        value, end = _decode(payload, 0, 0)
    except CorruptRecord:
        raise
    except (ValueError, TypeError, struct.error, IndexError, OverflowError) as error:
        raise CorruptRecord(f"malformed payload: {error}") from None
    if end != len(payload):
        raise CorruptRecord("trailing bytes after the value")
    return value


def refusal_message(error: Unstorable, name: str) -> str:
    """The TypeError text for a result the safe encoding cannot store."""
    where = f" at result{error.path}" if error.path else ""
    reason = f" ({error.reason})" if error.reason else ""
    return (
        f"memoize: cannot store the result of {name}() in its store: a value of type "
        f"{error.type_name}{where}{reason}. Without pickle a store keeps {_SAFE_TYPES}; "
        'return those, or pass serializer="pickle" to memoize, which can run code when an '
        "entry is read: use it only with a store nobody else can write to"
    )


def _encode(value: Any, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Unstorable("", type(value).__qualname__, f"nested deeper than {MAX_DEPTH}")
    kind = type(value)
    if value is None:
        out.append(b"N")
    elif kind is bool:
        out.append(b"T" if value else b"F")
    elif kind is int:
        data = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
        out += (b"i", _LENGTH.pack(len(data)), data)
    elif kind is float:
        out += (b"f", _FLOAT.pack(value))
    elif kind is complex:
        out += (b"c", _COMPLEX.pack(value.real, value.imag))
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out += (b"s", _LENGTH.pack(len(data)), data)
    elif kind is bytes:
        out += (b"b", _LENGTH.pack(len(value)), value)
    elif kind is tuple or kind is list or kind is dict:
        out += (b"t" if kind is tuple else b"l" if kind is list else b"d", _LENGTH.pack(len(value)))
        items = value.items() if kind is dict else enumerate(value)
        for index, item in items:
            try:
                if kind is dict:
                    _encode(index, out, depth + 1)
                _encode(item, out, depth + 1)
            except Unstorable as error:
                raise Unstorable(
                    f"[{index!r}]{error.path}", error.type_name, error.reason
                ) from None
    elif kind is np.ndarray:
        out += (b"a", *_npy(value))
    elif isinstance(value, np.generic) and type(value).__module__ == "numpy":
        out += (b"g", *_npy(np.asarray(value)))
    elif kind.__module__ == "memograd.engine.tensor" and kind.__qualname__ == "Tensor":
        out += (b"G", b"\x01" if value.requires_grad else b"\x00", *_npy(value.data))
    else:
        raise Unstorable("", kind.__qualname__)


def _npy(array: np.ndarray) -> tuple[bytes, bytes]:
    if array.dtype.hasobject:
        raise Unstorable("", "ndarray", "of object dtype: its elements would need pickle")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    return _LENGTH.pack(len(data)), data


_HEADERS: dict[bytes, tuple[np.dtype, bool, tuple[int, ...]]] = {}
"""Parsed .npy headers by their bytes: a hit decodes an array without parsing its header again."""


_N, _T, _F, _INT, _FLOAT_TAG, _COMPLEX_TAG = b"NTFifc"
_STR, _BYTES, _ARRAY, _SCALAR, _TENSOR = b"sbagG"
_TUPLE, _LIST, _DICT = b"tld"


def _decode(view: memoryview, at: int, depth: int) -> tuple[Any, int]:
    """The value starting at ``at``, and where the next one starts. Lengths are checked
    against the record before anything is allocated from them."""
    if depth > MAX_DEPTH:
        raise CorruptRecord(f"nested deeper than {MAX_DEPTH}")
    tag = view[at]
    at += 1
    if tag in _CHUNKED:
        (length,) = _LENGTH.unpack_from(view, at)
        at += 8
        end = at + length
        if end > len(view):
            raise CorruptRecord("a value longer than the record")
        data = view[at:end]
        if tag == _ARRAY:
            return _read_npy(data), end
        if tag == _STR:
            return str(data, "utf-8", "surrogatepass"), end
        if tag == _INT:
            return int.from_bytes(data, "big", signed=True), end
        if tag == _BYTES:
            return data.tobytes(), end
        return _read_npy(data)[()], end  # a NumPy scalar
    if tag == _FLOAT_TAG:
        return _FLOAT.unpack_from(view, at)[0], at + 8
    if tag == _N:
        return None, at
    if tag == _T or tag == _F:
        return tag == _T, at
    if tag == _COMPLEX_TAG:
        real, imag = _COMPLEX.unpack_from(view, at)
        return complex(real, imag), at + 16
    if tag == _TENSOR:
        requires_grad = view[at] == 1
        (length,) = _LENGTH.unpack_from(view, at + 1)
        at += 9
        if at + length > len(view):
            raise CorruptRecord("a value longer than the record")
        from memograd.engine.tensor import Tensor  # only when a Tensor was stored

        array = _read_npy(view[at : at + length], copy=False)
        return Tensor(array, requires_grad=requires_grad), at + length
    if tag == _TUPLE or tag == _LIST or tag == _DICT:
        (count,) = _LENGTH.unpack_from(view, at)
        at += 8
        if count > len(view) - at:
            raise CorruptRecord("a container longer than the record")
        if tag == _DICT:
            result: Any = {}
            for _ in range(count):
                item_key, at = _decode(view, at, depth + 1)
                result[item_key], at = _decode(view, at, depth + 1)
            return result, at
        items = []
        for _ in range(count):
            item, at = _decode(view, at, depth + 1)
            items.append(item)
        return (tuple(items) if tag == _TUPLE else items), at
    raise CorruptRecord(f"unknown tag {tag}")


_CHUNKED = frozenset((_ARRAY, _STR, _INT, _BYTES, _SCALAR))


def _read_npy(data: memoryview, copy: bool = True) -> np.ndarray:
    """An array from .npy bytes (writable and owning its memory if ``copy``); never unpickles."""
    if len(data) < 10 or data[:6] != _NPY_MAGIC:
        raise CorruptRecord("an array without the .npy magic")
    major = data[6]
    if major not in (1, 2):  # 3.0 (UTF-8 field names) is rare: NumPy's reader, unhurried
        array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        return array
    size_format, size_bytes = ("<H", 2) if major == 1 else ("<I", 4)
    (header_length,) = struct.unpack_from(size_format, data, 8)
    start = 8 + size_bytes + header_length
    header_bytes = data[:start].tobytes()
    parsed = _HEADERS.get(header_bytes)
    if parsed is None:
        stream = io.BytesIO(header_bytes)
        np.lib.format.read_magic(stream)
        read = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read(stream)
        if dtype.hasobject:
            raise CorruptRecord("an array of object dtype")
        if len(_HEADERS) >= 256:
            _HEADERS.clear()
        parsed = _HEADERS[header_bytes] = (dtype, fortran, shape)
    dtype, fortran, shape = parsed
    count = 1
    for n in shape:
        count *= n
    if len(data) - start != count * dtype.itemsize:
        raise CorruptRecord("an array whose bytes do not match its header")
    # A copy into a bytearray: the array is writable and owns its memory, not the record's.
    flat = np.frombuffer(bytearray(data[start:]) if copy else data[start:], dtype=dtype)
    if len(shape) == 1:
        return flat
    return flat.reshape(shape, order="F" if fortran else "C")
