"""The memoization cases: a cache hit against functools, and Fibonacci's three strategies."""

from __future__ import annotations

import functools
from collections.abc import Callable

from memograd.bench.harness import compare
from memograd.bench.results import Case, CaseResult, Row, Settings
from memograd.bench.unavailable import require

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
    memoize = require("memoize")
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


def _run_fibonacci(settings: Settings, result: CaseResult) -> None:
    fibonacci = require("fibonacci")
    n = 20 if settings.quick else 25
    large = 1000  # far beyond naive: 2*F(1001) - 1 calls has 209 digits
    result.label_header = "strategy"
    result.columns = ("n", "calls", "closed_form")
    functions = {name: getattr(fibonacci, f"fib_{name}") for name in fibonacci.STRATEGIES}
    steps = {f"{name}, n={n}": _bind(fn, n) for name, fn in functions.items()}
    steps.update(
        {f"{name}, n={large}": _bind(functions[name], large) for name in ("memo", "table")}
    )
    plan = settings.plan(warmup_calls=1)
    comparison = compare(steps, plan, next(iter(steps)))
    problems = []
    for label, timing in comparison.timings.items():
        name, size = label.split(", n=")
        value, calls = fibonacci.fib_count(int(size), name)
        closed_form = fibonacci.fib_calls(int(size), name)
        if calls != closed_form:
            problems.append(f"{label}: {calls} calls counted, closed form says {closed_form}")
        if value != functions["table"](int(size)):
            problems.append(f"{label}: F({size}) differs from the table's")
        result.rows.append(
            Row(
                label=name,
                seconds=timing.median,
                extra={"n": int(size), "calls": calls, "closed_form": closed_form},
            )
        )
    naive, memo = comparison.timings[f"naive, n={n}"], comparison.timings[f"memo, n={n}"]
    result.met = not problems
    result.verdict = "; ".join(problems) or (
        f"all strategies agree and count the closed-form calls; at n={n} naive makes "
        f"{fibonacci.fib_calls(n, 'naive'):,} calls to memo's {fibonacci.fib_calls(n, 'memo')} "
        f"and takes {naive.median / memo.median:,.0f}x its time"
    )


def _bind(function: Callable[[int], int], n: int) -> Callable[[], int]:
    def call() -> int:
        return function(n)

    return call


MEMO_CASES: tuple[Case, ...] = (
    Case(
        name="memoize_hit",
        title="mg.memoize cache hit against functools.cache (C implementation)",
        target=f"<= {HIT_RATIO_TARGET:g}x functools.cache",
        run=_run_memoize_hit,
    ),
    Case(
        name="fibonacci",
        title="Fibonacci three ways: naive recursion, memoized recursion, bottom-up table",
        target="same F(n) from all three; counted calls equal the closed forms (no speed target)",
        run=_run_fibonacci,
    ),
)
