"""Memoization: store a function's result and return it when the same input comes again.

``@memoize`` is the idea of the whole project made into a tool, and a drop-in for
``functools.cache`` / ``functools.lru_cache``. How it is built, in one breath
(docs/architecture.md, section "memoize", has the long version):

* Every memoized function owns one **store**: a ``functools.lru_cache`` object, which CPython
  implements in C. Building the key, hashing it (once per call), the dict lookup, the LRU
  bookkeeping and the hit/miss counters all happen in C. What it stores per key is a cell, made
  in C on the first miss, which receives the result (cache.py).
* The decorated function is a small Python function generated with **the same signature** as the
  user's, so CPython 3.11 calls it without building ``*args``/``**kwargs`` and inlines its frame
  (wrapper.py). A hit is that frame, one store call and one attribute read.
* A miss is computed in that same frame, once per key however many threads ask (single-flight,
  flight.py), so a recursive memoized function costs two levels of the recursion limit per
  call, as with functools.
  Unhashable arguments make the store raise TypeError, which costs nothing until raised: the
  wrapper then keys the call by content (keys.py) and asks the same store.
* With ``ttl`` the hit also checks the cell's age; an ``async def`` shares one task per key
  (aio.py). On a method each instance gets its own cache, held weakly (methods.py).
* With ``store=`` the cache is a SQLite file or a Redis server shared by processes and runs
  (persistent.py): keys stable across processes (stable_keys.py), values without pickle and
  checksummed (codec.py), one computation per key everywhere under a lease (store.py,
  sqlite_store.py, redis_store.py). The stores are imported on first use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, overload

from memograd.memo.cache import CacheInfo
from memograd.memo.methods import is_method, memoize_method
from memograd.memo.options import Options, validated_options
from memograd.memo.wrapper import memoize_function

__all__ = [
    "CacheInfo",
    "ComputationFailed",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreWarning",
    "memoize",
]

_LAZY = {
    "SQLiteStore": "memograd.memo.sqlite_store",
    "RedisStore": "memograd.memo.redis_store",
    "Store": "memograd.memo.store",
    "StoreError": "memograd.memo.store",
    "StoreWarning": "memograd.memo.store",
    "ComputationFailed": "memograd.memo.store",
}


def __getattr__(name: str) -> Any:
    """The stores and their errors, imported on first use (``import memograd`` stays light)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memograd.memo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


F = TypeVar("F", bound=Callable[..., Any])


def _decorate(fn: Any, options: Options) -> Any:
    if isinstance(fn, staticmethod | classmethod):  # @memoize written above @staticmethod
        if options.store is not None and isinstance(fn, classmethod):
            raise TypeError(_SHARED_METHOD.format(name=fn.__func__.__qualname__, what="class"))
        return type(fn)(memoize_function(fn.__func__, options))
    if not callable(fn):
        raise TypeError(f"memoize: expected a function to decorate, got {fn!r}")
    if is_method(fn):
        if options.store is not None:
            raise TypeError(_SHARED_METHOD.format(name=fn.__qualname__, what="instance"))
        return memoize_method(fn, options)
    return memoize_function(fn, options)


_SHARED_METHOD = (
    "memoize: {name} is a method: a store shared across processes cannot key the {what} it "
    "is called on; memoize a function (or a staticmethod) of the values it needs instead"
)


@overload
def memoize(maxsize: F, /) -> F: ...


@overload
def memoize(
    maxsize: F,
    typed: bool = False,
    *,
    ttl: float | None = None,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] = time.monotonic,
    timeout: float | None = None,
    store: Any = None,
    version: str | int | None = None,
    serializer: str | None = None,
    on_store_error: str | None = None,
) -> F: ...


@overload
def memoize(
    maxsize: int | None = None,
    typed: bool = False,
    *,
    ttl: float | None = None,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] = time.monotonic,
    timeout: float | None = None,
    store: Any = None,
    version: str | int | None = None,
    serializer: str | None = None,
    on_store_error: str | None = None,
) -> Callable[[F], F]: ...


def memoize(
    maxsize: Any = None,
    typed: bool = False,
    *,
    ttl: float | None = None,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] = time.monotonic,
    timeout: float | None = None,
    store: Any = None,
    version: str | int | None = None,
    serializer: str | None = None,
    on_store_error: str | None = None,
) -> Any:
    """Cache a function's results by its arguments: ``@memoize``, ``@memoize(128)``, ...

    Takes what ``functools.lru_cache`` takes, in the same places, and means the same by it; only
    the default differs: without ``maxsize`` it keeps everything, as ``functools.cache`` does.

    - ``maxsize``: ``None`` (default) keeps everything; a number keeps that many entries and
      evicts the least recently used; ``0`` caches nothing (a negative number counts as 0, as in
      functools). Passing the function here, ``memoize(f)``, is the bare decorator.
    - ``typed``: key equal values of different types apart. By default keys compare with Python
      equality through ``functools``' own C key, so the two agree call for call: ``f(1, 2)`` and
      ``f(1.0, 2)`` are one entry. That includes functools' quirk: a lone ``int`` or ``str``
      argument is its own key while any other lone argument is wrapped in a tuple, so ``f(1)``
      and ``f(1.0)`` are two entries (``f(1.0)`` and ``f(True)`` are one).
    - ``ttl``: seconds an entry stays valid; an older entry is recomputed on its next call.
      ``timer`` is the clock it is measured with (``time.monotonic``; tests pass a fake one).
    - ``key``: a function of the same arguments returning the cache key, for arguments that
      cannot be keyed otherwise, to key on part of them, or to spare a large array its content
      key (key it by identity, holding the array, or by a version its owner bumps on every
      change: docs/guide.md shows both).
      On a method it gets the arguments after ``self``: the cache is already per instance.
    - ``timeout``: seconds a call waits for another thread's (or, with a store, process's)
      computation of the same arguments before it raises TimeoutError (None: as long as it
      takes).
    - ``store``: keep the results outside the process, shared by every process and run: a path
      (one SQLite file, ``mg.memo.SQLiteStore``), a ``redis://`` URL or ``mg.memo.RedisStore``
      (a Redis server shared by machines). Keys are stable across processes and machines (a
      canonical encoding of the arguments, hashed with SHA-256, with the function's module and
      qualified name); each key is computed once across all processes (a lease, taken over when
      its holder dies); ``maxsize``, ``ttl``, ``typed``, ``key`` and ``async def`` work inside
      the store, and ``cache_info()``/``cache_clear()`` count and clear for every process. Not
      on methods (the store cannot key the instance). docs/guide.md, section 10, shows it.
    - ``version``: the label of the function's code in the store; by default a digest of its
      source and of the data and functions it names (module constants, enclosing variables),
      so editing any of them makes its old entries misses. A string pins it.
    - ``serializer``: ``"safe"`` (default) stores plain data only (None, bool, numbers, str,
      bytes, tuples, lists, dicts, NumPy arrays as .npy, Tensors), without pickle, and refuses
      other results with a TypeError; ``"pickle"`` stores anything picklable, and can run code
      when read: use it only with a store nobody else can write to.
    - ``on_store_error``: ``"compute"`` (default) computes without the store when it fails
      (deleted, locked, unreachable, full), with one StoreWarning per store and process;
      ``"raise"`` raises the StoreError.

    Arguments are keyed as the function would bind them: keyword order, keyword-or-positional
    and an omitted default do not make a new entry. Each argument is hashed once per call.
    Unhashable arguments are keyed by content (lists, tuples, dicts, sets, bytearrays, NumPy
    arrays by dtype, shape and bytes, nested), which reads the whole value on every call: for a
    large array that is a copy of its bytes and a hash of them, per call. Anything else raises a
    TypeError naming the argument. An exception is not cached, nor is a generator or coroutine
    returned by a plain function (it would come back consumed). Threads asking for the same new
    key compute it once; recursion works (as deep as with functools, on Python 3.11). A function
    written in a class body whose first parameter is ``self`` gets one cache per instance, which
    does not keep the instance alive; on an ``async def`` the awaited result is cached and
    concurrent awaits share one computation.

    The wrapper has ``cache_info()``, ``cache_clear()``, ``cache_parameters()``, ``__wrapped__``
    and the function's name and docstring; it pickles by reference and copies as itself.
    """
    stored = (store, version, serializer, on_store_error, timeout)
    if isinstance(maxsize, classmethod) or (callable(maxsize) and not isinstance(maxsize, int)):
        # @memoize bare, or memoize(f, ...): the function stands where maxsize does
        return _decorate(maxsize, validated_options(None, ttl, typed, key, timer, *stored))
    options = validated_options(maxsize, ttl, typed, key, timer, *stored)

    def decorator(function: F) -> F:
        return _decorate(function, options)

    return decorator
