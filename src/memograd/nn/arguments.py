"""A module's constructor arguments, recorded as plain values when it is built.

A saved model must be rebuilt from data alone: the file names a class and gives the arguments of
its constructor, and loading calls that constructor. Built-in layers describe their arguments
themselves (``config()``); a user's own ``Module`` subclass need not: when its class is created,
:meth:`Module.__init_subclass__` wraps its ``__init__`` with :func:`record_arguments`, which keeps
the arguments of each construction, copied as JSON values (None, booleans, numbers, strings,
and lists and string-keyed dicts of them; a tuple becomes a list, a NumPy scalar a number and a
dtype its name). An argument that is not such a value (another Module, an array, a Generator) is
recorded as the reason the model cannot be saved this way, which ``save`` reports by name.

Only the outermost constructor records: ``super().__init__(...)`` calls inside it do not
overwrite what the caller passed.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

RECORD = "_constructor_arguments"
"""The instance attribute holding ``(config, problem)``: a dict, or None and the reason."""

_PARAMETER_KINDS = inspect.Parameter


class NotPlain(ValueError):
    """A constructor argument that a model file cannot hold."""


def plain(value: Any, where: str) -> Any:
    """A JSON copy of ``value``, or NotPlain naming ``where`` and what was found there."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise NotPlain(f"{where} is {value!r}, which JSON cannot hold")
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, list | tuple):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotPlain(f"{where} has the key {key!r}, which is not a string")
            copied[key] = plain(item, f"{where}[{key!r}]")
        return copied
    raise NotPlain(
        f"{where} is a {type(value).__name__}, not a plain value (None, a bool, a number, a "
        "string, or a list or dict of them)"
    )


def record_arguments(cls: type) -> None:
    """Wrap ``cls.__init__`` so that each instance keeps the arguments it was built with."""
    original = cls.__dict__["__init__"]
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if type(self).__init__ is __init__:  # the outermost constructor, not a super() call
            object.__setattr__(self, RECORD, _snapshot(signature, self, args, kwargs))
        original(self, *args, **kwargs)

    cls.__init__ = __init__


def _snapshot(
    signature: inspect.Signature, instance: Any, args: tuple, kwargs: dict
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        bound = signature.bind(instance, *args, **kwargs)
    except TypeError:
        return None, None  # the constructor itself raises the error
    passed = dict(bound.arguments)
    config: dict[str, Any] = {}
    for position, (name, parameter) in enumerate(signature.parameters.items()):
        if position == 0:  # self
            continue
        if name in passed:
            try:
                config[name] = plain(passed[name], f"argument {name!r}")
            except NotPlain as exc:
                return None, str(exc)
        elif parameter.default is not _PARAMETER_KINDS.empty:
            # A default that is plain is kept, so that the file holds the whole construction.
            try:
                config[name] = plain(parameter.default, name)
            except NotPlain:
                pass
    return config, None


def call_with(constructor: Callable[..., Any], config: Mapping[str, Any]) -> Any:
    """Call ``constructor`` with a recorded ``config``, positional-only and ``*args`` in place."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    remaining = dict(config)
    for name, parameter in inspect.signature(constructor).parameters.items():
        if name not in remaining:
            continue
        value = remaining.pop(name)
        if parameter.kind is _PARAMETER_KINDS.VAR_POSITIONAL:
            if not isinstance(value, list):
                raise TypeError(f"*{name} must be a list, got {type(value).__name__}")
            args.extend(value)
        elif parameter.kind is _PARAMETER_KINDS.VAR_KEYWORD:
            if not isinstance(value, dict):
                raise TypeError(f"**{name} must be an object, got {type(value).__name__}")
            kwargs.update(value)
        elif parameter.kind is _PARAMETER_KINDS.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[name] = value
    if remaining:
        raise TypeError(f"unexpected argument {next(iter(remaining))!r}")
    return constructor(*args, **kwargs)
