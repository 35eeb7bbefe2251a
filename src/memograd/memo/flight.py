"""Single-flight: a missing value is computed once, however many threads ask for it at once.

The protocol is written here once, as the source of the miss path that wrapper.py puts into every
generated wrapper of a plain (not ``async``) function. It runs in the wrapper's own frame, and
calls the user's function from there, for two reasons:

* Recursion depth. Every Python frame between a memoized function and its recursive call costs a
  level of ``sys.getrecursionlimit()``. functools pays two per level (its C wrapper and the
  function); so does this wrapper: itself and the function. A helper holding the computation
  would be a third.
* Safety at that limit. Code of the wrapper's frame runs one level above the function it calls,
  so anything it does around a computation fits wherever the computation itself fitted; a
  helper's calls would run one level deeper and could fail at the limit, halfway through the
  bookkeeping, leaving a key marked as in flight forever. So the bookkeeping calls only C (the
  lock, dict methods, ``Flight()``, the thread id). The two Python helpers run where a failure
  leaves nothing half done: ``Memo.refuse`` inside the computation's ``try`` (its failure is the
  computation's), ``Memo.reinsert`` once the key has landed.

The protocol: the store has handed the wrapper the key's cell (cache.py) and the cell holds no
(fresh) value. Under the cache's lock the wrapper looks at the cell again: a value may have
landed since the first look (another thread's computation just finished; without this second look
that thread's work would be repeated). Then the key's flight in ``flights``:

* none: this thread registers one and computes, with the lock released; then, under the lock, it
  puts the value into the cell and removes the flight, and wakes the threads that waited (no
  thread can start waiting on a flight once it is removed, so ``done`` is settled by then). An
  exception is shared with them (an interruption such as KeyboardInterrupt is not: they try
  again), and nothing is stored, so the next call computes again.
* its own: the function asks for the key it is computing; it is called again, plainly.
* another thread's: wait on the flight's ``done`` lock (created held by the first waiter, released
  by the owner), then look again. With ``timeout=`` the wait is bounded: past it, TimeoutError.

``HIT`` is the wrapper's hit test (with or without ``ttl``), ``CALL`` the user function's
arguments, ``KEY`` what the store was called with. Names start with ``_mg_``: the wrapper's globals
(wrapper.py) and locals, which no parameter of the user's function can shadow.
"""

from __future__ import annotations

MISS = """\
while True:
    with _mg_memo.lock:
        try:
            HIT
        except AttributeError:
            pass
        _mg_flight = _mg_memo.flights.get(_mg_cell)
        if _mg_flight is None:
            _mg_flight = _mg_memo.flights[_mg_cell] = _mg_Flight()
            _mg_flight.owner = _mg_get_ident()
            _mg_memo.computed += 1
            EPOCH
            _mg_flight.epoch = _mg_memo.epoch
            break
        if _mg_flight.owner == _mg_get_ident():
            _mg_memo.computed += 1
            _mg_flight = None
            break
        if _mg_flight.done is None:
            _mg_flight.done = _mg_allocate_lock()
            _mg_flight.done.acquire()
    if not _mg_flight.done.acquire(True, _mg_timeout):
        raise _mg_memo.timed_out()
    _mg_flight.done.release()
    if _mg_flight.error is not None:
        raise _mg_flight.error
if _mg_flight is None:
    return _mg_fn(CALL)
try:
    _mg_value = _mg_fn(CALL)
    if _mg_type(_mg_value) in _mg_ONE_SHOT:
        _mg_memo.refuse(_mg_value)
except BaseException as _mg_error:
    with _mg_memo.lock:
        del _mg_memo.flights[_mg_cell]
        if _mg_isinstance(_mg_error, Exception):
            _mg_flight.error = _mg_error
        if not _mg_hasattr(_mg_cell, "value"):
            _mg_memo.failed.add(_mg_weakref(_mg_cell, _mg_memo.failed.discard))
    if _mg_flight.done is not None:
        _mg_flight.done.release()
    raise
with _mg_memo.lock:
    _mg_cell.value = _mg_value
    BORN
    del _mg_memo.flights[_mg_cell]
    if _mg_memo.failed:
        _mg_memo.failed.discard(_mg_weakref(_mg_cell))
if _mg_flight.done is not None:
    _mg_flight.done.release()
if _mg_flight.epoch != _mg_memo.epoch:
    _mg_memo.reinsert(_mg_cell, KEY)
return _mg_value
"""
"""The miss path, at indentation zero; ``EPOCH`` and ``BORN`` are lines or nothing."""

EPOCH = "_mg_memo.epoch += 1"
"""A bounded cache: a computation starting may evict entries, so the epoch moves on."""

BORN = "_mg_cell.born = _mg_timer()"
"""A ``ttl`` cache: a value's age counts from when it is stored."""
