"""Timing memograd beside its peers: one training step each, timed side by side.

- :mod:`~memograd.timing.harness`: :func:`compare` times steps in alternation over rounds and
  keeps medians (the garbage collector sees only what a step creates).
- :mod:`~memograd.timing.mlp_step`: one float32 MLP training step written by memograd, by hand
  in NumPy (the floor) and by PyTorch, from the same weights and batch: :func:`make_step`.

The demo's speed section is these two put together. The repository's benchmark
(``benchmarks/``, run by ``make bench``; not installed) builds its cases on them too.
Nothing here is imported by ``import memograd``; PyTorch is imported only to build its step.
"""

from __future__ import annotations

from memograd.timing.harness import (
    Comparison,
    Timing,
    TimingPlan,
    collector_sees_only_new_objects,
    compare,
)
from memograd.timing.mlp_step import (
    BUILDERS,
    LEARNING_RATE,
    MLPStep,
    PeerUnavailable,
    Problem,
    StepBuilder,
    make_problem,
    make_step,
)

__all__ = [
    "BUILDERS",
    "LEARNING_RATE",
    "Comparison",
    "MLPStep",
    "PeerUnavailable",
    "Problem",
    "StepBuilder",
    "Timing",
    "TimingPlan",
    "collector_sees_only_new_objects",
    "compare",
    "make_problem",
    "make_step",
]
