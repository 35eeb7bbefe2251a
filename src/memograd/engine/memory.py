"""What a graph keeps in memory for its backward pass, counted exactly from the graph itself.

Every node of a memograd graph holds its output array and its op's context (a saved mask, the
softmax of a fused cross-entropy, a checkpoint's record) until the graph is freed, so the memory
a graph keeps alive is exactly the distinct arrays reachable from its root. That is the number
the store-or-recompute trade is about; :func:`graph_memory` walks the graph and adds them up,
each buffer once (views and broadcasts share their base's memory). Nothing is counted while
the graph is built: the walk happens only when asked, so training pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GraphMemory:
    """Distinct arrays kept alive by one or more graphs, and their bytes."""

    arrays: int
    bytes: int


def _base(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory behind a view (the view itself when it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _context_arrays(ctx: Any, found: list[np.ndarray]) -> None:
    """The arrays inside an op's context: arrays, tuples and lists of them, or a record that
    lists what it holds (``held_arrays()``, as a checkpoint's does)."""
    stack = [ctx]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            found.append(item)
        elif isinstance(item, tuple | list):
            stack.extend(item)
        else:
            held = getattr(item, "held_arrays", None)
            if callable(held):
                stack.extend(held())


def graph_memory(
    *roots: Any, extra: Iterable[np.ndarray] = (), exclude: Iterable[Any] = ()
) -> GraphMemory:
    """The distinct arrays that the graphs of ``roots`` keep alive, plus ``extra`` arrays.

    Every node reachable from a root through its parents counts its output array and the arrays
    of its op's context. ``exclude``: Tensors or arrays not to count (a model's parameters,
    which exist whatever the schedule); a view is excluded with its base. Iterative, so any
    depth of graph is fine.
    """
    excluded = {id(_base(getattr(x, "_data", x))) for x in exclude}
    seen_nodes: set[int] = set()
    buffers: dict[int, int] = {}
    keep: list[np.ndarray] = []  # holds the bases while counting, so no id is reused

    def add(array: np.ndarray) -> None:
        base = _base(array)
        key = id(base)
        if key not in excluded and key not in buffers:
            buffers[key] = base.nbytes
            keep.append(base)

    for array in extra:
        add(array)
    stack = [root for root in roots if root is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        add(node._data)
        if node.parents:
            arrays: list[np.ndarray] = []
            _context_arrays(node._ctx, arrays)
            for array in arrays:
                add(array)
            stack.extend(node.parents)
    return GraphMemory(arrays=len(buffers), bytes=sum(buffers.values()))
