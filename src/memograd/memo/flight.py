"""Single-flight: a missing value is computed once, however many threads ask for it at once.

Both ways a cache is filled go through ``fly``: a plain cache's miss handler, whose flight stands
in the cache's table of pending keys, and the filling of a ``ttl`` cell, whose flight sits in
the cell. What differs (where a key's flight is found, where a computed value goes) is the
cache's ``Lanes``; the protocol itself is written once, here. Coroutines do not come here: their
shared computation is an ``asyncio`` task (aio.py).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

NOTHING: Any = object()
"""What ``Lanes.stored`` returns when there is no value to hand out without computing."""


class Flight:
    """One computation in progress: the thread running it, and how others wait for its outcome."""

    __slots__ = ("owner", "done", "ok", "value", "error")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done: threading.Event | None = None  # created only when a second thread must wait
        self.ok = False
        self.value: Any = None
        self.error: BaseException | None = None

    def wake(self) -> None:
        """Let the threads waiting for the outcome read it (set before this is called)."""
        if self.done is not None:
            self.done.set()


class Lanes(ABC):
    """How one cache runs its keys through ``fly``: where a key's flight is registered, where its
    value goes, how it is computed.

    One object serves every key of a cache (``fly`` runs on each miss, so nothing is built per
    key); ``slot`` names the key, in whatever form the cache finds it by. The methods marked
    "lock held" run under the lock passed to ``fly``; the others without it, since they run the
    user's function or the store.
    """

    __slots__ = ()

    def stored(self, slot: Any) -> Any:
        """(Lock held.) A value to return without computing, or ``NOTHING``."""
        return NOTHING

    @abstractmethod
    def find(self, slot: Any) -> Flight | None:
        """(Lock held.) The key's computation in progress, if any."""

    @abstractmethod
    def board(self, slot: Any, flight: Flight) -> None:
        """(Lock held.) Register ``flight`` as the key's computation; this thread runs it."""

    @abstractmethod
    def release(self, slot: Any, flight: Flight) -> None:
        """(Lock held.) The computation failed: stop answering for the key with ``flight``."""

    @abstractmethod
    def keep(self, slot: Any, flight: Flight, value: Any) -> None:
        """(Lock held, before the waiting threads wake.) The computation succeeded.

        A cache that stops answering for the key here must, in the same locked section, put the
        value where the next call finds it.
        """

    @abstractmethod
    def hand_off(self, slot: Any, flight: Flight, args: tuple, kwargs: dict) -> None:
        """(After the waiting threads woke.) Whatever must not hold them up: store calls."""

    @abstractmethod
    def compute(self, args: tuple, kwargs: dict) -> Any:
        """Run the user's function for the key."""

    @abstractmethod
    def recurse(self, args: tuple, kwargs: dict) -> Any:
        """Run the user's function for a key this very thread is computing (plain recursion)."""


def fly(lock: threading.RLock, lanes: Lanes, slot: Any, args: tuple, kwargs: dict) -> Any:
    """The key's value: computed here, or the outcome of the thread already computing it.

    ``lock`` guards the bookkeeping only; the user's function always runs with it released, so
    other keys compute in parallel.
    """
    me = threading.get_ident()
    while True:
        with lock:
            value = lanes.stored(slot)
            if value is not NOTHING:
                return value
            flight = lanes.find(slot)
            if flight is None:
                flight = Flight(me)
                lanes.board(slot, flight)
                break  # this thread computes
            if flight.ok:  # computed; the key is still answered for during its hand-off
                return flight.value
            recursion = flight.owner == me
            if not recursion and flight.done is None:
                flight.done = threading.Event()
        if recursion:  # the function asks for the key it is computing: plain recursion
            return lanes.recurse(args, kwargs)
        flight.done.wait()  # type: ignore[union-attr]
        if flight.ok:
            return flight.value
        if isinstance(flight.error, Exception):
            raise flight.error
        # The computing thread was interrupted (KeyboardInterrupt, SystemExit): that is its
        # own business, not an outcome to share. Try again; this thread may compute.
    try:
        value = lanes.compute(args, kwargs)
    except BaseException as error:
        with lock:
            flight.error = error
            lanes.release(slot, flight)
        flight.wake()
        raise
    with lock:
        flight.ok, flight.value = True, value
        lanes.keep(slot, flight, value)
    # A thread finding the flight from now on returns its value; one that found it before made
    # the Event under the lock, so waking after the lock is released misses nobody.
    flight.wake()
    lanes.hand_off(slot, flight, args, kwargs)
    return value
