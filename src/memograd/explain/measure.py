"""Wall-clock time of the engine's naive and sweep backward passes on the cost-table nets.

The counted multiplications of :mod:`memograd.explain.cost` are a model; this module runs
the engine's real ``loss.backward(strategy="naive")`` and ``strategy="sweep"`` on the
scalar ``Value`` graph of the same ``w-w-...-w-1`` network to show the model is real time.
The naive strategy enumerates paths, so it runs only where the engine's own path budget
(``max_paths``) lets it; beyond that the row keeps ``naive_seconds = None``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from memograd.explain.arch import parse_arch
from memograd.explain.cost import CostRow, uniform_arch
from memograd.explain.gradient import build_value_graph
from memograd.explain.network import build_network

DEFAULT_NAIVE_BUDGET = 20_000
"""Engine paths allowed for a timed naive run: enough to show the curve, quick on a laptop."""

DEFAULT_REPEATS = 3
"""Runs per strategy and depth; the best is kept."""


def time_backward(
    width: int,
    depth: int,
    strategy: str,
    *,
    max_paths: int = DEFAULT_NAIVE_BUDGET,
    repeats: int = DEFAULT_REPEATS,
    seed: int = 0,
    inputs: int | None = None,
) -> float | None:
    """Best-of-``repeats`` seconds of one ``backward(strategy=...)``, graph building excluded.

    Returns None when the engine refuses the naive strategy because the graph has more
    paths than ``max_paths`` (it raises ValueError naming the count before doing any work).
    """
    network = build_network(uniform_arch(width, depth, inputs), seed=seed)
    best = float("inf")
    for _ in range(max(1, repeats)):
        graph = build_value_graph(network)
        started = time.perf_counter()
        try:
            if strategy == "naive":
                graph.loss.backward(strategy="naive", max_paths=max_paths)
            else:
                graph.loss.backward(strategy=strategy)
        except ValueError:
            if strategy == "naive":
                return None
            raise
        best = min(best, time.perf_counter() - started)
    return best


def measure_cost_table(
    rows: Sequence[CostRow],
    *,
    max_paths: int = DEFAULT_NAIVE_BUDGET,
    repeats: int = DEFAULT_REPEATS,
) -> list[CostRow]:
    """``rows`` with ``naive_seconds`` and ``sweep_seconds`` filled in.

    Once the naive run is refused at one depth it is not tried deeper: the path count only
    grows with depth.
    """
    measured, naive_fits = [], True
    for row in rows:
        inputs = parse_arch(row.arch).sizes[0]
        sweep = time_backward(row.width, row.depth, "sweep", repeats=repeats, inputs=inputs)
        naive = None
        if naive_fits:
            naive = time_backward(
                row.width, row.depth, "naive", max_paths=max_paths, repeats=repeats, inputs=inputs
            )
            naive_fits = naive is not None
        measured.append(dataclasses.replace(row, naive_seconds=naive, sweep_seconds=sweep))
    return measured
