"""``async def`` support: the awaited result is cached, and concurrent awaits share one task.

A coroutine function's cache stores a ``Cell`` per key like a ``ttl`` cache (cache.py); this
module fills it. Threads would wait on an Event (flight.py); coroutines of one event loop must
not block it, so here the shared computation is an ``asyncio`` task that every caller awaits.
"""

from __future__ import annotations

import functools
from typing import Any

from memograd.memo.cache import Cell, Memo


async def fill_async(memo: Memo, cell: Cell, *args: Any, **kwargs: Any) -> Any:
    """The coroutine twin of ``Memo.fill``: one task computes, every concurrent caller awaits it.

    The computation runs as its own task, so a caller that is cancelled does not cancel it
    for the others; ``asyncio.shield`` keeps each caller's cancellation its own.
    """
    import asyncio  # here, not at the top: ``import memograd`` should not pay for asyncio

    loop = asyncio.get_running_loop()
    while True:
        with memo.lock:
            task = cell.flight
            if task is not None and task.done():
                _settle_task(memo, cell, task)  # its callback may not have run yet
                task = None
            if memo.fresh(cell):
                return cell.value
            reenter = task is not None and task is asyncio.current_task()
            if not reenter and (task is None or task.get_loop() is not loop):
                task = asyncio.ensure_future(memo.fn(*args, **kwargs), loop=loop)
                cell.flight = task
                memo.computed += 1
                # Registered before any caller awaits, so the cell is settled (value stored or
                # flight cleared) before any caller resumes: the next call sees the outcome.
                task.add_done_callback(functools.partial(_on_task_done, memo, cell))
        if reenter:  # the computation awaits its own key: plain recursion
            return await memo.fn(*args, **kwargs)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and not (current is not None and current.cancelling()):
                continue  # the shared computation was cancelled, not this caller: retry
            raise


def _on_task_done(memo: Memo, cell: Cell, task: Any) -> None:
    with memo.lock:
        _settle_task(memo, cell, task)


def _settle_task(memo: Memo, cell: Cell, task: Any) -> None:
    # task.exception() also marks a failure as retrieved: the callers got it, no log needed.
    if not task.cancelled() and task.exception() is None:
        memo.store_value(cell, task.result())
    memo.settle_cell(cell, task)
