"""Timing peers side by side: alternation over rounds, medians, ratios.

A shared, noisy machine makes any single timing a lie. Three habits keep the
numbers honest:

* **Alternation.** Every round times each peer once, in a rotated order, so a
  burst of load from another process lands on all peers alike instead of on
  whichever happened to run during it.
* **Batches calibrated per peer.** A fast step is called many times per timed
  batch so the clock's resolution and the loop overhead vanish; a slow one is
  called once. Each peer's batch aims at the same wall time.
* **Medians.** The per-call time of a peer is the median over rounds, which
  ignores the rounds a neighbour's job disturbed.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

Step = Callable[[], object]


@dataclass(frozen=True)
class Timing:
    """Per-call seconds of one peer: the median over rounds, and every round's value."""

    peer: str
    median: float
    rounds: tuple[float, ...]
    calls_per_round: int

    @property
    def spread(self) -> float:
        """(max - min) / median over the rounds: how noisy the machine was for this peer."""
        if self.median <= 0:
            return 0.0
        return (max(self.rounds) - min(self.rounds)) / self.median

    def as_dict(self) -> dict[str, object]:
        return {
            "median_s": self.median,
            "min_s": min(self.rounds),
            "max_s": max(self.rounds),
            "rounds": len(self.rounds),
            "calls_per_round": self.calls_per_round,
        }


@dataclass
class TimingPlan:
    """How hard to measure: rounds, target seconds per timed batch, warm-up calls."""

    rounds: int = 7
    batch_seconds: float = 0.2
    warmup_calls: int = 3
    max_calls: int = 1_000_000
    # A pause before each timed batch. OpenBLAS's worker threads spin for about 0.1 s after
    # each call before they sleep, and OpenMP's do the same on a shorter scale; on a machine
    # with few cores, a peer timed right after another would share its cores with them.
    settle_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if not (self.batch_seconds > 0 and math.isfinite(self.batch_seconds)):
            raise ValueError(f"batch_seconds must be a finite number > 0, got {self.batch_seconds}")


@dataclass
class Comparison:
    """The timings of one case's peers, with ratios against a reference peer."""

    reference: str
    timings: dict[str, Timing] = field(default_factory=dict)

    def ratio(self, peer: str) -> float:
        """Time ratio ``reference / peer``: below 1, the reference (memograd) is faster."""
        return self.timings[self.reference].median / self.timings[peer].median


def _time_batch(step: Step, calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back calls of ``step``."""
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def _calibrate(step: Step, plan: TimingPlan) -> int:
    """Calls per batch so that one batch lasts about ``plan.batch_seconds``.

    The warm-up calls absorb one-time costs (JIT compilation, caches, thread
    pools spinning up, allocator growth); then the batch is doubled until it
    lasts a fifth of the target, so one slow first call cannot set the estimate.
    """
    for _ in range(plan.warmup_calls):
        step()
    calls = 1
    while True:
        per_call = _time_batch(step, calls)
        if calls * per_call >= plan.batch_seconds / 5 or calls >= plan.max_calls:
            break
        calls *= 2
    if per_call <= 0:
        return plan.max_calls
    return max(1, min(plan.max_calls, round(plan.batch_seconds / per_call)))


def compare(steps: Mapping[str, Step], plan: TimingPlan, reference: str) -> Comparison:
    """Time every step in ``steps`` in alternation and return medians per peer.

    Garbage is collected before each batch (never disabled during one): a
    peer whose steps create reference cycles pays for collecting them, as it
    would in a real training loop, but not for another peer's garbage.

    Everything alive once the steps are warm (the peers' libraries, their
    parameters) is frozen out of the collector's view for the duration. With
    torch, JAX and the rest imported, a full collection scans a quarter of a
    million objects, about 0.1 s: a cost no user of one library pays, which
    would otherwise land on whichever peer allocates most Python objects.
    """
    if reference not in steps:
        raise ValueError(f"reference peer {reference!r} is not among {sorted(steps)}")
    names = list(steps)
    calls = {name: _calibrate(steps[name], plan) for name in names}
    per_round: dict[str, list[float]] = {name: [] for name in names}
    with collector_sees_only_new_objects():
        for round_index in range(plan.rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                if plan.settle_seconds:
                    time.sleep(plan.settle_seconds)
                per_round[name].append(_time_batch(steps[name], calls[name]))
    comparison = Comparison(reference=reference)
    for name in names:
        comparison.timings[name] = Timing(
            peer=name,
            median=statistics.median(per_round[name]),
            rounds=tuple(per_round[name]),
            calls_per_round=calls[name],
        )
    return comparison


@contextmanager
def collector_sees_only_new_objects() -> Iterator[None]:
    """Collect, then freeze everything alive, so collections inside see only new objects.

    For one-shot cases (a chain of a million Values), where :func:`compare`'s
    alternation does not apply but the same fairness does.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
