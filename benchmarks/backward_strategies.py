"""The three backward strategies on scalar MLPs of growing depth: time and work.

On a dense network of width ``w`` the number of output-to-weight paths grows
like ``w ** depth``: ``naive`` multiplies every one out, while ``memo`` and
``sweep`` cross each edge once. The VJP counts come from the engine's own
``backward(..., stats=True)``; the bench only times and tabulates them.
"""

from __future__ import annotations

import math
import random
import statistics
import time

from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.engine import BACKWARD_STRATEGIES, Value, paths_to_nodes
from memograd.timing import collector_sees_only_new_objects

WIDTH = 3
REFERENCE = "sweep"


def scalar_mlp_loss(width: int, depth: int, seed: int) -> tuple[Value, list[Value]]:
    """A tanh MLP ``width -> width (x depth) -> 1`` on one input, squared error to 1.

    Returns the loss node and the weights, whose gradients every strategy must agree on.
    """
    rng = random.Random(seed)
    inputs = [Value(rng.uniform(-1, 1), requires_grad=False) for _ in range(width)]
    params = []
    hidden = inputs
    for layer in range(depth + 1):
        fan_out = 1 if layer == depth else width
        outputs = []
        for _ in range(fan_out):
            weights = [Value(rng.uniform(-1, 1)) for _ in hidden]
            bias = Value(0.0)
            params.extend((*weights, bias))
            act = sum((w * x for w, x in zip(weights, hidden, strict=True)), bias)
            outputs.append(act if layer == depth else act.tanh())
        hidden = outputs
    loss = (hidden[0] - 1.0) ** 2
    return loss, params


def _run_strategies(settings: Settings, result: CaseResult) -> None:
    # Depth 11 is the first whose path count (about 2.9 million) exceeds naive's default
    # budget of 10**6: the full run shows the refusal too.
    max_depth = 5 if settings.quick else 11
    repeats = 3 if settings.quick else 5
    result.label_header = "strategy"
    result.columns = ("depth", "vjp_evaluations", "nodes_visited", "paths")
    disagreements: list[str] = []
    naive_over_sweep = None
    for depth in range(1, max_depth + 1):
        with collector_sees_only_new_objects():
            seconds = _run_depth(depth, repeats, result, disagreements)
        if "naive" in seconds:
            naive_over_sweep = (depth, seconds["naive"] / seconds[REFERENCE])
    result.met = not disagreements
    if disagreements:
        result.verdict = "gradients differ: " + "; ".join(disagreements)
        return
    result.verdict = "all strategies give the same gradients"
    if naive_over_sweep:
        depth, ratio = naive_over_sweep
        result.verdict += f"; at depth {depth} naive takes {ratio:,.0f}x sweep's time"


def _run_depth(
    depth: int, repeats: int, result: CaseResult, disagreements: list[str]
) -> dict[str, float]:
    """Every strategy on one network: rows for the table, median seconds per strategy."""
    loss, params = scalar_mlp_loss(WIDTH, depth, seed=depth)
    gradients: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    for strategy in BACKWARD_STRATEGIES:
        times = []
        report = None
        try:
            for _ in range(repeats):
                for p in params:
                    p.grad = 0.0
                start = time.perf_counter()
                report = loss.backward(strategy=strategy, stats=True)
                times.append(time.perf_counter() - start)
        except ValueError as exc:  # naive refuses beyond max_paths: part of the story
            paths = sum(paths_to_nodes(loss).values()) - 1  # what it would have multiplied out
            result.rows.append(
                Row(
                    label=strategy,
                    seconds=None,
                    extra={"depth": depth, "paths": paths},
                    note=f"refused: {exc}",
                )
            )
            continue
        seconds[strategy] = statistics.median(times)
        gradients[strategy] = [p.grad for p in params]
        result.rows.append(
            Row(
                label=strategy,
                seconds=seconds[strategy],
                extra={
                    "depth": depth,
                    "vjp_evaluations": report.vjp_evaluations,
                    "accumulations": report.accumulations,
                    "nodes_visited": report.nodes_visited,
                    "paths": report.paths,
                },
            )
        )
    reference = gradients[REFERENCE]
    for strategy, grads in gradients.items():
        if not all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            for a, b in zip(grads, reference, strict=True)
        ):
            disagreements.append(f"depth {depth}: {strategy} != {REFERENCE}")
    return seconds


CASES: tuple[Case, ...] = (
    Case(
        name="backward_strategies",
        title=f"Backward strategies on scalar tanh MLPs, width {WIDTH}, growing depth",
        target="identical gradients from all three (no speed target: the counts are the point)",
        run=_run_strategies,
    ),
)
