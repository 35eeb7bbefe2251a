"""Memoization: store a function's result and return it when the same input comes again.

``@memoize`` is the idea of the whole project made into a tool. How it is built, in one breath
(docs/architecture.md, section "memoize", has the long version):

* Every memoized function owns one **store**: a ``functools.lru_cache`` object, which CPython
  implements in C. Building the key, hashing it, the dict lookup, the LRU bookkeeping and the
  hit/miss counters all happen in C (cache.py).
* The decorated function is a small Python function generated with **the same signature** as the
  user's, so CPython 3.11 calls it without building ``*args``/``**kwargs`` and inlines its frame
  (wrapper.py). For a plain function a hit is that frame plus one store call: about 1.5x
  ``functools.cache``, where a generic ``*args, **kwargs`` wrapper costs about 2.5x.
* The store's miss handler is Python: it computes the value once per key however many threads
  ask (single-flight, flight.py), and hands it to the store before letting go of the key.
  Unhashable arguments make the store raise TypeError, which costs nothing until raised: the
  wrapper then keys the call by content (keys.py) and asks the same store.
* With ``ttl`` or on an ``async def`` (aio.py) the store holds a ``Cell`` per key instead of the
  result, since the C store cannot replace an entry but a cell's content can change.
* On a method each instance gets its own cache, held weakly (methods.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, overload

from memograd.memo.cache import CacheInfo
from memograd.memo.methods import MemoizedMethod, defined_in_class_body
from memograd.memo.options import Options, validated_options
from memograd.memo.wrapper import memoize_function

__all__ = ["CacheInfo", "memoize"]

F = TypeVar("F", bound=Callable[..., Any])


def _decorate(fn: Any, options: Options) -> Any:
    if isinstance(fn, staticmethod | classmethod):  # @memoize written above @staticmethod
        return type(fn)(_decorate(fn.__func__, options))
    if not callable(fn):
        raise TypeError(
            f"memoize: expected a function to decorate, got {fn!r}; options are keywords, "
            "as in memoize(maxsize=128)"
        )
    if defined_in_class_body(fn):
        return MemoizedMethod(fn, options)
    return memoize_function(fn, options)


@overload
def memoize(fn: F, /) -> F: ...


@overload
def memoize(
    *,
    maxsize: int | None = None,
    ttl: float | None = None,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] = time.monotonic,
) -> Callable[[F], F]: ...


def memoize(
    fn: Any = None,
    /,
    *,
    maxsize: int | None = None,
    ttl: float | None = None,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] = time.monotonic,
) -> Any:
    """Cache a function's results by its arguments: ``@memoize`` or ``@memoize(maxsize=...)``.

    - ``maxsize``: ``None`` (default) keeps everything; a number keeps that many entries and
      evicts the least recently used.
    - ``ttl``: seconds an entry stays valid; an older entry is recomputed on its next call.
      ``timer`` is the clock it is measured with (``time.monotonic``; tests pass a fake one).
    - ``typed``: key equal values of different types apart. By default keys compare with Python
      equality through ``functools``' own C key, so the two agree call for call: ``f(1, 2)`` and
      ``f(1.0, 2)`` are one entry. That includes functools' quirk: a lone ``int`` or ``str``
      argument is its own key while any other lone argument is wrapped in a tuple, so ``f(1)``
      and ``f(1.0)`` are two entries (``f(1.0)`` and ``f(True)`` are one).
    - ``key``: a function of the same arguments returning the cache key, for arguments that
      cannot be keyed otherwise (or to key on part of them). On a method it gets the arguments
      after ``self``: the cache is already per instance.

    Arguments are keyed as the function would bind them: keyword order, keyword-or-positional
    and an omitted default do not make a new entry. Unhashable arguments are keyed by content
    (lists, tuples, dicts, sets, bytearrays, NumPy arrays by dtype, shape and bytes, nested);
    anything else raises a TypeError naming the argument. An exception is not cached, nor is a
    generator or coroutine returned by a plain function (it would come back consumed). Threads
    asking for the same new key compute it once; recursion works. On a method the cache is per
    instance and does not keep instances alive; on an ``async def`` the awaited result is cached
    and concurrent awaits share one computation.

    The wrapper has ``cache_info()``, ``cache_clear()``, ``cache_parameters()``, ``__wrapped__``
    and the function's name and docstring.
    """
    options = validated_options(maxsize, ttl, typed, key, timer)
    if fn is None:

        def decorator(function: F) -> F:
            return _decorate(function, options)

        return decorator
    return _decorate(fn, options)
