"""What a store shared across processes provides, the errors it raises, and how one is named.

``@memoize(store=...)`` takes a :class:`Store`: :class:`~memograd.memo.sqlite_store.SQLiteStore`
(one file, the default persistent store) or :class:`~memograd.memo.redis_store.RedisStore` (a
Redis server shared by machines), or a string naming one (a path, or a ``redis://`` URL).

A store keeps **records** (codec.py) under 32-byte keys (stable_keys.py), grouped by function,
and **leases**: the mark a process leaves on a key while it computes it, so that the other
processes wait for its result instead of computing it too. Every method may raise
:class:`StoreError`; the caller (persistent.py) decides whether that is fatal. Hits are counted
in memory and written back in batches (``touch``), so a hit costs one read of the store.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

Outcome = tuple[str, Any]
"""What ``acquire`` found: ``("value", record)``, ``("acquired", None)``, ``("held", holder)``
or ``("failed", description)``."""

FLUSH_EVERY_HITS = 1000
FLUSH_EVERY_SECONDS = 1.0


class StoreError(OSError):
    """The store cannot be used: unreachable, locked, deleted, full, or not a memograd store.

    ``@memoize(on_store_error="compute")`` (the default) turns it into a warning and computes
    without the store; ``"raise"`` lets it through.
    """


class StoreWarning(RuntimeWarning):
    """A store problem that memoize worked around: computed without the store, or a corrupt
    entry recomputed."""


class ComputationFailed(RuntimeError):
    """Another process computing the same call raised: its exception, described.

    The exception itself is not stored (it may not survive the trip between processes), so the
    callers that were waiting for that computation get this one, naming the original type and
    message; callers that come afterwards compute again.
    """


@dataclass(frozen=True)
class FunctionSummary:
    """One function's entries in a store, for ``memograd cache list``."""

    function: str
    entries: int
    bytes: int
    hits: int
    misses: int
    versions: int
    oldest: float | None  # when the oldest entry was stored (seconds since the epoch)
    newest: float | None  # when an entry was last stored or read

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Store:
    """The interface ``persistent.py`` uses; the hit counters shared by every store.

    ``key`` is a call's 32-byte digest, ``function`` its function's identity, ``head`` the
    start of a record of the current code version (codec.header): an entry of another version
    is a miss. ``now`` is the cache's clock (the time ``ttl`` is measured by).
    """

    kind = "store"
    lease: float = 10.0

    def __init__(self) -> None:
        self._pending: dict[tuple[str, bytes], int] = {}
        self._pending_hits = 0
        self._pending_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self.fault_until = 0.0  # after a StoreError: time.monotonic() until which it is skipped
        self.warned: set[str] = set()  # the kinds of warning given about it in this process
        _LIVE_STORES.add(self)

    # -- the hot path ----------------------------------------------------------------------

    def get(self, function: str, key: bytes, now: float) -> bytes | None:
        """The record stored under ``key``, or None (absent, or expired)."""
        raise NotImplementedError

    def touch(self, function: str, key: bytes) -> None:
        """Count a hit on ``key``: in memory, written back every so many hits or seconds."""
        with self._pending_lock:
            slot = (function, key)  # moved to the end: the batch is in order of last use
            self._pending[slot] = self._pending.pop(slot, 0) + 1
            self._pending_hits += 1
            due = (
                self._pending_hits >= FLUSH_EVERY_HITS
                or time.monotonic() - self._last_flush >= FLUSH_EVERY_SECONDS
            )
        if due:
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        """Write the hits counted so far (``wait=False``: not if the store is busy right now)."""
        with self._pending_lock:
            pending, self._pending, self._pending_hits = self._pending, {}, 0
            self._last_flush = time.monotonic()
        if not pending:
            return
        try:
            written = self._write_hits(pending, wait)
        except StoreError:
            written = False
        if not written:  # busy or unreachable: keep them for the next flush
            with self._pending_lock:
                for slot, count in pending.items():
                    self._pending[slot] = self._pending.get(slot, 0) + count
                    self._pending_hits += count

    def _write_hits(self, pending: dict[tuple[str, bytes], int], wait: bool) -> bool:
        raise NotImplementedError

    def _forget_hits(self, function: str | None) -> None:
        with self._pending_lock:
            for slot in [s for s in self._pending if function is None or s[0] == function]:
                self._pending_hits -= self._pending.pop(slot)

    # -- leases ------------------------------------------------------------------------------

    def acquire(
        self, function: str, key: bytes, head: bytes, token: str, seen: str | None, now: float
    ) -> Outcome:
        """Take the lease on ``key`` unless a value or a live lease is there; see ``Outcome``.

        ``seen`` is the holder the caller has been waiting for: a failure left by that holder
        is reported (``"failed"``); any other failure record is free to take over.
        """
        raise NotImplementedError

    def renew(self, function: str, key: bytes, token: str) -> bool:
        """Extend the lease ``token`` holds; False if it is not held any more."""
        raise NotImplementedError

    def put(
        self,
        function: str,
        key: bytes,
        version: str,
        record: bytes,
        token: str | None,
        now: float,
        ttl: float | None,
        maxsize: int | None,
    ) -> None:
        """Store ``record``, release the lease, evict what ``ttl`` and ``maxsize`` say."""
        raise NotImplementedError

    def fail(self, function: str, key: bytes, token: str, description: str) -> None:
        """Leave a failure record for the callers waiting on ``token``, then free the key."""
        raise NotImplementedError

    def release(self, function: str, key: bytes, token: str) -> None:
        """Give the lease up without a value (the computation was interrupted)."""
        raise NotImplementedError

    def discard(self, function: str, key: bytes, record: bytes) -> None:
        """Delete the entry under ``key`` if it still is ``record`` (a corrupt one)."""
        raise NotImplementedError

    # -- statistics and housekeeping ---------------------------------------------------------

    def statistics(self, function: str, version: str, now: float) -> tuple[int, int, int]:
        """(hits, misses, entries of this version that have not expired), over every process."""
        raise NotImplementedError

    def clear(self, function: str | None = None) -> int:
        """Remove one function's entries (all of them: None) and reset its counts; how many."""
        raise NotImplementedError

    def functions(self) -> list[FunctionSummary]:
        """Every function with entries or counts in the store."""
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """The store as a whole: where, how big, how many entries and functions."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the store is, for messages (a path, or a URL without its password)."""
        raise NotImplementedError

    def _after_fork(self) -> None:
        """In a child process: the parent's connections and counts are not the child's."""
        with self._pending_lock:
            self._pending, self._pending_hits = {}, 0


_LIVE_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for store in list(_LIVE_STORES):
        store._pending_lock = threading.Lock()
        store._after_fork()


def _flush_at_exit() -> None:
    """The hits counted since the last batch, waiting for a busy store as any write does (so
    that processes ending together all count theirs)."""
    for store in list(_LIVE_STORES):
        try:
            store.flush(wait=True)
        except Exception:  # noqa: BLE001 - exiting: a store that cannot be reached keeps its counts
            pass


os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(_flush_at_exit)
