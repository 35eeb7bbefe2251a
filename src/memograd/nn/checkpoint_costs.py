"""What each checkpointing schedule costs on a deep network, measured two ways and timed.

The network is a chain of ``depth`` blocks ``Linear(width, width) -> ReLU`` (a deep MLP with
one step per layer) trained on cross-entropy over ``width`` classes. For each plan,
:func:`measure_plans` runs :func:`~memograd.nn.run_schedule` and reports:

* ``held_bytes``: the most memory the engine held for the backward pass at once, counted
  exactly from the live graph and the slots (``mg.engine.graph_memory``), parameters excluded;
* ``traced_peak_bytes``: the process's peak above where the step started, as ``tracemalloc``
  sees it (NumPy reports its arrays to it): the held arrays plus everything transient, adjoints,
  temporaries, the loss, and the parameters' new gradients (``gradient_bytes``, the same for
  every schedule);
* ``seconds``: the median wall time of the whole step (forward, recomputation, backward) over
  ``repeats`` runs, measured without tracemalloc (which slows Python down); None when
  ``repeats`` is 0 (a caller timing the steps its own way);
* ``same_gradients``: whether every parameter's gradient equals store-all's, bit for bit.

The sizes are estimated first (:func:`chain_estimate`) so a command can refuse them.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from memograd.engine.schedules import Plan, schedule
from memograd.engine.tensor import Tensor, cross_entropy
from memograd.nn.layers import Linear, ReLU, Sequential
from memograd.nn.recompute import run_schedule


def chain_model(depth: int, width: int, seed: int = 0, dtype: str = "float32") -> Sequential:
    """``depth`` blocks ``Sequential(Linear(width, width), ReLU())``: one step per layer."""
    rng = np.random.default_rng(seed)
    return Sequential(
        *[Sequential(Linear(width, width, dtype=dtype, rng=rng), ReLU()) for _ in range(depth)]
    )


def chain_batch(width: int, batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A float32 batch and integer targets over ``width`` classes."""
    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal((batch, width)).astype(np.float32), rng.integers(0, width, batch)


def chain_estimate(depth: int, width: int, batch: int) -> int:
    """Peak bytes of measuring every schedule on the chain, before building it: the weights
    and their gradients, store-all's activations (x and each block's two arrays), the
    reference gradients kept for comparison, and a few states of working room."""
    state = batch * width * 4
    parameters = depth * (width * width + width) * 4
    return 3 * parameters + (2 * depth + 1) * state + 8 * state


def chain_multiply_adds(plans: list[Plan], width: int, batch: int, repeats: int) -> int:
    """Multiply-adds of measuring ``plans`` (and the store-all reference): per run, each step
    evaluation costs batch x width^2, its backward pass twice that."""
    per_run = sum(p.counts.forward_evaluations + 2 * p.n for p in plans)
    reference = 3 * plans[0].n if plans else 0
    return (per_run * (repeats + 2) + reference) * batch * width * width


@dataclass(frozen=True)
class Measured:
    """One plan's measured costs (see the module docstring)."""

    kind: str
    slots: int
    forward_evaluations: int
    held_bytes: int
    traced_peak_bytes: int
    gradient_bytes: int
    seconds: float | None
    seconds_min: float | None
    seconds_max: float | None
    same_gradients: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Problem:
    """The chain, its batch, plain backprop's gradients, and a count of block evaluations."""

    def __init__(self, depth: int, width: int, batch: int, seed: int) -> None:
        self.model = chain_model(depth, width, seed)
        self.evaluations = 0
        for block in self.model:
            forward = block.forward

            def counted(x: Any, forward: Any = forward) -> Any:
                self.evaluations += 1
                return forward(x)

            object.__setattr__(block, "forward", counted)
        self.X, self.y = chain_batch(width, batch, seed)
        self.params = self.model.parameters()
        self.loss_fn(self.model(Tensor(self.X))).backward()
        self.reference = [p.grad for p in self.params]

    def loss_fn(self, out: Tensor) -> Tensor:
        return cross_entropy(out, self.y)

    def same_gradients(self) -> bool:
        pairs = zip(self.reference, self.params, strict=True)
        return all(np.array_equal(a, p.grad) for a, p in pairs)

    def measure(self, kind: str, slots: int, step: Any, repeats: int) -> Measured:
        """``step()`` runs forward and backward once and returns the engine's held bytes."""
        self.model.zero_grad()
        self.evaluations = 0
        held = step(True)
        evaluations, same = self.evaluations, self.same_gradients()
        self.model.zero_grad()
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            step(False)
            traced = tracemalloc.get_traced_memory()[1] - start
        finally:
            tracemalloc.stop()
        times = []
        for _ in range(repeats):
            self.model.zero_grad()
            started = time.perf_counter()
            step(False)
            times.append(time.perf_counter() - started)
        return Measured(
            kind=kind,
            slots=slots,
            forward_evaluations=evaluations,
            held_bytes=held,
            traced_peak_bytes=traced,
            gradient_bytes=sum(p.data.nbytes for p in self.params),
            seconds=statistics.median(times) if times else None,
            seconds_min=min(times, default=None),
            seconds_max=max(times, default=None),
            same_gradients=same,
        )


def _check(repeats: int) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 0:
        raise ValueError(f"repeats must be an int >= 0, got {repeats!r}")


def measure_plans(
    plans: list[Plan], width: int, batch: int, *, seed: int = 0, repeats: int = 3
) -> list[Measured]:
    """Run each plan with :func:`run_schedule` on one chain (its depth is the plans' n) and
    measure it; ``held_bytes`` is the engine's peak over the plan's actions."""
    if not plans or len({p.n for p in plans}) != 1:
        raise ValueError("measure_plans: give plans for one chain length")
    _check(repeats)
    problem = _Problem(plans[0].n, width, batch, seed)
    results = []
    for plan in plans:

        def step(measure: bool, plan: Plan = plan) -> int:
            run = run_schedule(plan, problem.model, problem.X, problem.loss_fn, measure=measure)
            return run.peak_bytes or 0

        results.append(problem.measure(plan.kind, plan.slots, step, repeats))
    return results


def measure_checkpoint_sequential(
    depth: int, width: int, batch: int, segments: int, *, seed: int = 0, repeats: int = 3
) -> Measured:
    """``mg.nn.checkpoint_sequential(chain, segments)`` trained one step, measured the same
    way; ``held_bytes`` is what the graph holds when the forward pass ends (its recomputation
    then adds one segment's activations at a time, which ``traced_peak_bytes`` includes)."""
    from memograd.engine.memory import graph_memory
    from memograd.nn.recompute import checkpoint_sequential

    _check(repeats)
    problem = _Problem(depth, width, batch, seed)
    wrapped = checkpoint_sequential(problem.model, segments)

    def step(measure: bool) -> int:
        loss = problem.loss_fn(wrapped(Tensor(problem.X)))
        held = graph_memory(loss, exclude=problem.params).bytes if measure else 0
        loss.backward()
        return held

    return problem.measure("checkpoint_sequential", segments - 1, step, repeats)


def standard_plans(depth: int, slots: list[int]) -> list[Plan]:
    """Store-all, sqrt(n) and revolve with each of ``slots``: the three kinds side by side."""
    plans = [schedule(depth, kind="all"), schedule(depth, kind="sqrt")]
    return plans + [schedule(depth, s, "revolve") for s in slots]
