"""Keys that mean the same in every process, on every machine, under every Python version.

The in-memory cache keys calls with Python's own hashes, which are randomized per process
(``hash("a")`` changes from run to run). A store shared across processes and runs needs a key
made of bytes: here a call's arguments are written in one canonical encoding and the result is
hashed with SHA-256, together with the function's identity (its module and qualified name).

The encoding follows the in-memory cache's notion of equal keys where that notion is about
values: numbers by value unless ``typed`` (``f(1)``, ``f(1.0)`` and ``f(True)`` are one entry, as
``1 == 1.0 == True``), containers by content and kind (a list never equals a tuple), dicts and
sets in any order, NumPy arrays by dtype, shape and bytes. It departs where Python's notion is
about objects: every NaN is one key (Python's NaN equals only itself), and only values with a
stable content can be keys; anything else is refused naming the argument, with ``key=`` as the
way out. An array of more than ``INLINE_BYTES`` is represented by its own SHA-256 digest, hashed
straight from its memory (no copy when it is contiguous), so a big argument is read once a call.

Beside the key, each stored value is labelled with a fingerprint of the function's code
(``fingerprint``): the text of its source, so that editing the function (or its ``key=``
function) makes its old entries misses, as joblib does; ``version=`` pins it by hand.
"""

from __future__ import annotations

import enum
import hashlib
import inspect
import math
import pathlib
import struct
import sys
import textwrap
import types
from collections.abc import Callable
from typing import Any

import numpy as np

KEY_FORMAT = b"memograd-key-1\x00"
"""Starts every hashed key: a new encoding gets a new tag, so old and new keys never meet."""

INLINE_BYTES = 1 << 16
"""Arrays up to this size are encoded with their bytes; larger ones by their SHA-256 digest."""

MAX_DEPTH = 100
"""Containers nested deeper than this (or holding themselves) are refused."""

_PACK_LENGTH = struct.Struct(">Q").pack
_PACK_WORD = struct.Struct(">q").pack
_PACK_FLOAT = struct.Struct(">d").pack
_sha256 = hashlib.sha256
_NAN = _PACK_FLOAT(math.nan)
_KEYABLE = (
    "None, bool, int, float, complex, str, bytes, bytearray, tuples, lists, dicts, sets, NumPy "
    "arrays and scalars, memograd Tensors, enum members and paths"
)


class UnkeyableError(TypeError):
    """A value with no encoding that stays the same across processes; ``path`` says where."""

    def __init__(self, path: str, type_name: str, reason: str = "") -> None:
        super().__init__(path, type_name, reason)
        self.path = path
        self.type_name = type_name
        self.reason = reason


def function_identity(fn: Callable[..., Any]) -> str:
    """``module:qualname``: what names a function across processes (``hash``/``id`` do not)."""
    module = getattr(fn, "__module__", None) or "?"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return f"{module}:{name}"


def key_prefix(identity: str) -> bytes:
    """What every key of one function starts with: the format and the function's identity."""
    return KEY_FORMAT + _text(identity)


def call_digest(prefix: bytes, args: tuple, kwargs: dict[str, Any], typed: bool) -> bytes:
    """The SHA-256 key of a call: ``key_prefix``, the arguments, then keywords by name."""
    parts = [prefix, b"A", _PACK_LENGTH(len(args))]
    for value in args:
        parts.append(encode(value, typed))
    if kwargs:
        parts.append(_PACK_LENGTH(len(kwargs)))
        for name in sorted(kwargs):
            parts += (_text(name), encode(kwargs[name], typed))
    return _sha256(b"".join(parts)).digest()


def key_digest(prefix: bytes, key: Any, typed: bool) -> bytes:
    """The SHA-256 key of a ``key=`` function's result (tagged apart from plain arguments)."""
    return _sha256(b"".join((prefix, b"K", encode(key, typed)))).digest()


def encode(value: Any, typed: bool, depth: int = 0) -> bytes:
    """The canonical bytes of one value: equal keys give equal bytes, on any machine.

    Raises :class:`UnkeyableError` (a TypeError) for a value without a stable encoding.
    """
    if depth > MAX_DEPTH:
        raise UnkeyableError("", type(value).__qualname__, f"nested deeper than {MAX_DEPTH}")
    kind = type(value)
    if kind is int and not typed:
        return b"i" + _integer(value)
    if value is None:
        return b"N"
    if kind is str:
        return b"s" + _text(value)
    if kind is float or kind is bool or kind is complex or kind is int:
        return _number(value, typed)
    if kind is bytes:
        return b"b" + _PACK_LENGTH(len(value)) + value
    if kind is tuple or kind is list:
        parts = [b"t" if kind is tuple else b"l", _PACK_LENGTH(len(value))]
        for index, item in enumerate(value):
            parts.append(_child(item, typed, depth, index, "[{!r}]"))
        return b"".join(parts)
    if kind is dict:
        items = sorted(
            _child(k, typed, depth, k, "[{!r}] (the key)") + _child(v, typed, depth, k, "[{!r}]")
            for k, v in value.items()
        )
        return b"".join([b"d", _PACK_LENGTH(len(items)), *items])
    if kind is set or kind is frozenset:
        tag = b"z" if typed and kind is frozenset else b"S"
        members = sorted(_child(item, typed, depth, item, "{{{!r}}}") for item in value)
        return b"".join([tag, _PACK_LENGTH(len(members)), *members])
    if kind is bytearray:
        return b"y" + _PACK_LENGTH(len(value)) + bytes(value)
    if kind is np.ndarray:
        return _array(value, typed, depth)
    if isinstance(value, np.generic):
        return _numpy_scalar(value, typed)
    if isinstance(value, enum.Enum):
        cls = type(value)
        return b"e" + _text(f"{cls.__module__}:{cls.__qualname__}") + _text(value.name)
    if isinstance(value, pathlib.PurePath):
        flavour = "windows" if isinstance(value, pathlib.PureWindowsPath) else "posix"
        return b"p" + _text(flavour) + _text(str(value))
    if kind.__module__ == "memograd.engine.tensor" and kind.__qualname__ == "Tensor":
        flag = b"\x01" if value.requires_grad else b"\x00"
        return b"T" + flag + _array(value.data, typed, depth)
    raise UnkeyableError("", kind.__qualname__)


def _child(value: Any, typed: bool, depth: int, where: Any, step: str) -> bytes:
    """``encode`` one level down; a refusal's path gets ``step`` formatted with ``where``."""
    try:
        return encode(value, typed, depth + 1)
    except UnkeyableError as error:
        path = step.format(where) + error.path
        raise UnkeyableError(path, error.type_name, error.reason) from None


def _text(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return _PACK_LENGTH(len(data)) + data


def _integer(number: int) -> bytes:
    """A whole number: ``0`` and 8 bytes when it fits in a signed word (the usual case), else
    ``1``, its length and its two's complement bytes. One number always takes the same form."""
    if -0x8000000000000000 <= number <= 0x7FFFFFFFFFFFFFFF:
        return b"0" + _PACK_WORD(number)
    data = number.to_bytes((number.bit_length() + 8) // 8, "big", signed=True)
    return b"1" + _PACK_LENGTH(len(data)) + data


def _float(number: float) -> bytes:
    if number != number:  # every NaN is one key
        return _NAN
    return _PACK_FLOAT(number + 0.0)  # -0.0 == 0.0: one key


def _number(value: int | float | bool | complex, typed: bool) -> bytes:
    """Untyped: equal numbers give equal bytes (1 == 1.0 == True). Typed: the type comes first."""
    kind = type(value)
    if typed:
        if kind is complex:
            return b"C" + _float(value.real) + _float(value.imag)
        if kind is float:
            return b"F" + _float(value)
        return (b"B" if kind is bool else b"I") + _integer(int(value))
    if kind is complex:
        if value.imag != 0:
            return b"c" + _float(value.real) + _float(value.imag)
        value = value.real
    if kind is int or kind is bool:
        return b"i" + _integer(int(value))
    if math.isfinite(value) and value == int(value):
        return b"i" + _integer(int(value))
    return b"f" + _float(value)


def _numpy_scalar(value: np.generic, typed: bool) -> bytes:
    if typed:
        return b"g" + _array(np.asarray(value), typed, 0)
    if isinstance(value, np.bool_ | np.integer | np.floating | np.complexfloating):
        return _number(value.item(), typed)
    if isinstance(value, np.str_):
        return b"s" + _text(str(value))
    if isinstance(value, np.bytes_):
        return b"b" + _PACK_LENGTH(len(value)) + bytes(value)
    return b"g" + _array(np.asarray(value), typed, 0)


_DTYPE_HEADS: dict[np.dtype, bytes] = {}
"""``b"a"`` and the dtype's name, per little-endian dtype: an array's key starts with it."""
_SHAPES = [struct.Struct(f">{n + 1}Q") for n in range(33)]  # ndim, then each length


def _array(array: np.ndarray, typed: bool, depth: int) -> bytes:
    """dtype (little-endian), shape, then the bytes in C order, or their digest when large."""
    dtype = array.dtype
    head = _DTYPE_HEADS.get(dtype)
    if head is None:
        if dtype.hasobject:
            if dtype != np.dtype(object):
                raise UnkeyableError("", f"ndarray of {dtype}", "a structured dtype of objects")
            flat = enumerate(array.reshape(-1))
            items = [_child(item, typed, depth, index, "[{!r}]") for index, item in flat]
            return b"".join([b"o", _SHAPES[array.ndim].pack(array.ndim, *array.shape), *items])
        if dtype.byteorder == ">" or (dtype.byteorder == "=" and sys.byteorder == "big"):
            array = array.astype(dtype.newbyteorder("<"))
            dtype = array.dtype
        head = _DTYPE_HEADS.get(dtype)
        if head is None:
            name = dtype.str if dtype.fields is None else str(dtype.descr)
            head = _DTYPE_HEADS[dtype] = b"a" + _text(name)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    head += _SHAPES[array.ndim].pack(array.ndim, *array.shape)
    if array.nbytes <= INLINE_BYTES:
        return head + b"=" + array.tobytes()
    return head + b"#" + hashlib.sha256(memoryview(array).cast("B")).digest()


def describe_unkeyable(error: UnkeyableError, what: str, name: str) -> str:
    """The message naming what cannot be keyed (``what``, such as ``argument 'x[1]'``)."""
    reason = f" ({error.reason})" if error.reason else ""
    return (
        f"memoize: cannot key {what} of {name}() for a store shared across processes: "
        f"a value of type {error.type_name} has no encoding that stays the same from one process "
        f"to the next{reason}; a store keys {_KEYABLE}: pass key=... returning such values"
    )


# -- the function's code ---------------------------------------------------------------------


def fingerprint(fn: Callable[..., Any], key: Callable[..., Any] | None, version: Any) -> str:
    """What labels the entries of this code of ``fn``: editing it makes its old entries misses.

    ``version`` given: ``"v:<version>"``, as pinned by hand. Otherwise a digest of, for ``fn``
    and its ``key=`` function (a new key function maps arguments to entries differently):

    * the source text, decorator lines included (a decorator can change the result), with
      indentation and trailing blanks ignored; without source (a function made by ``exec``),
      the code objects' own contents, which hold only within one Python version;
    * the variables it takes from an enclosing function (two closures of one factory must not
      share entries): data by its canonical encoding, functions by their source. A variable
      holding anything else is refused (TypeError), since its value cannot be told apart;
    * the module-level names it uses: data (a constant such as ``N_STEPS = 1000``) by its
      encoding, functions by their source, classes and modules by name; other objects are not
      seen (``version=`` is the way to say they changed).

    Taken at the first call, when the module's later definitions exist too.
    """
    if version is not None:
        return f"v:{version}"
    digest = hashlib.sha256()
    for part in (fn, key):
        if part is not None:
            digest.update(_code_text(part))
            digest.update(b"\x00")
            digest.update(_surroundings(part))
            digest.update(b"\x00")
    return "src:" + digest.hexdigest()[:32]


def _surroundings(fn: Callable[..., Any]) -> bytes:
    """The closure's variables and the module-level names the code uses, as bytes."""
    inner = inspect.unwrap(fn)
    code = getattr(inner, "__code__", None)
    if code is None:
        return b""
    parts = []
    for name, cell in zip(code.co_freevars, inner.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # not bound yet: the decorated function's own name, say
            continue
        try:
            parts.append(b"c" + _text(name) + _named_value(value))
        except UnkeyableError as error:
            raise TypeError(
                f"memoize: {function_identity(fn)}() uses {name!r} from an enclosing function, "
                f"a {error.type_name} whose content a store cannot fingerprint, so calls of "
                "two such closures could share entries; pass it as an argument, or pass "
                "version= (a label you change whenever it changes)"
            ) from None
    module = getattr(inner, "__globals__", {})
    for name in sorted(_names(code)):
        if name in module:
            try:
                parts.append(b"g" + _text(name) + _named_value(module[name]))
            except UnkeyableError:
                continue  # an object: not seen (documented: version= says it changed)
    return b"".join(parts)


def _names(code: Any) -> set[str]:
    """Every global name the code (and the functions and comprehensions inside it) uses."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _names(constant)
    return names


def _named_value(value: Any) -> bytes:
    if isinstance(value, types.ModuleType):
        return b"m" + _text(value.__name__)
    if isinstance(value, type):
        return b"k" + _text(f"{value.__module__}:{value.__qualname__}")
    if isinstance(value, types.FunctionType) or hasattr(value, "__wrapped__"):
        return b"f" + _text(function_identity(value)) + _code_text(value)
    if callable(value) and not isinstance(value, np.ndarray | np.generic):
        return b"k" + _text(function_identity(value))  # a builtin or a callable object: by name
    return encode(value, True)


def _code_text(fn: Callable[..., Any]) -> bytes:
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(inspect.unwrap(fn), "__code__", None)
        if code is None:
            return f"no source: {function_identity(fn)}".encode()
        major, minor = sys.version_info[:2]
        return f"python {major}.{minor}: ".encode() + _code_contents(code)
    lines = textwrap.dedent(source).splitlines()
    return "\n".join(line.rstrip() for line in lines).strip().encode("utf-8", "surrogatepass")


def _code_contents(code: Any) -> bytes:
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    for constant in code.co_consts:
        is_code = hasattr(constant, "co_code")
        parts.append(_code_contents(constant) if is_code else repr(constant).encode())
    return b"\x00".join(parts)
