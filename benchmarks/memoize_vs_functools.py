"""A ``@mg.memoize`` cache hit against ``functools.cache`` and ``lru_cache`` (all C)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.memo import memoize
from memograd.timing import compare

HIT_RATIO_TARGET = 2.0
CALLS_PER_STEP = 10


def _hits(cached: Callable[[int], int]) -> Callable[[], None]:
    """Ten hits on one key per call, unrolled, so the loop costs little next to the hits."""

    def step() -> None:
        cached(7)
        cached(7)
        cached(7)
        cached(7)
        cached(7)
        cached(7)
        cached(7)
        cached(7)
        cached(7)
        cached(7)

    cached(7)  # the miss that fills the cache
    return step


def _square(n: int) -> int:
    return n * n


def _run_memoize_hit(settings: Settings, result: CaseResult) -> None:
    steps = {
        "mg.memoize": _hits(memoize(_square)),
        "functools.cache": _hits(functools.cache(_square)),
        "mg.memoize(maxsize=128)": _hits(memoize(maxsize=128)(_square)),
        "functools.lru_cache(128)": _hits(functools.lru_cache(maxsize=128)(_square)),
    }
    plan = settings.plan()
    comparison = compare(steps, plan, "mg.memoize")
    counterpart = {
        "functools.cache": "mg.memoize",
        "functools.lru_cache(128)": "mg.memoize(maxsize=128)",
    }
    timings = comparison.timings
    for name, timing in timings.items():
        ratio = None
        if name in counterpart:
            ratio = timings[counterpart[name]].median / timing.median
        result.rows.append(
            Row(
                label=name,
                seconds=timing.median / CALLS_PER_STEP,
                ratio=ratio,
                extra={"ns_per_hit": round(timing.median / CALLS_PER_STEP * 1e9, 1)},
                note="ratio: memograd's decorator / this one" if ratio else "",
            )
        )
    unbounded = timings["mg.memoize"].median / timings["functools.cache"].median
    bounded = timings["mg.memoize(maxsize=128)"].median / timings["functools.lru_cache(128)"].median
    result.met = unbounded <= HIT_RATIO_TARGET
    result.verdict = (
        f"a hit costs {unbounded:.2f}x functools.cache ({bounded:.2f}x lru_cache with maxsize=128)"
    )


CASES: tuple[Case, ...] = (
    Case(
        name="memoize_hit",
        title="mg.memoize cache hit against functools.cache (C implementation)",
        target=f"<= {HIT_RATIO_TARGET:g}x functools.cache",
        run=_run_memoize_hit,
    ),
)
