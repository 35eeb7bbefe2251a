"""Section 1: memoization on Fibonacci, the notes' first page, counted and timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.viz import html, plots

ANCHOR = "memoization"
HEADING = "Memoization: Fibonacci three ways"
STRATEGIES = ("naive", "memo", "table")


def _best_time(function: Callable[[int], int], n: int, budget: float = 0.05) -> float:
    """Best per-call seconds over repeated calls lasting about ``budget`` in total."""
    best = float("inf")
    spent = 0.0
    calls = 0
    while calls < 3 or (spent < budget and calls < 200):
        started = time.perf_counter()
        function(n)
        elapsed = time.perf_counter() - started
        best = min(best, elapsed)
        spent += elapsed
        calls += 1
    return best


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd import fibonacci

    functions = {
        "naive": fibonacci.fib_naive,
        "memo": fibonacci.fib_memo,
        "table": fibonacci.fib_table,
    }
    ns = list(range(1, settings.fib_max_n + 1))
    calls: dict[str, list[int | None]] = {s: [] for s in STRATEGIES}
    seconds: dict[str, list[float | None]] = {s: [] for s in STRATEGIES}
    values: list[int] = []
    budget = 0.01 if settings.quick else 0.05
    for n in ns:
        value = None
        for strategy in STRATEGIES:
            if strategy == "naive" and n > settings.fib_naive_max_n:
                calls[strategy].append(None)
                seconds[strategy].append(None)
                continue
            result, count = fibonacci.fib_count(n, strategy)
            if value is not None and result != value:
                raise AssertionError(f"fib({n}) differs between strategies: {result} != {value}")
            value = result
            calls[strategy].append(count)
            seconds[strategy].append(_best_time(functions[strategy], n, budget))
        values.append(value)
    data = {"n": ns, "values": values, "calls": calls, "seconds": seconds}
    return data, {}


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    ns, calls, seconds = data["n"], data["calls"], data["seconds"]
    last_naive = max(i for i, c in enumerate(calls["naive"]) if c is not None)
    n = ns[last_naive]
    section.paragraph(
        "Memoization stores the result of a call and returns it when the same input comes "
        "again. Plain recursion computes F(n) = F(n−1) + F(n−2) by recomputing the same "
        "smaller values over and over; a dict of results (memo, top-down) or a table filled "
        "from F(0) up (bottom-up) computes each F(k) once."
    )
    section.facts(
        [
            (f"calls for F({n}), naive", f"{calls['naive'][last_naive]:,}"),
            (f"calls for F({n}), memo", f"{calls['memo'][last_naive]:,}"),
            (f"steps for F({n}), table", f"{calls['table'][last_naive]:,}"),
            (f"F({n})", f"{data['values'][last_naive]:,}"),
        ]
    )
    section.figure(
        plots.fibonacci_plot(ns, calls, seconds),
        "Calls and time for F(n), naive against memoized",
        "Naive recursion's calls and time grow exponentially (a straight line on the log "
        "scale) while the memo and the table grow linearly.",
    )
    section.table(
        [
            "n",
            "F(n)",
            "naive calls",
            "memo calls",
            "table steps",
            "naive time",
            "memo time",
            "table time",
        ],
        [
            [str(k), f"{data['values'][i]:,}"]
            + [("—" if calls[s][i] is None else f"{calls[s][i]:,}") for s in STRATEGIES]
            + [
                ("—" if seconds[s][i] is None else f"{seconds[s][i] * 1e6:.3g} µs")
                for s in STRATEGIES
            ]
            for i, k in enumerate(ns)
            if k % 4 == 0 or k == ns[-1]
        ],
        "Counted calls and best measured time per strategy (every fourth n); a dash means "
        "naive was not run at that size.",
    )
    section.paragraph(
        "Backpropagation is the same move on a computation graph: the naive chain rule is the "
        "plain recursion, and storing each node's adjoint is the memo."
    )
