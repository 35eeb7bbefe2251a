"""``async def`` support: the awaited result is cached, and concurrent awaits share one task.

A coroutine function's store holds a ``Cell`` per key like any other (cache.py); this module
fills it. Threads wait on a lock (flight.py); coroutines of one event loop must not block it, so
here the shared computation is an ``asyncio`` task, registered in ``Memo.flights`` under the
cell, that every caller awaits.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from memograd.memo.cache import Cell, Memo


def _fresh(memo: Memo, cell: Cell) -> bool:
    try:
        born = cell.born
    except AttributeError:
        return hasattr(cell, "value") and memo.options.ttl is None
    return memo.options.ttl is None or memo.options.timer() - born < memo.options.ttl


async def fill_async(memo: Memo, cell: Cell, *args: Any, **kwargs: Any) -> Any:
    """Give ``cell`` a value: start the computation as a task, or await the one running.

    The computation runs as its own task, so a caller that is cancelled does not cancel it
    for the others; ``asyncio.shield`` keeps each caller's cancellation its own.
    """
    import asyncio  # here, not at the top: ``import memograd`` should not pay for asyncio

    loop = asyncio.get_running_loop()
    while True:
        created = False
        with memo.lock:
            task = memo.flights.get(cell)
            if task is not None and task.done():
                _settle(memo, cell, task)  # its callback may not have run yet
                task = None
            if _fresh(memo, cell):
                return cell.value
            reenter = task is not None and task is asyncio.current_task()
            if reenter:
                memo.computed += 1
            elif task is None or task.get_loop() is not loop:
                task = asyncio.ensure_future(memo.fn(*args, **kwargs), loop=loop)
                created = True
                memo.flights[cell] = task
                memo.computed += 1
                # Registered before any caller awaits, so the cell is settled (value stored or
                # flight removed) before any caller resumes: the next call sees the outcome.
                task.add_done_callback(functools.partial(_on_done, memo, cell))
        if reenter:  # the computation awaits its own key: plain recursion
            return await memo.fn(*args, **kwargs)
        try:
            if memo.options.timeout is None or created:
                return await asyncio.shield(task)
            return await asyncio.wait_for(asyncio.shield(task), memo.options.timeout)
        except TimeoutError:
            if task.done():  # the function's own TimeoutError
                raise
            raise memo.timed_out() from None
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and not (current is not None and current.cancelling()):
                continue  # the shared computation was cancelled, not this caller: retry
            raise


def _on_done(memo: Memo, cell: Cell, task: Any) -> None:
    with memo.lock:
        _settle(memo, cell, task)


def _settle(memo: Memo, cell: Cell, task: Any) -> None:
    """(Lock held.) Store the task's result in the cell, or only free the key for a new try."""
    if memo.flights.get(cell) is not task:
        return  # settled already, by the caller that found it done or by this callback
    del memo.flights[cell]
    # task.exception() also marks a failure as retrieved: the callers got it, no log needed.
    if task.cancelled() or task.exception() is not None:
        if not hasattr(cell, "value"):
            memo.failed.add(weakref.ref(cell, memo.failed.discard))
        return
    cell.value = task.result()
    if memo.options.ttl is not None:
        cell.born = memo.options.timer()
    memo.failed.discard(weakref.ref(cell))
