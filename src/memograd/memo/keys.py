"""Cache keys the C store cannot build itself.

The store keys hashable arguments in C. What lands here: arguments that cannot be hashed (keyed
by content), the result of a ``key=`` function, and the key that identifies a computation in
flight, which must be equal exactly when the store's own keys are.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from memograd.memo.options import Describe, Options


class _Tag:
    """A private marker inside content keys.

    A list ``[1, 2]`` is keyed as ``(_LIST, (1, 2))``. The tag is an object no caller can pass,
    so that key can never equal the key of an ordinary hashable argument such as the tuple
    ``("list", (1, 2))``.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<memoize {self.name}>"


_CONTENT = _Tag("content-keyed call")
_USER_KEY = _Tag("key= call")
_KEYWORDS = _Tag("keywords")
_LIST = _Tag("list")
_TUPLE = _Tag("tuple")
_DICT = _Tag("dict")
_SET = _Tag("set")
_BYTEARRAY = _Tag("bytearray")
_NDARRAY = _Tag("ndarray")

_KEYABLE_KINDS = "a list, tuple, dict, set, bytearray or NumPy array"


class _Unkeyable(Exception):
    """Raised inside key building; turned into a TypeError that names the argument."""

    def __init__(self, value: object) -> None:
        super().__init__()
        self.type_name = type(value).__qualname__
        self.path: list[str] = []


def content_key(value: object, typed: bool) -> Hashable:
    """A hashable key equal for equal contents.

    Hashable values are their own key, so ``[1]`` and ``[1.0]`` share one, as Python equality
    says (``typed=True`` adds the type and separates them). Containers are keyed by
    their contents, recursively, with a tag for their kind: a list never equals a tuple, as in
    Python. Arrays are keyed by dtype, shape and bytes: equal float64 arrays share a key, a float32
    and a float64 array never do, and NaNs in the same places compare equal.
    """
    try:
        hash(value)
    except TypeError:
        pass
    else:
        return (type(value), value) if typed else value
    kind = type(value) if typed else None
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:  # the bytes would be pointers: key the objects themselves
            data: Hashable = _sequence_key(value.reshape(-1), typed)
        else:
            data = np.ascontiguousarray(value).tobytes()
        return (_NDARRAY, type(value), value.dtype, value.shape, data)
    if isinstance(value, dict):
        items = []
        for item_key, item in value.items():
            try:
                items.append((content_key(item_key, typed), content_key(item, typed)))
            except _Unkeyable as error:
                error.path.insert(0, f"[{item_key!r}]")
                raise
        return (_DICT, kind, frozenset(items))
    if isinstance(value, set):  # elements of a set are hashable by construction
        return (_SET, kind, frozenset(content_key(item, typed) for item in value))
    if isinstance(value, list):
        return (_LIST, kind, _sequence_key(value, typed))
    if isinstance(value, tuple):  # a tuple is unhashable only when it holds something unhashable
        return (_TUPLE, kind, _sequence_key(value, typed))
    if isinstance(value, bytearray):
        return (_BYTEARRAY, kind, bytes(value))
    raise _Unkeyable(value)


def _sequence_key(items: Any, typed: bool) -> tuple[Hashable, ...]:
    parts = []
    for index, item in enumerate(items):
        try:
            parts.append(content_key(item, typed))
        except _Unkeyable as error:
            error.path.insert(0, f"[{index}]")
            raise
    return tuple(parts)


def _is_content(key: Hashable) -> bool:
    """Was this argument key built from contents (the argument itself was unhashable)?"""
    return (
        isinstance(key, tuple)
        and len(key) > 0
        and isinstance(key[0], _Tag)
        and key[0] is not _KEYWORDS
    )


def sorted_keywords(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``f(a=1, b=2)`` and ``f(b=2, a=1)`` are one call: give ``**kwargs`` one order."""
    return kwargs if len(kwargs) < 2 else dict(sorted(kwargs.items()))


def call_content_key(
    describe: Describe, typed: bool, args: tuple, kwargs: dict[str, Any]
) -> Hashable | None:
    """The key of a call the store could not hash, or None if every argument hashes.

    None means the store's TypeError did not come from hashing (but from the user's function or
    an ``__eq__``): the caller re-raises it untouched. An argument that cannot be keyed raises a
    TypeError naming it.
    """
    parts: list[Hashable] = []
    unhashable = False
    for index, value in enumerate(args):
        parts.append(_argument_key(describe, describe.positional(index), value, typed))
        unhashable = unhashable or _is_content(parts[-1])
    for name, value in kwargs.items():
        parts.append((_KEYWORDS, name, _argument_key(describe, name, value, typed)))
        unhashable = unhashable or _is_content(parts[-1][2])
    return (_CONTENT, tuple(parts)) if unhashable else None


def _argument_key(describe: Describe, name: str, value: object, typed: bool) -> Hashable:
    try:
        return content_key(value, typed)
    except _Unkeyable as error:
        raise TypeError(
            f"memoize: cannot key argument '{name}{''.join(error.path)}' of "
            f"{describe.name}(): "
            f"{'an element' if error.path else 'a value'} of type {error.type_name} is "
            f"unhashable and is not {_KEYABLE_KINDS}; pass key=... to memoize to build "
            "the cache key yourself"
        ) from None


def user_key(describe: Describe, options: Options, args: tuple, kwargs: dict[str, Any]) -> Hashable:
    """``key=`` was given: the user's function names the entry, keyed by content in turn."""
    user = options.key(*args, **kwargs)  # type: ignore[misc]
    try:
        content = content_key(user, options.typed)
    except _Unkeyable as error:
        raise TypeError(
            f"memoize: the key function of {describe.name}() returned a "
            f"{type(user).__qualname__} holding a {error.type_name} at "
            f"key{''.join(error.path)}, which cannot be keyed: return something hashable"
        ) from None
    return (_USER_KEY, content)


class Carrier:
    """Stands in the store for a call it cannot hash: equal by ``key``, carrying the arguments.

    Content-keyed calls and ``key=`` calls reach the store as ``store(carrier)``. The miss handler
    takes the real arguments from it; the caller drops them afterwards, since the store may keep
    this very object as its key.
    """

    __slots__ = ("key", "hash", "args", "kwargs")

    def __init__(self, key: Hashable, args: tuple, kwargs: dict) -> None:
        self.key = key
        self.hash = hash(key)
        self.args: tuple | None = args
        self.kwargs: dict | None = kwargs

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        if type(other) is not Carrier:
            return NotImplemented
        return self.hash == other.hash and self.key == other.key


def pending_key(args: tuple, kwargs: dict, typed: bool) -> Hashable:
    """The key of a computation in flight: equal exactly when the store's own keys are equal."""
    if len(args) == 1 and not kwargs and type(args[0]) is Carrier:
        return args[0]
    key: Hashable = (args, tuple(kwargs.items())) if kwargs else args
    if typed:
        key = (key, tuple(map(type, args)), tuple(map(type, kwargs.values())))
    return key
