"""Cache keys the C store cannot build from the arguments themselves.

The store keys hashable arguments in C. What lands here: calls with an argument that cannot be
hashed (keyed by content), and ``key=`` results that cannot be hashed. Nothing here hashes a
value to find out whether it can: the store hashes the finished key once, and only when that
fails does ``unkeyable`` go looking for the culprit, to name it in the error.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from memograd.memo.options import Describe

# ``sorted_keywords`` runs on every call of a function taking ``**kwargs``: it uses these, bound
# when memograd is imported, because a user may later install a memoized builtin in ``builtins``
# (``builtins.len = memoize(len)``) and a cache must not call back into it.
_dict, _len, _sorted = dict, len, sorted


class _Tag:
    """A private marker inside content keys.

    A list ``[1, 2]`` is keyed as ``(_LIST, None, (1, 2))``. The tag is an object no caller can
    pass, so that key can never equal the key of an ordinary hashable argument such as the tuple
    ``("list", None, (1, 2))``.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<memoize {self.name}>"


_CONTENT = _Tag("content-keyed call")
_KEYWORDS = _Tag("keywords")
_LIST = _Tag("list")
_TUPLE = _Tag("tuple")
_DICT = _Tag("dict")
_SET = _Tag("set")
_BYTEARRAY = _Tag("bytearray")
_NDARRAY = _Tag("ndarray")

_KEYABLE_KINDS = "a list, tuple, dict, set, bytearray or NumPy array"


def _by_content(value: object) -> bool:
    """Is ``value`` keyed by its content rather than by its own hash?

    Values whose type declares them unhashable (``__hash__ = None``: lists, dicts, sets,
    bytearrays, arrays and their subclasses, and any other such class, which ``content_key``
    then leaves for the store to refuse), and plain tuples, which are unhashable exactly when
    they hold something that is. A subclass that defines its own hash keeps it.
    """
    kind = type(value)
    return kind.__hash__ is None or (
        kind.__hash__ is tuple.__hash__ and kind.__eq__ is tuple.__eq__ and isinstance(value, tuple)
    )


def content_key(value: object, typed: bool) -> Hashable:
    """A key equal for equal contents, built without hashing the values to test them.

    Other values are their own key, so ``[1]`` and ``[1.0]`` share one, as Python equality says
    (``typed=True`` adds the type and separates them). Containers are keyed by their contents,
    recursively, with a tag for their kind: a list never equals a tuple, as in Python. Arrays are
    keyed by dtype, shape and bytes: equal float64 arrays share a key, a float32 and a float64
    array never do, and NaNs in the same places compare equal. A value that is neither hashable
    nor such a container stays in the key as it is, and hashing the key fails on it. (Dict and set
    contents are hashed once, as their frozensets are built; the store reuses those hashes.)
    """
    if not _by_content(value):
        return (type(value), value) if typed else value
    kind = type(value) if typed else None
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:  # the bytes would be pointers: key the objects themselves
            data: Hashable = tuple(content_key(item, typed) for item in value.reshape(-1))
        else:
            data = np.ascontiguousarray(value).tobytes()
        return (_NDARRAY, type(value), value.dtype, value.shape, data)
    if isinstance(value, dict):
        items = frozenset(
            (content_key(item_key, typed), content_key(item, typed))
            for item_key, item in value.items()
        )
        return (_DICT, kind, items)
    if isinstance(value, set | frozenset):  # elements of a set are hashable by construction
        return (_SET, kind, frozenset(content_key(item, typed) for item in value))
    if isinstance(value, list):
        return (_LIST, kind, tuple(content_key(item, typed) for item in value))
    if isinstance(value, tuple):
        return (_TUPLE, kind, tuple(content_key(item, typed) for item in value))
    if isinstance(value, bytearray):
        return (_BYTEARRAY, kind, bytes(value))
    return (type(value), value) if typed else value  # unhashable, and not ours to key


def unkeyable(value: object) -> tuple[str, str] | None:
    """Where ``value`` holds something that neither hashes nor is keyed by content.

    Returns the path inside ``value`` (``"[1]['w']"``, or ``""`` for the value itself) and the
    culprit's type name, or None. Runs only after the store failed to hash a key, so the hash
    calls it makes cost nothing on a call that works.
    """
    if isinstance(value, bytearray):
        return None  # keyed by its bytes
    if not _by_content(value):
        try:
            hash(value)
        except TypeError:
            return "", type(value).__qualname__
        return None
    if isinstance(value, np.ndarray):
        if not value.dtype.hasobject:
            return None
        children: list[tuple[str, object]] = [
            (f"[{index}]", item) for index, item in enumerate(value.reshape(-1))
        ]
    elif isinstance(value, dict):
        children = [(f"[{item_key!r}]", item) for item_key, item in value.items()]
        children += [(f"[{item_key!r}] (the key)", item_key) for item_key in value]
    elif isinstance(value, set | frozenset):
        return None  # elements of a set hash by construction
    elif isinstance(value, list | tuple):
        children = [(f"[{index}]", item) for index, item in enumerate(value)]
    else:
        return "", type(value).__qualname__
    for path, child in children:
        found = unkeyable(child)
        if found is not None:
            return path + found[0], found[1]
    return None


def sorted_keywords(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``f(a=1, b=2)`` and ``f(b=2, a=1)`` are one call: give ``**kwargs`` one order."""
    return kwargs if _len(kwargs) < 2 else _dict(_sorted(kwargs.items()))


def call_content_key(typed: bool, args: tuple, kwargs: dict[str, Any]) -> Hashable | None:
    """The key of a call the store could not hash, or None if no argument is a container.

    None means the store's TypeError came from an argument that is neither hashable nor a
    container memoize keys by content (or from an ``__eq__``): ``explain_unhashable`` says which.
    """
    parts = [content_key(value, typed) for value in args]
    parts += [(_KEYWORDS, name, content_key(value, typed)) for name, value in kwargs.items()]
    found = any(_by_content(value) for value in args) or any(
        _by_content(value) for value in kwargs.values()
    )
    return (_CONTENT, tuple(parts)) if found else None


def explain_unhashable(describe: Describe, args: tuple, kwargs: dict[str, Any]) -> None:
    """Raise a TypeError naming the argument that cannot be keyed, if there is one."""
    named = [(describe.positional(index), value) for index, value in enumerate(args)]
    named += list(kwargs.items())
    for name, value in named:
        found = unkeyable(value)
        if found is not None:
            path, type_name = found
            raise TypeError(
                f"memoize: cannot key argument '{name}{path}' of {describe.name}(): "
                f"{'an element' if path else 'a value'} of type {type_name} is unhashable and "
                f"is not {_KEYABLE_KINDS}; pass key=... to memoize to build the cache key "
                "yourself"
            ) from None


def explain_unhashable_key(describe: Describe, user_key: object) -> None:
    """Raise a TypeError naming what a ``key=`` function returned that cannot be keyed."""
    found = unkeyable(user_key)
    if found is not None:
        path, type_name = found
        raise TypeError(
            f"memoize: the key function of {describe.name}() returned a "
            f"{type(user_key).__qualname__} holding a {type_name} at key{path}, which cannot "
            "be keyed: return something hashable"
        ) from None
