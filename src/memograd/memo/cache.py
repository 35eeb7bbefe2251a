"""The cache behind one memoized callable: the C store of cells, its slow paths, its statistics.

The store is a ``functools.lru_cache`` object, so keying, hashing, lookup, LRU order and the raw
counters run in C. What it stores per key is a ``Cell``, made in C on a miss, and the result lives
inside the cell: the wrapper (wrapper.py, flight.py) computes a missing value itself and puts it
there. This module holds the cell and the bookkeeping that the wrapper's hot code leaves to
Python: keys by content (keys.py), putting an entry back after the cache moved on, statistics.
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from memograd.memo.keys import (
    call_content_key,
    content_key,
    explain_unhashable,
    explain_unhashable_key,
)
from memograd.memo.options import Describe, Options


class CacheInfo(NamedTuple):
    """Statistics of one cache, as ``functools`` reports them.

    ``misses`` counts computations started; ``hits`` counts every other call, including calls that
    waited for another thread's computation of the same key instead of computing it again.
    ``currsize`` counts stored results (a key whose computation raised holds none).
    """

    hits: int
    misses: int
    maxsize: int | None
    currsize: int


class Cell:
    """The store's entry for one key: a box that receives the result once it is computed.

    The store makes a cell, in C and without running Python code, the moment a key is first
    missed (``object.__new__(Cell, *key)``; ``__init__`` exists only because ``object.__new__``
    accepts the extra arguments only from a class that defines one, and is never run). So the
    entry exists from the first miss on: every later caller finds the same cell, which is what
    single-flight is built on, and the key is hashed once per call. A slot stays unset until it is
    written, so reading ``cell.value`` raises AttributeError exactly when there is no result.

    ``value`` the result; ``born`` when it was stored (``ttl`` caches); ``key`` the key this cell
    was found by when it was not the arguments themselves (a content key), for ``reinsert``.
    """

    __slots__ = ("value", "born", "key", "__weakref__")

    def __init__(self, *key: Any, **keywords: Any) -> None:
        raise TypeError("Cell objects are made by a memoize store, not called")


NEW_CELL = types.MethodType(object.__new__, Cell)
"""The store's miss handler: a new empty cell, made entirely in C (no frame, no thread switch)."""


class Flight:
    """One computation in progress, registered in ``Memo.flights`` under its cell.

    The wrapper creates it with ``Flight()`` (no ``__init__``, so no Python frame) and sets:
    ``owner`` the computing thread, ``epoch`` the cache's epoch when it started; ``done`` is a
    lock the first waiting thread creates held, which the owner releases when the outcome is
    known; ``error`` the exception the computation raised, shared with those who waited.
    """

    owner = 0
    epoch = 0
    done: Any = None
    error: BaseException | None = None


class Memo:
    """The C store of one memoized callable, plus what it cannot do in C.

    ``lock`` guards ``flights``, ``failed`` and the counters; the user's function always runs with
    it released. Counters: ``computed`` computations started; ``touches`` store calls made by
    ``reinsert`` (not calls of the user's); ``epoch`` moves on when the cache is cleared and, in a
    bounded cache, whenever a computation starts (a computation that sees it moved knows its
    entry may have been evicted or passed by, and calls ``reinsert``).
    """

    def __init__(self, fn: Callable[..., Any], options: Options, describe: Describe) -> None:
        self.fn = fn  # what computes a value: the user's function (taking self first, a method's)
        self.options = options
        self.describe = describe
        # Reentrant: a garbage collection inside a locked section can run a finalizer that calls
        # this very function; with a plain Lock that thread would wait for itself forever.
        self.lock = threading.RLock()
        self.flights: dict[Cell, Any] = {}  # Flight (threads) or asyncio.Task (coroutines)
        self.failed: set[Any] = set()  # weak references to cells a failed computation left empty
        self.computed = 0
        self.touches = 0
        self.epoch = 0
        if options.maxsize == 0:  # caching off, as in functools: the store only counts calls
            self.store = functools.lru_cache(maxsize=0)(tuple)
        else:
            self.store = functools.lru_cache(maxsize=options.maxsize, typed=options.typed)(NEW_CELL)

    # -- keys the store cannot build ---------------------------------------------------------

    def by_content(self, error: TypeError, *args: Any, **kwargs: Any) -> Cell:
        """The store could not hash the call: key it by content, or say which argument fails."""
        try:
            key = call_content_key(self.options.typed, args, kwargs)
            cell = None if key is None else self.store(key)
        except TypeError:
            cell = None
        if cell is None:
            explain_unhashable(self.describe, args, kwargs)
            raise error  # every argument can be keyed: the TypeError came from an __eq__
        cell.key = key  # the arguments may change; the entry keeps the key it was found by
        return cell

    def by_key_content(self, error: TypeError, user_key: Any) -> Cell:
        """The ``key=`` function returned something the store cannot hash: key it by content."""
        try:
            key = content_key(user_key, self.options.typed)
            cell = self.store(key)
        except TypeError:
            explain_unhashable_key(self.describe, user_key)
            raise error from None
        cell.key = key
        return cell

    # -- after a computation -----------------------------------------------------------------

    def refuse(self, value: Any) -> None:
        """The function returned a one-shot object: a cached one would come back consumed."""
        value.close()
        if isinstance(value, types.CoroutineType):
            raise TypeError(
                f"memoize: {self.describe.name}() returned a coroutine, which can be awaited "
                "only once; decorate the async def itself so its awaited result is cached"
            )
        raise TypeError(
            f"memoize: {self.describe.name}() returned a generator, which can be iterated "
            "only once; return a tuple or list to cache the items"
        )

    def reinsert(self, cell: Cell, *key: Any, **keywords: Any) -> None:
        """Ask the store for a freshly computed key again, as functools stores it: afterwards.

        The cache moved on while the value was computed (a bounded cache started other
        computations, or the cache was cleared): the entry may have been evicted, or may sit
        behind entries used since. Asking the store for its key makes it the most recently used,
        as functools' insertion after the computation does, and if the store made a new cell the
        value goes there too. ``key`` is what the store was first called with; a content key
        saved in the cell wins, since the arguments it was built from may have changed since.
        At the recursion limit the entry simply keeps its place.
        """
        try:
            saved = cell.key
        except AttributeError:
            pass
        else:
            key, keywords = (saved,), {}
        try:
            current = self.store(*key, **keywords)
        except RecursionError:
            return
        with self.lock:
            self.touches += 1
            if current is cell or self.flights.get(current) is not None:
                return  # the same entry, or a new one another thread is computing already
            try:
                _ = current.value  # filled already, by another call of the key
            except AttributeError:
                _copy_result(cell, current)
                self.failed.discard(weakref.ref(current))

    def timed_out(self) -> TimeoutError:
        """What a thread that waited ``timeout`` seconds for another's computation raises."""
        return TimeoutError(
            f"memoize: {self.describe.name}() waited timeout={self.options.timeout:g} s for "
            "another caller computing the same arguments"
        )

    # -- statistics --------------------------------------------------------------------------

    # cache_info() and cache_clear() are the wrapper's own, unannotated: their signature is
    # functools', "()", which CPython's tests compare.
    def cache_info(self):  # noqa: ANN201
        hits, misses, maxsize, currsize = self.store.cache_info()
        if maxsize == 0:
            return CacheInfo(hits=0, misses=misses, maxsize=0, currsize=0)
        with self.lock:
            calls = hits + misses - self.touches
            computed = self.computed
            empty = len(self.flights) + len(self.failed)
        return CacheInfo(
            hits=max(0, calls - computed),
            misses=computed,
            maxsize=maxsize,
            currsize=max(0, currsize - empty),
        )

    def cache_clear(self):  # noqa: ANN201
        """Forget every entry and reset the statistics.

        Computations in flight still finish; their values are stored again afterwards (their
        epoch moved on), as functools stores a value computed across a clear.
        """
        with self.lock:
            self.computed = self.touches = 0
            self.epoch += 1
            # The store lets go of every cell, so none of the empty ones counts against its size
            # any more; a failed computation's cell can outlive the clear (its exception's
            # traceback holds it in a cycle until a garbage collection).
            self.failed.clear()
        # Outside the lock: dropping the results may run their __del__, which may call us.
        self.store.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return self.options.parameters()


def _copy_result(source: Cell, target: Cell) -> None:
    target.value = source.value
    try:
        target.born = source.born
    except AttributeError:  # not a ttl cache
        pass
