"""The decorator's options, checked once, and the names that error messages give."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

ON_STORE_ERROR = ("compute", "raise")
SERIALIZERS = ("safe", "pickle")


class Options(NamedTuple):
    """``memoize``'s options after validation: shared by every cache of one decorated function.

    ``store`` is a ``memo.store.Store`` or None (the process's memory); ``version``,
    ``serializer`` and ``on_store_error`` are the store's options, None without one.
    ``timeout`` bounds a caller's wait for another's computation of the same key (None: as
    long as it takes).
    """

    maxsize: int | None
    ttl: float | None
    typed: bool
    key: Callable[..., Hashable] | None
    timer: Callable[[], float]
    store: Any = None
    version: str | int | None = None
    serializer: str | None = None
    on_store_error: str | None = None
    timeout: float | None = None

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
        if self.timeout is not None:
            parameters["timeout"] = self.timeout
        if self.store is not None:
            parameters["store"] = self.store
            parameters["serializer"] = self.serializer
            parameters["on_store_error"] = self.on_store_error
            if self.version is not None:
                parameters["version"] = self.version
        return parameters


def validated_options(
    maxsize: object,
    ttl: object,
    typed: object,
    key: object,
    timer: object,
    store: object = None,
    version: object = None,
    serializer: object = None,
    on_store_error: object = None,
    timeout: object = None,
) -> Options:
    """Refuse a bad option at decoration time, not at the first call.

    ``maxsize`` follows functools: ``None`` keeps everything, ``0`` (or a negative number, which
    functools also reads as 0) caches nothing. The store's options without a store are refused
    rather than ignored.
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
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(
                f"memoize: timeout must be a number of seconds or None, got {timeout!r}"
            )
        if not math.isfinite(timeout) or timeout < 0:
            raise ValueError(
                f"memoize: timeout must be a finite number of seconds >= 0, got {timeout!r}"
            )
        timeout = float(timeout)
    if store is None:
        for name, value in (
            ("version", version),
            ("serializer", serializer),
            ("on_store_error", on_store_error),
        ):
            if value is not None:
                raise TypeError(
                    f"memoize: {name}= applies to a store shared across processes; pass store= "
                    "too (a path, a redis:// URL, mg.memo.SQLiteStore or mg.memo.RedisStore)"
                )
        return Options(maxsize, ttl, typed, key, timer, timeout=timeout)  # type: ignore[arg-type]
    return _with_store(
        Options(maxsize, ttl, typed, key, timer, timeout=timeout),  # type: ignore[arg-type]
        store,
        version,
        serializer,
        on_store_error,
    )


def _with_store(
    options: Options, store: object, version: object, serializer: object, on_store_error: object
) -> Options:
    from memograd.memo.stores import open_store  # here: no store, no sqlite3 import

    opened = open_store(store)
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, str | int):
            raise TypeError(f"memoize: version must be a string or an integer, got {version!r}")
        if isinstance(version, str) and (not version or not version.isprintable()):
            raise ValueError(f"memoize: version must be printable text, got {version!r}")
    serializer = "safe" if serializer is None else serializer
    if serializer not in SERIALIZERS:
        raise ValueError(
            f"memoize: serializer must be 'safe' (no pickle) or 'pickle', got {serializer!r}"
        )
    on_store_error = "compute" if on_store_error is None else on_store_error
    if on_store_error not in ON_STORE_ERROR:
        raise ValueError(
            f"memoize: on_store_error must be 'compute' (warn once, compute without the store) "
            f"or 'raise', got {on_store_error!r}"
        )
    if options.ttl is not None and options.timer is not time.monotonic and opened.kind == "redis":
        raise TypeError(
            "memoize: a RedisStore measures ttl with the Redis server's clock; leave timer= out"
        )
    return options._replace(
        store=opened, version=version, serializer=serializer, on_store_error=on_store_error
    )


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
