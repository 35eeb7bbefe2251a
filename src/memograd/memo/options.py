"""The decorator's options, checked once, and the names that error messages give."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple


class Options(NamedTuple):
    """``memoize``'s options after validation: shared by every cache of one decorated function."""

    maxsize: int | None
    ttl: float | None
    typed: bool
    key: Callable[..., Hashable] | None
    timer: Callable[[], float]

    def parameters(self) -> dict[str, Any]:
        """What ``cache_parameters()`` reports: functools' two entries, plus the options in use.

        An option left at its default is not listed, so a cache made as functools would make it
        reports exactly what functools reports, and ``memoize(**f.cache_parameters())`` (or
        ``functools.lru_cache(**...)`` for a plain one) builds the same cache again.
        """
        parameters: dict[str, Any] = {"maxsize": self.maxsize, "typed": self.typed}
        if self.ttl is not None:
            parameters["ttl"] = self.ttl
            parameters["timer"] = self.timer
        if self.key is not None:
            parameters["key"] = self.key
        return parameters


def validated_options(
    maxsize: object, ttl: object, typed: object, key: object, timer: object
) -> Options:
    """Refuse a bad option at decoration time, not at the first call.

    ``maxsize`` follows functools: ``None`` keeps everything, ``0`` (or a negative number, which
    functools also reads as 0) caches nothing.
    """
    if maxsize is not None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(
                f"memoize: maxsize must be None (unbounded) or a whole number, got {maxsize!r}"
            )
        maxsize = max(maxsize, 0)
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float):
            raise TypeError(f"memoize: ttl must be a number of seconds or None, got {ttl!r}")
        if not math.isfinite(ttl) or ttl <= 0:
            raise ValueError(f"memoize: ttl must be a finite number of seconds > 0, got {ttl!r}")
        ttl = float(ttl)
    if not isinstance(typed, bool):
        raise TypeError(f"memoize: typed must be True or False, got {typed!r}")
    if key is not None and not callable(key):
        raise TypeError(f"memoize: key must be a function of the arguments, got {key!r}")
    if not callable(timer):
        raise TypeError(f"memoize: timer must be a function returning seconds, got {timer!r}")
    return Options(maxsize, ttl, typed, key, timer)  # type: ignore[arg-type]


class Describe(NamedTuple):
    """Names for error messages: the function, and its positional parameters in order."""

    name: str
    positional_names: tuple[str, ...]
    var_positional: str | None

    def positional(self, index: int) -> str:
        if index < len(self.positional_names):
            return self.positional_names[index]
        if self.var_positional is not None and not self.var_positional.startswith("_mg_"):
            return f"{self.var_positional}[{index - len(self.positional_names)}]"
        return f"#{index + 1}"  # the generic wrapper knows no names: count from 1
