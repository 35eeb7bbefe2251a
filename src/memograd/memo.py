"""Memoization: store a function's result and return it when the same input comes again.

``@memoize`` is the idea of the whole project made into a tool. How it is built, in one breath
(docs/architecture.md, section "memoize", has the long version):

* Every memoized function owns one **store**: a ``functools.lru_cache`` object, which CPython
  implements in C. Building the key, hashing it, the dict lookup, the LRU bookkeeping and the
  hit/miss counters all happen in C.
* The decorated function is a small Python function generated with **the same signature** as the
  user's, so CPython 3.11 calls it without building ``*args``/``**kwargs`` and inlines its frame.
  For a plain function a hit is that frame plus one store call: about 1.5x ``functools.cache``,
  where a generic ``*args, **kwargs`` wrapper costs about 2.5x.
* The store's miss handler is Python: it computes the value once per key however many threads
  ask (single-flight), and hands it to the store before letting go of the key. Unhashable
  arguments make the store raise TypeError, which costs nothing until raised: the wrapper then
  keys the call by content and asks the same store.
* With ``ttl`` or on an ``async def`` the store holds a ``_Cell`` per key instead of the result,
  since the C store cannot replace an entry but a cell's content can change.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import threading
import time
import types
import weakref
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np

__all__ = ["CacheInfo", "memoize"]

F = TypeVar("F", bound=Callable[..., Any])


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


# --------------------------------------------------------------------------------------------
# Keys for arguments that cannot be hashed
# --------------------------------------------------------------------------------------------


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


def _content_key(value: object, typed: bool) -> Hashable:
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
                items.append((_content_key(item_key, typed), _content_key(item, typed)))
            except _Unkeyable as error:
                error.path.insert(0, f"[{item_key!r}]")
                raise
        return (_DICT, kind, frozenset(items))
    if isinstance(value, set):  # elements of a set are hashable by construction
        return (_SET, kind, frozenset(_content_key(item, typed) for item in value))
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
            parts.append(_content_key(item, typed))
        except _Unkeyable as error:
            error.path.insert(0, f"[{index}]")
            raise
    return tuple(parts)


def _sorted_keywords(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``f(a=1, b=2)`` and ``f(b=2, a=1)`` are one call: give ``**kwargs`` one order."""
    return kwargs if len(kwargs) < 2 else dict(sorted(kwargs.items()))


# --------------------------------------------------------------------------------------------
# The state behind one cache
# --------------------------------------------------------------------------------------------


class _Carrier:
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
        if type(other) is not _Carrier:
            return NotImplemented
        return self.hash == other.hash and self.key == other.key


class _Flight:
    """One computation in progress: the thread running it, and how others wait for its outcome."""

    __slots__ = ("owner", "done", "ok", "value", "error")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done: threading.Event | None = None  # created only when a second thread must wait
        self.ok = False
        self.value: Any = None
        self.error: BaseException | None = None


class _Cell:
    """A stored entry of a cache with ``ttl`` or of a coroutine function: a box for the result.

    Those caches store a cell per key instead of the result, because a result must be replaced
    when it expires and a coroutine's result arrives after the call returns: the C store cannot
    replace an entry, but the cell's content can change. ``value`` and ``born`` stay unset until a
    computation succeeds, so the wrapper's plain ``cell.value`` read raises AttributeError
    exactly when there is nothing to return yet.
    """

    __slots__ = ("value", "born", "flight", "pending_key", "__weakref__")

    def __init__(self, pending_key: Hashable) -> None:
        self.flight: Any = None  # _Flight (threads) or asyncio.Task (coroutines) while computing
        self.pending_key: Hashable | None = pending_key


class _Memo:
    """The C store of one memoized callable, plus what it cannot do in C.

    That is: single-flight computation of a missing value (per key: other keys run in parallel),
    keys by content for unhashable arguments, expiry, coroutines, and the counters that turn the
    store's raw numbers into honest statistics. ``_lock`` guards that bookkeeping only; the user's
    function always runs with it released.

    Two ways to fill the store. A plain function without ``ttl`` stores results directly, so a hit
    is only the C lookup; its miss handler ``_compute`` runs the function. With ``ttl`` or on a
    coroutine function the store holds ``_Cell`` boxes handed out by ``_new_cell``, and the
    wrapper fills them (``fill``, ``fill_async``) after the store call returns.
    """

    def __init__(
        self, fn: Callable[..., Any], options: _Options, describe: _Describe, *, is_async: bool
    ) -> None:
        self.fn = fn
        self.options = options
        self.describe = describe
        self.timer = options.timer
        self.ttl = options.ttl
        self.direct = options.ttl is None and not is_async
        # Reentrant: a garbage collection inside a locked section can run a finalizer that calls
        # this very function; with a plain Lock that thread would wait for itself forever.
        self._lock = threading.RLock()
        # Keys being computed (direct: their _Flight; cells: cells handed out, not yet filled),
        # so that threads missing one key in the store at the same moment compute it once.
        self._pending: dict[Hashable, Any] = {}
        self._unfilled: weakref.WeakSet[_Cell] = weakref.WeakSet()  # cells holding no value
        self._computed = 0
        self._handoffs = 0  # the store calls that _compute makes itself, not counted as calls
        miss = self._compute if self.direct else self._new_cell
        self.store = functools.lru_cache(maxsize=options.maxsize, typed=options.typed)(miss)

    def _pending_key(self, args: tuple, kwargs: dict) -> Hashable:
        """A key equal exactly when the store's own keys are equal."""
        if len(args) == 1 and not kwargs and type(args[0]) is _Carrier:
            return args[0]
        key: Hashable = (args, tuple(kwargs.items())) if kwargs else args
        if self.options.typed:
            key = (key, tuple(map(type, args)), tuple(map(type, kwargs.values())))
        return key

    # -- direct results: the store's miss handler computes -----------------------------------

    def _compute(self, *args: Any, **kwargs: Any) -> Any:
        """Compute a missing result once, however many threads miss its key at the same time."""
        pending_key = self._pending_key(args, kwargs)
        call_args, call_kwargs = args, kwargs
        if pending_key is not None and type(pending_key) is _Carrier:
            call_args, call_kwargs = pending_key.args, pending_key.kwargs  # type: ignore[assignment]
        me = threading.get_ident()
        while True:
            with self._lock:
                flight = self._pending.get(pending_key)
                if flight is None:
                    flight = self._pending[pending_key] = _Flight(me)
                    self._computed += 1
                    break  # this thread computes
                if flight.ok:  # computed; also the hand-off below, where the store takes it
                    return flight.value
                recursion = flight.owner == me
                if not recursion and flight.done is None:
                    flight.done = threading.Event()
            if recursion:  # the function asks for the key it is computing: plain recursion
                return self.fn(*call_args, **call_kwargs)
            flight.done.wait()  # type: ignore[union-attr]
            if flight.ok:
                return flight.value
            if isinstance(flight.error, Exception):
                raise flight.error
            # The computing thread was interrupted (KeyboardInterrupt, SystemExit): that is its
            # own business, not an outcome to share. Try again; this thread may compute.
        try:
            value = self._call(call_args, call_kwargs)
        except BaseException as error:
            with self._lock:
                flight.error = error
                self._end_flight(pending_key, flight)
            raise
        with self._lock:
            flight.ok, flight.value = True, value
        if flight.done is not None:
            flight.done.set()
        # The store saves the value only after this handler returns. Until then a thread missing
        # the key would find no flight and compute again, so hand the value to the store now,
        # while the flight still answers for the key (the nested call returns flight.value).
        try:
            self.store(*args, **kwargs)
        finally:
            with self._lock:
                self._handoffs += 1
                self._end_flight(pending_key, flight)
        return value

    def _call(self, args: tuple, kwargs: dict) -> Any:
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

    def _end_flight(self, pending_key: Hashable, flight: Any) -> None:
        """(Lock held.) Stop answering for the key; wake the threads waiting on the flight."""
        if self._pending.get(pending_key) is flight:
            del self._pending[pending_key]
        done = getattr(flight, "done", None)
        if isinstance(done, threading.Event):
            done.set()

    # -- keys the store cannot build ---------------------------------------------------------

    def by_content(self, error: TypeError, *args: Any, **kwargs: Any) -> Any:
        """The store could not hash the call: key it by content, or explain why that fails."""
        typed = self.options.typed
        parts: list[Hashable] = []
        unhashable = False
        for index, value in enumerate(args):
            parts.append(self._argument_key(self.describe.positional(index), value, typed))
            unhashable = unhashable or _is_content(parts[-1])
        for name, value in kwargs.items():
            parts.append((_KEYWORDS, name, self._argument_key(name, value, typed)))
            unhashable = unhashable or _is_content(parts[-1][2])
        if not unhashable:
            raise error  # every argument hashes: the TypeError came from elsewhere
        return self._through_carrier((_CONTENT, tuple(parts)), args, kwargs)

    def _argument_key(self, name: str, value: object, typed: bool) -> Hashable:
        try:
            return _content_key(value, typed)
        except _Unkeyable as error:
            raise TypeError(
                f"memoize: cannot key argument '{name}{''.join(error.path)}' of "
                f"{self.describe.name}(): "
                f"{'an element' if error.path else 'a value'} of type {error.type_name} is "
                f"unhashable and is not {_KEYABLE_KINDS}; pass key=... to memoize to build "
                "the cache key yourself"
            ) from None

    def keyed(self, *args: Any, **kwargs: Any) -> Any:
        """``key=`` was given: the user's function names the entry."""
        user_key = self.options.key(*args, **kwargs)  # type: ignore[misc]
        try:
            content = _content_key(user_key, self.options.typed)
        except _Unkeyable as error:
            raise TypeError(
                f"memoize: the key function of {self.describe.name}() returned a "
                f"{type(user_key).__qualname__} holding a {error.type_name} at "
                f"key{''.join(error.path)}, which cannot be keyed: return something hashable"
            ) from None
        return self._through_carrier((_USER_KEY, content), args, kwargs)

    def _through_carrier(self, key: Hashable, args: tuple, kwargs: dict) -> Any:
        carrier = _Carrier(key, args, kwargs)
        try:
            return self.store(carrier)
        finally:
            carrier.args = carrier.kwargs = None  # the store may keep it: not the arguments

    # -- cells: ttl and coroutines -----------------------------------------------------------

    def _new_cell(self, *args: Any, **kwargs: Any) -> _Cell:
        """The store's miss handler for cells: hand out the one cell for these arguments."""
        pending_key = self._pending_key(args, kwargs)
        with self._lock:
            cell = self._pending.get(pending_key)
            if cell is None:
                cell = self._pending[pending_key] = _Cell(pending_key)
                self._unfilled.add(cell)
        return cell

    def _fresh(self, cell: _Cell) -> bool:
        try:
            born = cell.born
        except AttributeError:
            return False
        return self.ttl is None or self.timer() - born < self.ttl

    def fill(self, cell: _Cell, *args: Any, **kwargs: Any) -> Any:
        """Give ``cell`` a value: compute it here, or wait for the thread already computing it."""
        me = threading.get_ident()
        while True:
            with self._lock:
                if self._fresh(cell):
                    return cell.value
                flight = cell.flight
                if flight is None:
                    flight = cell.flight = _Flight(me)
                    self._computed += 1
                    break  # this thread computes
                recursion = flight.owner == me
                if not recursion and flight.done is None:
                    flight.done = threading.Event()
            if recursion:  # the function asks for the key it is computing: plain recursion
                return self.fn(*args, **kwargs)
            flight.done.wait()  # type: ignore[union-attr]
            if flight.ok:
                return flight.value
            if isinstance(flight.error, Exception):
                raise flight.error
            # An interrupted computation is not shared: try again (see _compute).
        try:
            value = self._call(args, kwargs)
        except BaseException as error:
            with self._lock:
                flight.error = error
                self._settle_cell(cell, flight)
            raise
        with self._lock:
            flight.ok, flight.value = True, value
            self._store_value(cell, value)
            self._settle_cell(cell, flight)
        return value

    def _store_value(self, cell: _Cell, value: Any) -> None:
        cell.value = value
        cell.born = self.timer()
        self._unfilled.discard(cell)

    def _settle_cell(self, cell: _Cell, flight: Any) -> None:
        """(Lock held.) End the cell's computation: free it for the next one, wake the waiters."""
        if cell.flight is flight:
            cell.flight = None
        if cell.pending_key is not None:
            self._end_flight(cell.pending_key, cell)  # the store holds the cell from now on
            cell.pending_key = None
        done = getattr(flight, "done", None)
        if isinstance(done, threading.Event):
            done.set()

    async def fill_async(self, cell: _Cell, *args: Any, **kwargs: Any) -> Any:
        """The coroutine twin of ``fill``: one task computes, every concurrent caller awaits it.

        The computation runs as its own task, so a caller that is cancelled does not cancel it
        for the others; ``asyncio.shield`` keeps each caller's cancellation its own.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                task = cell.flight
                if task is not None and task.done():
                    self._settle_task(cell, task)  # its callback may not have run yet
                    task = None
                if self._fresh(cell):
                    return cell.value
                reenter = task is not None and task is asyncio.current_task()
                if not reenter and (task is None or task.get_loop() is not loop):
                    task = asyncio.ensure_future(self.fn(*args, **kwargs), loop=loop)
                    cell.flight = task
                    self._computed += 1
                    # Registered before any caller awaits, so the cell is settled (value stored or
                    # flight cleared) before any caller resumes: the next call sees the outcome.
                    task.add_done_callback(functools.partial(self._on_task_done, cell))
            if reenter:  # the computation awaits its own key: plain recursion
                return await self.fn(*args, **kwargs)
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if task.cancelled() and not (current is not None and current.cancelling()):
                    continue  # the shared computation was cancelled, not this caller: retry
                raise

    def _on_task_done(self, cell: _Cell, task: Any) -> None:
        with self._lock:
            self._settle_task(cell, task)

    def _settle_task(self, cell: _Cell, task: Any) -> None:
        # task.exception() also marks a failure as retrieved: the callers got it, no log needed.
        if not task.cancelled() and task.exception() is None:
            self._store_value(cell, task.result())
        self._settle_cell(cell, task)

    # -- statistics --------------------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        hits, misses, maxsize, currsize = self.store.cache_info()
        with self._lock:
            calls = hits + misses - self._handoffs
            computed = self._computed
            unfilled = len(self._unfilled)
        return CacheInfo(
            hits=max(0, calls - computed),
            misses=computed,
            maxsize=maxsize,
            currsize=max(0, currsize - unfilled),
        )

    def cache_clear(self) -> None:
        """Forget every entry and reset the statistics.

        Computations in flight still finish and store their result, as in functools; they stay
        in ``_pending`` so that callers of their keys keep joining them instead of starting over.
        """
        with self._lock:
            self._computed = self._handoffs = 0
        # Outside the lock: dropping the results may run their __del__, which may call us.
        self.store.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return {"maxsize": self.options.maxsize, "typed": self.options.typed, "ttl": self.ttl}


def _is_content(key: Hashable) -> bool:
    """Was this argument key built from contents (the argument itself was unhashable)?"""
    return (
        isinstance(key, tuple)
        and len(key) > 0
        and isinstance(key[0], _Tag)
        and key[0] is not _KEYWORDS
    )


# --------------------------------------------------------------------------------------------
# Options and the generated wrapper
# --------------------------------------------------------------------------------------------


class _Options(NamedTuple):
    maxsize: int | None
    ttl: float | None
    typed: bool
    key: Callable[..., Hashable] | None
    timer: Callable[[], float]


def _validated_options(
    maxsize: object, ttl: object, typed: object, key: object, timer: object
) -> _Options:
    if maxsize is not None and (
        isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1
    ):
        raise ValueError(
            f"memoize: maxsize must be None (unbounded) or a whole number >= 1, got {maxsize!r}"
        )
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
    return _Options(maxsize, ttl, typed, key, timer)  # type: ignore[arg-type]


class _Describe(NamedTuple):
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


_P = inspect.Parameter

# The wrapper's body, by how the store is filled. ARGS are the arguments as the key sees them
# (for a method: without self). The hit is the first line that returns.
_DIRECT_BODY = """\
    try:
        return _mg_store(ARGS)
    except TypeError as _mg_error:
        return _mg_by_content(_mg_error, ARGS)
"""
_DIRECT_KEYED_BODY = """\
    return _mg_keyed(ARGS)
"""
_CELL_BODY = """\
    try:
        _mg_cell = _mg_store(ARGS)
    except TypeError as _mg_error:
        _mg_cell = _mg_by_content(_mg_error, ARGS)
    try:
        HIT
    except AttributeError:
        pass
    return AWAIT_mg_fill(_mg_cell, ARGS)
"""
_CELL_KEYED_LOOKUP = """\
    _mg_cell = _mg_keyed(ARGS)
"""
_HIT = "return _mg_cell.value"
_TTL_HIT = "if _mg_timer() - _mg_cell.born < _mg_ttl:\n            return _mg_cell.value"


class _Template:
    """The wrapper's code for one function: compiled once, turned into functions cheaply.

    The wrapper has the user's exact signature, so CPython calls it like any small function and
    normalizes the arguments for free: ``f(1, b=2)``, ``f(b=2, a=1)`` and, with a default
    ``b=2``, ``f(1)`` are all one call ``store(1, 2)``. The code is generated from source, as
    ``dataclasses`` and ``namedtuple`` generate theirs, because only real code with real parameter
    names gets that fast call. Each instance is a new function on the same code with its own
    globals (the store, the slow paths): a global load is a little cheaper than a closure cell,
    and one compile serves every instance of a class with a memoized method. For a method the
    first parameter (``self``) is left out of the key and of the call: each instance has its own
    store, whose function already holds the instance.
    """

    def __init__(self, fn: Callable[..., Any], options: _Options, *, method: bool) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        signature = _signature(fn)
        parameters = list(signature.parameters.values()) if signature else None
        if parameters is None or any(p.name.startswith("_mg_") for p in parameters):
            parameters = [  # no usable signature: the generic (slower) wrapper
                *([_P("_mg_self", _P.POSITIONAL_ONLY)] if method else []),
                _P("_mg_args", _P.VAR_POSITIONAL),
                _P("_mg_kwargs", _P.VAR_KEYWORD),
            ]
        positional = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
        self.defaults = tuple(
            p.default for p in parameters if p.kind in positional and p.default is not _P.empty
        )
        self.kwdefaults = {
            p.name: p.default
            for p in parameters
            if p.kind is _P.KEYWORD_ONLY and p.default is not _P.empty
        }
        header, args = _render(parameters, skip_first=method)
        keyed = parameters[1:] if method else parameters
        self.describe = _Describe(
            name=getattr(fn, "__qualname__", None) or repr(fn),
            positional_names=tuple(p.name for p in keyed if p.kind in positional),
            var_positional=next((p.name for p in keyed if p.kind is _P.VAR_POSITIONAL), None),
        )
        if options.ttl is None and not self.is_async:
            body = _DIRECT_BODY if options.key is None else _DIRECT_KEYED_BODY
        else:
            body = _CELL_BODY.replace("HIT", _HIT if options.ttl is None else _TTL_HIT)
            if options.key is not None:  # the first four lines become the key function's lookup
                body = _CELL_KEYED_LOOKUP + "".join(body.splitlines(keepends=True)[4:])
            body = body.replace("AWAIT", "await " if self.is_async else "")
        body = body.replace("_mg_error, ARGS", f"_mg_error, {args}" if args else "_mg_error")
        body = body.replace("_mg_cell, ARGS", f"_mg_cell, {args}" if args else "_mg_cell")
        body = body.replace("ARGS", args)
        self.source = f"{'async ' if self.is_async else ''}def memoized({header}):\n{body}"
        namespace: dict[str, Any] = {}
        exec(compile(self.source, f"<memoize {self.describe.name}>", "exec"), namespace)
        self.code = namespace["memoized"].__code__

    def instantiate(self, memo: _Memo) -> Callable[..., Any]:
        namespace = {
            "__builtins__": builtins,
            "_mg_store": memo.store,
            "_mg_keyed": memo.keyed,
            "_mg_by_content": memo.by_content,
            "_mg_fill": memo.fill_async if self.is_async else memo.fill,
            "_mg_timer": memo.timer,
            "_mg_ttl": memo.ttl,
            "_mg_kw": _sorted_keywords,
        }
        function = types.FunctionType(self.code, namespace, "memoized", self.defaults or None)
        function.__kwdefaults__ = dict(self.kwdefaults) or None
        functools.update_wrapper(function, self.fn)
        function.cache_info = memo.cache_info
        function.cache_clear = memo.cache_clear
        function.cache_parameters = memo.cache_parameters
        return function


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        # Not following __wrapped__: a decorated function takes what its outer layer takes.
        return inspect.signature(fn, follow_wrapped=False)
    except (TypeError, ValueError):
        return None


def _render(parameters: list[inspect.Parameter], *, skip_first: bool) -> tuple[str, str]:
    """The wrapper's parameter list, and the arguments it passes on (the key's arguments)."""
    header: list[str] = []
    arguments: list[str] = []
    previous_kind = None
    for position, p in enumerate(parameters):
        if previous_kind is _P.POSITIONAL_ONLY and p.kind is not _P.POSITIONAL_ONLY:
            header.append("/")
        if p.kind is _P.KEYWORD_ONLY and previous_kind not in (_P.KEYWORD_ONLY, _P.VAR_POSITIONAL):
            header.append("*")
        previous_kind = p.kind
        if p.kind is _P.VAR_POSITIONAL:
            header.append(f"*{p.name}")
            argument = f"*{p.name}"
        elif p.kind is _P.VAR_KEYWORD:
            header.append(f"**{p.name}")
            argument = f"**_mg_kw({p.name})"
        elif p.kind is _P.KEYWORD_ONLY:
            header.append(p.name)
            argument = f"{p.name}={p.name}"
        else:
            header.append(p.name)  # defaults are set on the function object, not in the source
            argument = p.name
        if not (skip_first and position == 0):
            arguments.append(argument)
    if previous_kind is _P.POSITIONAL_ONLY:
        header.append("/")
    return ", ".join(header), ", ".join(arguments)


class _WeakMethod:
    """A method's function bound to its instance through a weak reference.

    It is the function of an instance's own cache, so that cache never keeps the instance alive.
    Whoever calls it holds the instance (through the bound method), so it is there to call.
    """

    __slots__ = ("fn", "ref")

    def __init__(self, fn: Callable[..., Any], ref: weakref.ref) -> None:
        self.fn = fn
        self.ref = ref

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        instance = self.ref()
        if instance is None:
            raise ReferenceError(f"memoize: the instance of {self.fn.__qualname__} is gone")
        return self.fn(instance, *args, **kwargs)


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------


class _MemoizedMethod:
    """``@memoize`` on a function defined in a class body: one cache per instance.

    The caches live in a registry keyed by ``id(instance)`` whose entries hold the instance only
    through a weak reference (with a callback that drops the entry), so caching never keeps an
    instance alive. ``obj.method`` returns an ordinary bound method of that instance's wrapper,
    whose key leaves ``self`` out. Called through the class or as a static method, the function
    is memoized on all its arguments like any function. ``cache_info()`` and ``cache_clear()`` on
    the class attribute cover every live instance.
    """

    def __init__(self, fn: Callable[..., Any], options: _Options) -> None:
        functools.update_wrapper(self, fn)
        self._options = options
        self._template = _Template(fn, options, method=True)
        self._direct = _memoize_function(fn, options)
        self._instances: dict[int, tuple[weakref.ref, Callable[..., Any], _Memo]] = {}
        self._lock = threading.RLock()  # reentrant: a weakref callback may fire inside _attach

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        entry = self._instances.get(id(instance))
        if entry is None or entry[0]() is not instance:
            entry = self._attach(instance)
        return types.MethodType(entry[1], instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._direct(*args, **kwargs)

    def _attach(self, instance: object) -> tuple[weakref.ref, Callable[..., Any], _Memo]:
        ident = id(instance)
        with self._lock:
            entry = self._instances.get(ident)
            if entry is not None and entry[0]() is instance:
                return entry
            try:
                ref = weakref.ref(instance, functools.partial(self._detach, ident))
            except TypeError:
                raise TypeError(
                    f"memoize: {self.__qualname__} keeps one cache per instance and holds "
                    f"instances weakly, but {type(instance).__qualname__} objects do not support "
                    "weak references; add '__weakref__' to its __slots__"
                ) from None
            memo = _Memo(
                _WeakMethod(self.__wrapped__, ref),
                self._options,
                self._template.describe,
                is_async=self._template.is_async,
            )
            entry = (ref, self._template.instantiate(memo), memo)
            self._instances[ident] = entry
        return entry

    def _detach(self, ident: int, ref: weakref.ref) -> None:
        with self._lock:
            entry = self._instances.get(ident)
            if entry is not None and entry[0] is ref:
                del self._instances[ident]

    def _memos(self) -> list[_Memo]:
        with self._lock:
            return [self._direct.__memo__, *(entry[2] for entry in self._instances.values())]

    def cache_info(self) -> CacheInfo:
        """Totals over every live instance's cache and the calls through the class."""
        infos = [memo.cache_info() for memo in self._memos()]
        return CacheInfo(
            hits=sum(i.hits for i in infos),
            misses=sum(i.misses for i in infos),
            maxsize=self._options.maxsize,
            currsize=sum(i.currsize for i in infos),
        )

    def cache_clear(self) -> None:
        for memo in self._memos():
            memo.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return self._direct.cache_parameters()


def _defined_in_class_body(fn: object) -> bool:
    """Is ``fn`` a plain function written inside a ``class`` statement?

    Its ``__qualname__`` says so: ``Model.forward``, not ``forward`` nor ``outer.<locals>.f``.
    """
    if not isinstance(fn, types.FunctionType):
        return False
    parts = fn.__qualname__.split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    first = next(iter(inspect.signature(fn).parameters.values()), None)
    return first is not None and first.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)


# --------------------------------------------------------------------------------------------
# The decorator
# --------------------------------------------------------------------------------------------


def _memoize_function(fn: Callable[..., Any], options: _Options) -> Callable[..., Any]:
    template = _Template(fn, options, method=False)
    memo = _Memo(fn, options, template.describe, is_async=template.is_async)
    function = template.instantiate(memo)
    function.__memo__ = memo
    return function


def _decorate(fn: Any, options: _Options) -> Any:
    if isinstance(fn, staticmethod | classmethod):  # @memoize written above @staticmethod
        return type(fn)(_decorate(fn.__func__, options))
    if not callable(fn):
        raise TypeError(
            f"memoize: expected a function to decorate, got {fn!r}; options are keywords, "
            "as in memoize(maxsize=128)"
        )
    if _defined_in_class_body(fn):
        return _MemoizedMethod(fn, options)
    return _memoize_function(fn, options)


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
    options = _validated_options(maxsize, ttl, typed, key, timer)
    if fn is None:

        def decorator(function: F) -> F:
            return _decorate(function, options)

        return decorator
    return _decorate(fn, options)
