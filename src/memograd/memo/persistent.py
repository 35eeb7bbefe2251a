"""A memoized function whose cache is a store shared across processes (SQLite, Redis).

The wrapper (wrapper.py, with the user's signature) calls :meth:`StoredMemo.lookup` with the
arguments as the in-memory cache would key them; a hit is decoded and returned. A miss goes to
:meth:`StoredMemo.fill`, which computes each key **once across every thread and process**:

1. Threads of this process asking for the same key find one in-process flight: one of them goes
   on, the others wait for its outcome (as the in-memory cache does), so one caller per process
   talks to the store about the key.
2. That caller asks the store for the key's **lease** (store.py). Taken: it computes, and a
   background thread renews the lease while it does. Held by another process: it polls (2 ms,
   growing to 100 ms) until the value lands, the holder's failure is recorded, or the lease
   expires because its holder died; then it takes the lease over and computes. ``timeout=``
   bounds the wait (TimeoutError).
3. The value is stored with its checksum (codec.py) and the lease released in one transaction;
   the waiting threads and processes read it. An exception is never stored: this process's
   waiting threads get it, other processes' waiting callers a :class:`ComputationFailed`
   describing it, and the next call computes again.

Faults: any StoreError (unreachable, locked, deleted, full) either propagates
(``on_store_error="raise"``) or, by default, is reported once per store and process as a
:class:`StoreWarning` while the function computes without the store; the store is tried again
after ``RETRY_SECONDS``. A corrupt entry is warned about, deleted and recomputed.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
import types
import uuid
import warnings
from collections.abc import Callable
from typing import Any

from memograd.memo import codec
from memograd.memo.cache import CacheInfo
from memograd.memo.options import Describe, Options
from memograd.memo.stable_keys import (
    UnkeyableError,
    call_digest,
    describe_unkeyable,
    encode,
    fingerprint,
    function_identity,
    key_digest,
    key_prefix,
)
from memograd.memo.store import ComputationFailed, Store, StoreError, StoreWarning

MISSING: Any = object()
"""What a lookup returns when it has no value (any value, None included, can be cached)."""

RETRY_SECONDS = 5.0
"""After a store error (on_store_error="compute"), calls compute without it for this long."""

FIRST_PAUSE, LONGEST_PAUSE = 0.002, 0.1
"""How often a caller waiting for another process's computation looks again."""

_ONE_SHOT = (types.GeneratorType, types.CoroutineType)


class _Flight:
    """One thread's computation of a key, which this process's other threads wait for.

    ``result`` is (value, payload): waiters decode their own copy of a stored payload, and get
    the value itself when there is none (it came from the store already, or the store was off).
    """

    __slots__ = ("owner", "done", "result", "error")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done = threading.Event()
        self.result: tuple[Any, Any] | None = None
        self.error: BaseException | None = None


class StoredMemo:
    """The store-backed cache of one memoized function (the wrapper's ``__memo__``)."""

    def __init__(self, fn: Callable[..., Any], options: Options, describe: Describe) -> None:
        self.fn = fn
        self.options = options
        self.describe = describe
        self.store: Store = options.store
        self.identity = function_identity(fn)
        self.prefix = key_prefix(self.identity)
        self.version = self.head = None  # the code's label, taken at the first call
        self.clock = time.time if options.timer is time.monotonic else options.timer
        self.raise_errors = options.on_store_error == "raise"
        self.lock = threading.Lock()
        self.flights: dict[bytes, _Flight] = {}
        self.tasks: dict[bytes, Any] = {}  # asyncio tasks computing a key, for async def

    # -- the wrapper's entry points ----------------------------------------------------------

    def label(self) -> bytes:
        """The start of this code's records: the fingerprint, taken at the first call (when
        the names the function uses are all defined)."""
        if self.head is None:
            self.version = fingerprint(self.fn, self.options.key, self.options.version)
            self.head = codec.header(self.options.serializer, self.version)
        return self.head

    def lookup(self, *args: Any, **kwargs: Any) -> tuple[bytes | None, Any]:
        """(key, value) for a call; value is MISSING on a miss, key None if the store is off."""
        if self.head is None:
            self.label()
        try:
            key = call_digest(self.prefix, args, kwargs, self.options.typed)
        except UnkeyableError:
            self._explain_unkeyable(args, kwargs)
            raise
        return self._read(key)

    def lookup_key(self, user_key: Any) -> tuple[bytes | None, Any]:
        """The same for the result of a ``key=`` function."""
        if self.head is None:
            self.label()
        try:
            key = key_digest(self.prefix, user_key, self.options.typed)
        except UnkeyableError as error:
            raise TypeError(
                describe_unkeyable(
                    error, f"the key function's result{error.path}", self.describe.name
                )
            ) from None
        return self._read(key)

    def _read(self, key: bytes) -> tuple[bytes | None, Any]:
        store = self.store
        if store.fault_until and not self.raise_errors and time.monotonic() < store.fault_until:
            return None, MISSING
        try:
            record = store.get(self.identity, key, self.clock())
        except StoreError as error:
            self._fault(error)
            return None, MISSING
        if record is None:
            return key, MISSING
        value = self._decode(key, record)
        if value is not MISSING:
            store.touch(self.identity, key)
        return key, value

    def fill(self, key: bytes | None, *args: Any, **kwargs: Any) -> Any:
        """Compute a missed call once across threads and processes, store it, return it."""
        if key is None:
            return self._checked(self.fn(*args, **kwargs))
        me = threading.get_ident()
        while True:
            with self.lock:
                flight = self.flights.get(key)
                if flight is None:
                    flight = self.flights[key] = _Flight(me)
                    break
            if flight.owner == me:  # the function asks for the key it is computing
                return self.fn(*args, **kwargs)
            if not flight.done.wait(self.options.timeout):
                raise self._timeout(f"another thread of process {os.getpid()}")
            if flight.error is not None:
                raise flight.error
            if flight.result is not None:
                value, payload = flight.result
                if payload is None:
                    return value
                self.store.touch(self.identity, key)
                return codec.loads(payload, self.options.serializer)
            # the computing thread was interrupted: try again
        try:
            flight.result = value, _ = self._across_processes(key, args, kwargs)
        except BaseException as error:
            if isinstance(error, Exception):
                flight.error = error
            raise
        finally:
            with self.lock:
                del self.flights[key]
            flight.done.set()
        return value

    async def fill_async(self, key: bytes | None, *args: Any, **kwargs: Any) -> Any:
        """``fill`` for an ``async def``: one task per key and event loop, awaited by all."""
        import asyncio  # here, not at the top: ``import memograd`` should not pay for asyncio

        if key is None:
            return await self.fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        with self.lock:
            task = self.tasks.get(key)
            if task is not None and (task.done() or task.get_loop() is not loop):
                task = None
            mine = task is None
            if mine:
                task = loop.create_task(self._across_processes_async(key, args, kwargs))
                self.tasks[key] = task
                task.add_done_callback(functools.partial(self._task_done, key))
        if task is asyncio.current_task():  # the computation awaits its own key
            return await self.fn(*args, **kwargs)
        waiting = asyncio.shield(task)
        if not mine and self.options.timeout is not None:
            try:
                value, payload = await asyncio.wait_for(waiting, self.options.timeout)
            except TimeoutError:
                if task.done():  # the function's own TimeoutError
                    raise
                raise self._timeout("another task of this process") from None
        else:
            value, payload = await waiting
        if mine or payload is None:
            return value
        self.store.touch(self.identity, key)
        return codec.loads(payload, self.options.serializer)

    def _task_done(self, key: bytes, task: Any) -> None:
        with self.lock:
            if self.tasks.get(key) is task:
                del self.tasks[key]

    # -- one computation across processes ----------------------------------------------------

    def _across_processes(self, key: bytes, args: tuple, kwargs: dict) -> tuple[Any, Any]:
        """(value, payload to share or None): read the key, wait for it, or compute it."""
        token = _new_token()
        claims = self._claims(key, token)
        try:
            while True:
                time.sleep(next(claims))
        except StopIteration as stop:
            outcome = stop.value
        if outcome is None:  # the store failed: compute without it
            return self._checked(self.fn(*args, **kwargs)), None
        if outcome[0] == "value":
            return outcome[1]
        try:
            value = self._checked(self.fn(*args, **kwargs))
        except BaseException as error:
            self._give_up(key, token, error)
            raise
        return self._keep(key, token, value)

    async def _across_processes_async(
        self, key: bytes, args: tuple, kwargs: dict
    ) -> tuple[Any, Any]:
        """``_across_processes`` for an ``async def``: waits by ``asyncio.sleep``."""
        import asyncio

        token = _new_token()
        claims = self._claims(key, token)
        try:
            while True:
                await asyncio.sleep(next(claims))
        except StopIteration as stop:
            outcome = stop.value
        if outcome is None:
            return await self.fn(*args, **kwargs), None
        if outcome[0] == "value":
            return outcome[1]
        try:
            value = await self.fn(*args, **kwargs)
        except BaseException as error:
            self._give_up(key, token, error)
            raise
        return self._keep(key, token, value)

    def _claims(self, key: bytes, token: str) -> Any:
        """Ask for the key's lease until there is an answer; yield how long to sleep between.

        Returns (through StopIteration) ``("acquired", None)``, with the lease held and renewed
        from here on; ``("value", (value, payload))``, another process's result, counted as a
        hit; or None when the store failed. Raises ComputationFailed or TimeoutError.
        """
        deadline = None if self.options.timeout is None else time.monotonic() + self.options.timeout
        seen: str | None = None
        pause = FIRST_PAUSE
        while True:
            outcome = self._claim(key, token, seen)
            if outcome is None or outcome[0] != "held":
                break
            seen = outcome[1]
            pause = self._pause(deadline, pause, seen)
            yield pause
        if outcome is not None and outcome[0] == "value":
            self.store.touch(self.identity, key)
        elif outcome is not None:
            _RENEWER.hold(self.store, self.identity, key, token)
        return outcome

    def _keep(self, key: bytes, token: str, value: Any) -> tuple[Any, bytes]:
        """Store a computed value and release the lease; (value, its payload)."""
        try:
            payload = self._payload(value)
        except BaseException as error:
            self._give_up(key, token, error)
            raise
        _RENEWER.drop(token)
        self._put(key, token, payload)
        return value, payload

    def _claim(self, key: bytes, token: str, seen: str | None) -> tuple[str, Any] | None:
        """The store's answer for the key, (value, payload) for a record; None if it failed.

        A "failed" answer raises :class:`ComputationFailed` here; a corrupt record has been
        removed, and the key is asked for again.
        """
        while True:
            try:
                kind, found = self.store.acquire(
                    self.identity, key, self.head, token, seen, self.clock()
                )
            except StoreError as error:
                self._fault(error)
                return None
            if kind == "failed":
                raise ComputationFailed(
                    f"memoize: {self.describe.name}() raised in the process computing the same "
                    f"arguments, which this call waited for: {found}"
                )
            if kind != "value":
                return kind, found
            decoded = self._decoded(key, found)
            if decoded is not None:
                return kind, decoded

    def _pause(self, deadline: float | None, pause: float, holder: str) -> float:
        """How long to sleep before looking again; TimeoutError once ``timeout`` has passed."""
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._timeout(f"process {holder.split('/')[0]}")
            return min(pause * 1.5, LONGEST_PAUSE, left)
        return min(pause * 1.5, LONGEST_PAUSE)

    def _put(self, key: bytes, token: str, payload: bytes) -> None:
        record = codec.pack(key, self.head, payload)
        options = self.options
        try:
            self.store.put(
                self.identity,
                key,
                self.version,
                record,
                token,
                self.clock(),
                options.ttl,
                options.maxsize,
            )
        except StoreError as error:
            self._settle_quietly(key, token, None)
            self._fault(error)

    def _give_up(self, key: bytes, token: str, error: BaseException) -> None:
        """The computation raised: its waiters learn it (an interruption just frees the key)."""
        _RENEWER.drop(token)
        description = None
        if isinstance(error, Exception):
            kind = type(error)
            text = " ".join(str(error).split())[:2000]
            description = (
                f"{kind.__module__}.{kind.__qualname__}: {text}" if text else kind.__qualname__
            )
        self._settle_quietly(key, token, description)

    def _settle_quietly(self, key: bytes, token: str, failure: str | None) -> None:
        try:
            if failure is None:
                self.store.release(self.identity, key, token)
            else:
                self.store.fail(self.identity, key, token, failure)
        except StoreError:
            pass  # the lease expires on its own; the caller has a more telling error

    # -- values ------------------------------------------------------------------------------

    def _checked(self, value: Any) -> Any:
        if isinstance(value, _ONE_SHOT):
            value.close()
            raise TypeError(
                f"memoize: {self.describe.name}() returned a {type(value).__name__}, which can be "
                "used only once; return a tuple or list (or decorate the async def itself)"
            )
        return value

    def _payload(self, value: Any) -> bytes:
        try:
            return codec.dumps(value, self.options.serializer)
        except codec.Unstorable as error:
            raise TypeError(codec.refusal_message(error, self.describe.name)) from None
        except Exception as error:  # noqa: BLE001 - pickle's many ways to refuse
            raise TypeError(
                f"memoize: cannot pickle the result of {self.describe.name}() for its store: "
                f"{type(error).__name__}: {error}"
            ) from None

    def _decode(self, key: bytes, record: bytes) -> Any:
        """The value in ``record``, or MISSING (another code version; or corrupt: removed)."""
        decoded = self._decoded(key, record)
        return MISSING if decoded is None else decoded[0]

    def _decoded(self, key: bytes, record: bytes) -> tuple[Any, memoryview] | None:
        """(value, payload) of ``record``, or None (another code version; or corrupt: removed)."""
        try:
            payload = codec.unpack(key, self.head, record)
            return codec.loads(payload, self.options.serializer), payload
        except LookupError:
            return None
        except codec.CorruptRecord as error:
            self._warn(
                "corrupt",
                f"memoize: an entry of {self.describe.name}() in the store "
                f"{self.store.describe()} is corrupt ({error}); it is recomputed and replaced",
            )
            try:
                self.store.discard(self.identity, key, record)
            except StoreError as store_error:
                self._fault(store_error)
            return None

    # -- faults ------------------------------------------------------------------------------

    def _fault(self, error: StoreError) -> None:
        """Raise it (on_store_error="raise"), or warn once and go on without the store."""
        if self.raise_errors:
            raise error
        self.store.fault_until = time.monotonic() + RETRY_SECONDS
        self._warn(
            "fault",
            f"memoize: {self.describe.name}() computes without its store: {error} "
            f"(on_store_error='compute'; warned once per store and process, tried again every "
            f"{RETRY_SECONDS:g} s)",
        )

    def _warn(self, kind: str, message: str) -> None:
        warned = self.store.warned
        if kind in warned:
            return
        warned.add(kind)
        warnings.warn(StoreWarning(message), stacklevel=4)

    def _timeout(self, holder: str) -> TimeoutError:
        return TimeoutError(
            f"memoize: {self.describe.name}() waited timeout={self.options.timeout:g} s for "
            f"{holder} computing the same arguments"
        )

    def _explain_unkeyable(self, args: tuple, kwargs: dict[str, Any]) -> None:
        named = [(self.describe.positional(i), value) for i, value in enumerate(args)]
        named += list(kwargs.items())
        for name, value in named:
            try:
                encode(value, self.options.typed)
            except UnkeyableError as error:
                raise TypeError(
                    describe_unkeyable(error, f"argument '{name}{error.path}'", self.describe.name)
                ) from None

    # -- statistics --------------------------------------------------------------------------

    def cache_info(self):  # noqa: ANN201 - functools' signature, "()"
        """Hits, misses and entries of this function in the store, over every process."""
        self.label()
        hits, misses, currsize = self.store.statistics(self.identity, self.version, self.clock())
        maxsize = self.options.maxsize
        return CacheInfo(hits=hits, misses=misses, maxsize=maxsize, currsize=currsize)

    def cache_clear(self):  # noqa: ANN201
        """Remove this function's entries from the store (for every process) and its counts."""
        self.store.clear(self.identity)

    def cache_parameters(self) -> dict[str, Any]:
        return self.options.parameters()


def _new_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}/{uuid.uuid4().hex}"


class _Renewer:
    """One daemon thread per process renewing the leases this process holds while it computes.

    Each lease is renewed once a third of its duration has passed since it was taken or last
    renewed. A renewal that finds the lease gone (this process stalled past it and another took
    over) stops renewing it; the value computed here is still stored, and is the same value.
    """

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.held: dict[str, tuple[Store, str, bytes, float]] = {}
        self.thread: threading.Thread | None = None

    def hold(self, store: Store, function: str, key: bytes, token: str) -> None:
        with self.lock:
            self.held[token] = (store, function, key, time.monotonic())
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="memograd-lease-renewer", daemon=True
                )
                self.thread.start()
            self.lock.notify()

    def drop(self, token: str) -> None:
        with self.lock:
            self.held.pop(token, None)

    def _run(self) -> None:
        while True:
            with self.lock:
                while True:
                    now = time.monotonic()
                    due = [
                        (token, entry)
                        for token, entry in self.held.items()
                        if now - entry[3] >= entry[0].lease / 3
                    ]
                    if due:
                        break
                    wake = min(
                        (entry[3] + entry[0].lease / 3 for entry in self.held.values()),
                        default=None,
                    )
                    self.lock.wait(None if wake is None else max(wake - now, 0.001))
            for token, (store, function, key, _) in due:
                try:
                    kept = store.renew(function, key, token)
                except StoreError:
                    kept = True  # try again in a third of the lease; if the store stays away,
                    # the lease expires and another process may compute the key too
                with self.lock:
                    if token in self.held:
                        if kept:
                            self.held[token] = (store, function, key, time.monotonic())
                        else:
                            del self.held[token]

    def after_fork(self) -> None:
        self.lock = threading.Condition()
        self.held = {}
        self.thread = None


_RENEWER = _Renewer()
os.register_at_fork(after_in_child=_RENEWER.after_fork)
