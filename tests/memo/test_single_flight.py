"""Single-flight: however threads interleave, a key is computed once while its entry is cached."""

from __future__ import annotations

import sys
import threading

import pytest

from memograd.memo import memoize

# Every test here runs on the C front and on the pure-Python wrapper (tests/memo/conftest.py).
pytestmark = pytest.mark.usefixtures("hit_path")


class _HeldBack:
    """The cache's lock, except that one thread's first acquisition waits for an event first.

    It puts a thread exactly where a race would: past its look-up in the store (which found no
    value), not yet holding the lock under which a computation starts.
    """

    def __init__(self, lock, thread_name: str, arrived: threading.Event, go: threading.Event):
        self.lock = lock
        self.thread_name = thread_name
        self.arrived = arrived
        self.go = go
        self.held_once = False

    def _hold(self) -> None:
        if threading.current_thread().name == self.thread_name and not self.held_once:
            self.held_once = True
            self.arrived.set()
            assert self.go.wait(10), "the other thread never finished"

    def __enter__(self):
        self._hold()
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)

    def acquire(self, *args, **kwargs):
        self._hold()
        return self.lock.acquire(*args, **kwargs)

    def release(self):
        return self.lock.release()


@pytest.mark.parametrize("options", [{}, {"maxsize": 8}, {"ttl": 60.0}, {"key": lambda x: x}])
def test_a_thread_that_missed_during_a_flight_and_locks_after_it_landed_reuses_its_value(options):
    """The interleaving of the race, made to happen every time.

    Thread A computes the key. Thread B asks for it while A computes, so B finds no value; B is
    then held back before the lock until A's call has returned completely. B must take A's value
    instead of computing again: the value is checked again under the lock.
    """
    runs = []
    b_missed, a_returned = threading.Event(), threading.Event()

    @memoize(**options)
    def slow(x):
        runs.append(threading.current_thread().name)
        assert b_missed.wait(10), "thread B never reached the lock"
        return [x]

    memo = slow.__memo__
    memo.lock = _HeldBack(memo.lock, "B", arrived=b_missed, go=a_returned)
    results = {}

    def first():
        results["A"] = slow(1)
        a_returned.set()

    def second():
        results["B"] = slow(1)

    a = threading.Thread(target=first, name="A")
    b = threading.Thread(target=second, name="B")
    a.start()
    b.start()
    a.join(20)
    b.join(20)
    assert not a.is_alive() and not b.is_alive()
    assert runs == ["A"]
    assert results["B"] is results["A"]
    assert slow.cache_info().misses == 1 and slow.cache_info().hits == 1


def test_many_threads_hammering_few_keys_compute_each_key_once():
    """The report that found the race: 16 threads x 1000 calls over 200 keys, switching often."""
    runs = []

    @memoize
    def square(x):
        runs.append(x)
        return x * x

    def worker(seed):
        for i in range(1000):
            key = (seed * 7919 + i * 104729) % 200
            assert square(key) == key * key

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(previous)
    assert sorted(runs) == sorted(set(runs))
    assert square.cache_info().misses == len(runs)
    assert square.cache_info().hits + square.cache_info().misses == 16 * 1000
