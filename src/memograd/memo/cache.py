"""The cache behind one memoized callable: the C store, its miss handlers, ttl cells, statistics.

The store is a ``functools.lru_cache`` object, so keying, lookup, LRU order and the raw
counters run in C. This module adds what C cannot do: computing a missing value once
(through flight.py), asking the store again by content when it cannot hash a call (keys.py),
expiry, and counters that turn the store's raw numbers into honest statistics.
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from memograd.memo.flight import NOTHING, Flight, Lanes, fly
from memograd.memo.keys import Carrier, call_content_key, pending_key, user_key
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
    """A stored entry of a cache with ``ttl`` or of a coroutine function: a box for the result.

    Those caches store a cell per key instead of the result, because a result must be replaced
    when it expires and a coroutine's result arrives after the call returns: the C store cannot
    replace an entry, but the cell's content can change. ``value`` and ``born`` stay unset until a
    computation succeeds, so the wrapper's plain ``cell.value`` read raises AttributeError
    exactly when there is nothing to return yet.
    """

    __slots__ = ("value", "born", "flight", "pending_key", "__weakref__")

    def __init__(self, pending_key: Hashable) -> None:
        self.flight: Any = None  # Flight (threads) or asyncio.Task (coroutines) while computing
        self.pending_key: Hashable | None = pending_key


class Memo:
    """The C store of one memoized callable, plus what it cannot do in C.

    ``lock`` guards the bookkeeping only; the user's function always runs with it released.

    Two ways to fill the store. A plain function without ``ttl`` stores results directly, so a hit
    is only the C lookup; its miss handler ``_compute`` runs the function. With ``ttl`` or on a
    coroutine function the store holds ``Cell`` boxes handed out by ``_new_cell``, and the
    wrapper fills them (``fill`` here, ``fill_async`` in aio.py) after the store call returns.
    ``_compute`` and ``fill`` are the same single-flight (``flight.fly``); the cache's lanes
    (``_Pending`` or ``_Cells``) say where a key's flight and value are kept.
    """

    def __init__(
        self, fn: Callable[..., Any], options: Options, describe: Describe, *, is_async: bool
    ) -> None:
        self.fn = fn
        self.options = options
        self.describe = describe
        self.timer = options.timer
        self.ttl = options.ttl
        # Reentrant: a garbage collection inside a locked section can run a finalizer that calls
        # this very function; with a plain Lock that thread would wait for itself forever.
        self.lock = threading.RLock()
        # Keys being computed (direct: their Flight; cells: cells handed out, not yet filled),
        # so that threads missing one key in the store at the same moment compute it once.
        self.pending: dict[Hashable, Any] = {}
        self.unfilled: weakref.WeakSet[Cell] = weakref.WeakSet()  # cells holding no value
        self.computed = 0
        self.handoffs = 0  # the store calls that _compute makes itself, not counted as calls
        direct = options.ttl is None and not is_async
        self._lanes = _Pending(self) if direct else _Cells(self)
        miss = self._compute if direct else self._new_cell
        self.store = functools.lru_cache(maxsize=options.maxsize, typed=options.typed)(miss)

    def call(self, args: tuple, kwargs: dict) -> Any:
        """Run the user's function, refusing a result that cannot be returned twice."""
        value = self.fn(*args, **kwargs)
        # One-shot objects: a cached one would come back already consumed on the next call.
        if isinstance(value, types.CoroutineType):
            value.close()
            raise TypeError(
                f"memoize: {self.describe.name}() returned a coroutine, which can be awaited "
                "only once; decorate the async def itself so its awaited result is cached"
            )
        if isinstance(value, types.GeneratorType):
            value.close()
            raise TypeError(
                f"memoize: {self.describe.name}() returned a generator, which can be iterated "
                "only once; return a tuple or list to cache the items"
            )
        return value

    def end_pending(self, key: Hashable, entry: Any) -> None:
        """(Lock held.) Stop answering for ``key`` with ``entry`` (a flight, or a cell)."""
        if self.pending.get(key) is entry:
            del self.pending[key]

    # -- direct results: the store's miss handler computes -----------------------------------

    def _compute(self, *args: Any, **kwargs: Any) -> Any:
        """Compute a missing result once, however many threads miss its key at the same time."""
        key = pending_key(args, kwargs, self.options.typed)
        if type(key) is Carrier:  # the store got a stand-in: the real arguments are inside
            args, kwargs = key.args, key.kwargs  # type: ignore[assignment]
        return fly(self.lock, self._lanes, key, args, kwargs)

    # -- keys the store cannot build ---------------------------------------------------------

    def by_content(self, error: TypeError, *args: Any, **kwargs: Any) -> Any:
        """The store could not hash the call: key it by content, or explain why that fails."""
        key = call_content_key(self.describe, self.options.typed, args, kwargs)
        if key is None:
            raise error  # every argument hashes: the TypeError came from elsewhere
        return self._through_carrier(key, args, kwargs)

    def keyed(self, *args: Any, **kwargs: Any) -> Any:
        """``key=`` was given: the user's function names the entry."""
        key = user_key(self.describe, self.options, args, kwargs)
        return self._through_carrier(key, args, kwargs)

    def _through_carrier(self, key: Hashable, args: tuple, kwargs: dict) -> Any:
        carrier = Carrier(key, args, kwargs)
        try:
            return self.store(carrier)
        finally:
            carrier.args = carrier.kwargs = None  # the store may keep it: not the arguments

    # -- cells: ttl and coroutines -----------------------------------------------------------

    def _new_cell(self, *args: Any, **kwargs: Any) -> Cell:
        """The store's miss handler for cells: hand out the one cell for these arguments."""
        key = pending_key(args, kwargs, self.options.typed)
        with self.lock:
            cell = self.pending.get(key)
            if cell is None:
                cell = self.pending[key] = Cell(key)
                self.unfilled.add(cell)
        return cell

    def fresh(self, cell: Cell) -> bool:
        try:
            born = cell.born
        except AttributeError:
            return False
        return self.ttl is None or self.timer() - born < self.ttl

    def fill(self, cell: Cell, *args: Any, **kwargs: Any) -> Any:
        """Give ``cell`` a value: compute it here, or wait for the thread already computing it."""
        return fly(self.lock, self._lanes, cell, args, kwargs)

    def store_value(self, cell: Cell, value: Any) -> None:
        """(Lock held.) The cell's computation succeeded: from now on it answers hits."""
        cell.value = value
        cell.born = self.timer()
        self.unfilled.discard(cell)

    def settle_cell(self, cell: Cell, flight: Any) -> None:
        """(Lock held.) End the cell's computation, free it for the next one."""
        if cell.flight is flight:
            cell.flight = None
        if cell.pending_key is not None:
            self.end_pending(cell.pending_key, cell)  # the store holds the cell from now on
            cell.pending_key = None

    # -- statistics --------------------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        hits, misses, maxsize, currsize = self.store.cache_info()
        with self.lock:
            calls = hits + misses - self.handoffs
            computed = self.computed
            unfilled = len(self.unfilled)
        return CacheInfo(
            hits=max(0, calls - computed),
            misses=computed,
            maxsize=maxsize,
            currsize=max(0, currsize - unfilled),
        )

    def cache_clear(self) -> None:
        """Forget every entry and reset the statistics.

        Computations in flight still finish and store their result, as in functools; they stay
        in ``pending`` so that callers of their keys keep joining them instead of starting over.
        """
        with self.lock:
            self.computed = self.handoffs = 0
        # Outside the lock: dropping the results may run their __del__, which may call us.
        self.store.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return {"maxsize": self.options.maxsize, "typed": self.options.typed, "ttl": self.ttl}


class _MemoLanes(Lanes):
    """The keys of one ``Memo`` in ``fly``: computed by the user's function."""

    __slots__ = ("memo",)

    def __init__(self, memo: Memo) -> None:
        self.memo = memo

    def compute(self, args: tuple, kwargs: dict) -> Any:
        return self.memo.call(args, kwargs)

    def recurse(self, args: tuple, kwargs: dict) -> Any:
        return self.memo.fn(*args, **kwargs)


class _Pending(_MemoLanes):
    """A plain cache: a key's flight answers for it in ``pending`` until the store holds the value.

    The slot is the key's pending key (``keys.pending_key``).
    """

    __slots__ = ()

    def find(self, slot: Hashable) -> Flight | None:
        return self.memo.pending.get(slot)

    def board(self, slot: Hashable, flight: Flight) -> None:
        self.memo.pending[slot] = flight
        self.memo.computed += 1

    def release(self, slot: Hashable, flight: Flight) -> None:
        self.memo.end_pending(slot, flight)

    def keep(self, slot: Hashable, flight: Flight, value: Any) -> None:
        pass  # the flight keeps answering for the key, with its value, until the hand-off

    def hand_off(self, slot: Hashable, flight: Flight, args: tuple, kwargs: dict) -> None:
        # The store saves the value only after the miss handler returns. Until then a thread
        # missing the key would find no flight and compute again, so hand the value to the store
        # now, while the flight still answers for the key (the nested call returns flight.value).
        memo = self.memo
        try:
            if type(slot) is Carrier:  # the store was called with the carrier, as here
                memo.store(slot)
            else:
                memo.store(*args, **kwargs)
        finally:
            with memo.lock:
                memo.handoffs += 1
                memo.end_pending(slot, flight)


class _Cells(_MemoLanes):
    """A ttl cache: a key's flight sits in the key's cell, and the value goes into the cell.

    The slot is the cell.
    """

    __slots__ = ()

    def stored(self, slot: Cell) -> Any:
        return slot.value if self.memo.fresh(slot) else NOTHING

    def find(self, slot: Cell) -> Flight | None:
        return slot.flight

    def board(self, slot: Cell, flight: Flight) -> None:
        slot.flight = flight
        self.memo.computed += 1

    def release(self, slot: Cell, flight: Flight) -> None:
        self.memo.settle_cell(slot, flight)

    def keep(self, slot: Cell, flight: Flight, value: Any) -> None:
        self.memo.store_value(slot, value)
        self.memo.settle_cell(slot, flight)

    def hand_off(self, slot: Cell, flight: Flight, args: tuple, kwargs: dict) -> None:
        pass  # the cell is in the store already and holds the value since keep
