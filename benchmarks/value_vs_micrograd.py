"""Scalar ``mg.Value`` cases: micrograd's demo step, and a chain a million nodes deep."""

from __future__ import annotations

import gc
import math
import random
import time
from collections.abc import Callable
from typing import Any

from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.data import moons
from memograd.engine import Value
from memograd.timing import collector_sees_only_new_objects, compare

# micrograd's demo: MLP 2-16-16-1, SVM max-margin loss, L2 penalty, SGD.
DEMO_SIZES = (2, 16, 16, 1)
DEMO_ALPHA = 1e-4
DEMO_LEARNING_RATE = 0.1
SPEEDUP_TARGET = 3.0


def moons_points(n_points: int, seed: int) -> tuple[list[list[float]], list[float]]:
    """The library's two moons (``mg.data.moons``) as micrograd's demo takes them: lists of
    floats, labels -1 and +1 for its max-margin loss."""
    X, y = moons(n_points, noise=0.1, seed=seed)
    return X.tolist(), (2.0 * y - 1.0).tolist()


def initial_weights(seed: int) -> list[list[tuple[list[float], float]]]:
    """Per layer, per neuron: (weights, bias), uniform in [-1, 1] as micrograd draws them."""
    rng = random.Random(seed)
    layers = []
    for fan_in, fan_out in zip(DEMO_SIZES[:-1], DEMO_SIZES[1:], strict=True):
        layers.append([([rng.uniform(-1, 1) for _ in range(fan_in)], 0.0) for _ in range(fan_out)])
    return layers


class ScalarMLP:
    """micrograd's Neuron/Layer/MLP in one small class, over any scalar Value type.

    Each neuron is ``sum(w_i * x_i) + b``, then ReLU except in the last layer:
    exactly micrograd's graph, node for node, so both engines do the same work.
    """

    def __init__(self, value_type: type, layers: list[list[tuple[list[float], float]]]) -> None:
        self.layers = [
            [([value_type(w) for w in weights], value_type(bias)) for weights, bias in layer]
            for layer in layers
        ]
        self.params = [
            p for layer in self.layers for weights, bias in layer for p in (*weights, bias)
        ]

    def parameters(self) -> list:
        return self.params

    def __call__(self, inputs: list) -> object:
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            outputs = []
            for weights, bias in layer:
                act = sum((w * x for w, x in zip(weights, inputs, strict=True)), bias)
                outputs.append(act.relu() if k < last else act)
            inputs = outputs
        return inputs[0]


def demo_step(
    value_type: type, model: Any, points: list[list[float]], labels: list[float]
) -> tuple[Callable[[], None], list[Any]]:
    """The body of micrograd's demo training loop: loss, zero_grad, backward, SGD.

    ``model`` is micrograd's MLP or a :class:`ScalarMLP`; returns the step and the parameters.
    """
    params = model.parameters()
    scale = 1.0 / len(points)

    def step() -> None:
        inputs = [[value_type(x) for x in row] for row in points]
        scores = [model(x) for x in inputs]
        losses = [(1 + -label * score).relu() for label, score in zip(labels, scores, strict=True)]
        data_loss = sum(losses) * scale
        reg_loss = DEMO_ALPHA * sum(p * p for p in params)
        total = data_loss + reg_loss
        for p in params:
            p.grad = 0.0
        total.backward()
        for p in params:
            p.data -= DEMO_LEARNING_RATE * p.grad

    return step, params


def _run_micrograd_demo(settings: Settings, result: CaseResult) -> None:
    n_points = 20 if settings.quick else 100
    points, labels = moons_points(n_points, seed=1)
    layers = initial_weights(seed=1)
    memograd_step, memograd_params = demo_step(Value, ScalarMLP(Value, layers), points, labels)
    steps = {"memograd": memograd_step}
    try:
        from micrograd.engine import Value as MicrogradValue
        from micrograd.nn import MLP
    except ImportError as exc:
        result.skip_peer("micrograd", f"not installed ({exc.name})")
        micrograd_params = None
    else:
        model = MLP(DEMO_SIZES[0], list(DEMO_SIZES[1:]))
        for p, w in zip(model.parameters(), _flat(layers), strict=True):
            p.data = w
        steps["micrograd"], micrograd_params = demo_step(MicrogradValue, model, points, labels)
    if micrograd_params is not None:
        steps["memograd"]()
        steps["micrograd"]()
        gap = max(
            abs(a.data - b.data) for a, b in zip(memograd_params, micrograd_params, strict=True)
        )
        if gap > 1e-9:
            result.notes.append(f"weights after one step differ from micrograd's by {gap:.2e}")
    plan = settings.plan(warmup_calls=1)
    comparison = compare(steps, plan, "memograd")
    for name, timing in comparison.timings.items():
        result.rows.append(
            Row(
                label=name,
                seconds=timing.median,
                ratio=comparison.ratio(name),
                extra={"points": n_points, "spread": round(timing.spread, 3)},
                note=f"{name}.Value, MLP 2-16-16-1 on {n_points} moons points",
            )
        )
    if not settings.quick and "micrograd" in steps:
        # The same two steps with the cyclic garbage collector off: micrograd's closures
        # (each node's _backward refers to the node) make every node part of a reference
        # cycle, so only the collector frees them; memograd's nodes are freed by reference
        # counting alone. The difference between the two runs is that collector's share.
        quiet = settings.plan(warmup_calls=1, rounds=max(3, settings.rounds // 2))
        gc.disable()
        try:
            without_gc = compare(steps, quiet, "memograd")
        finally:
            gc.enable()
        for name, timing in without_gc.timings.items():
            result.rows.append(
                Row(
                    label=f"{name}, gc off",
                    seconds=timing.median,
                    ratio=without_gc.ratio(name),
                    extra={"points": n_points, "spread": round(timing.spread, 3)},
                    note="the same step with gc.disable(): not how users run it",
                )
            )
    if "micrograd" in comparison.timings:
        speedup = 1.0 / comparison.ratio("micrograd")
        result.met = speedup >= SPEEDUP_TARGET and not result.notes
        result.verdict = f"{speedup:.2f}x micrograd's speed"
        if result.notes:
            result.verdict += "; but the steps disagree (see notes)"
    else:
        result.verdict = "micrograd not installed: nothing to compare against"


def _flat(layers: list[list[tuple[list[float], float]]]) -> list[float]:
    return [p for layer in layers for weights, bias in layer for p in (*weights, bias)]


def value_chain(value_type: type, length: int, factor: float) -> tuple[float, float, float]:
    """Forward ``y = x * factor`` ``length`` times, then backward; return times and dy/dx."""
    start = time.perf_counter()
    x = value_type(1.0)
    y = x
    for _ in range(length):
        y = y * factor
    forward = time.perf_counter() - start
    start = time.perf_counter()
    y.backward()
    backward = time.perf_counter() - start
    return forward, backward, float(x.grad)


def _run_value_chain(settings: Settings, result: CaseResult) -> None:
    length = 10**5 if settings.quick else 10**6
    factor = 1.0 - 1e-7
    with collector_sees_only_new_objects():
        forward, backward, gradient = value_chain(Value, length, factor)
    expected = factor**length
    correct = math.isclose(gradient, expected, rel_tol=1e-6)
    result.columns = ("nodes", "forward_s", "backward_s")
    result.rows.append(
        Row(
            label="memograd",
            seconds=forward + backward,
            extra={"nodes": length + 1, "forward_s": _3(forward), "backward_s": _3(backward)},
            note=f"dy/dx = {gradient:.9f} (exact {expected:.9f})",
        )
    )
    # Every node is a container the cyclic collector tracks, and a chain keeps all of them
    # alive, so each collection it triggers walks a longer chain: its share is worth seeing.
    gc.collect()
    gc.disable()
    try:
        quiet_forward, quiet_backward, _ = value_chain(Value, length, factor)
    finally:
        gc.enable()
    result.rows.append(
        Row(
            label="memograd, gc off",
            seconds=quiet_forward + quiet_backward,
            extra={
                "nodes": length + 1,
                "forward_s": _3(quiet_forward),
                "backward_s": _3(quiet_backward),
            },
            note="the same chain with gc.disable(): the collector's share of the time",
        )
    )
    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError as exc:
        result.skip_peer("micrograd", f"not installed ({exc.name})")
    else:
        short = 10**4
        try:
            value_chain(MicrogradValue, short, factor)
            note = f"{short} nodes: no error"
        except RecursionError:
            note = f"RecursionError already at {short} nodes (recursive topological sort)"
        result.rows.append(Row(label="micrograd", seconds=None, extra={"nodes": short}, note=note))
    result.met = correct
    result.verdict = (
        f"{length + 1:,} nodes in {forward + backward:.2f} s "
        f"(forward {forward:.2f} s, backward {backward:.2f} s), no recursion error"
    )
    if not correct:
        result.verdict += f"; but dy/dx = {gradient} != {expected}"


def _3(seconds: float) -> float:
    return round(seconds, 3)


CASES: tuple[Case, ...] = (
    Case(
        name="micrograd_demo",
        title="micrograd's demo step (MLP 2-16-16-1, max-margin loss), mg.Value vs micrograd",
        target=f">= {SPEEDUP_TARGET:g}x micrograd's speed",
        run=_run_micrograd_demo,
    ),
    Case(
        name="value_chain",
        title="Value chain of 10^6 nodes, forward + backward (10^5 with --quick)",
        target="no recursion error; report seconds",
        run=_run_value_chain,
    ),
)
