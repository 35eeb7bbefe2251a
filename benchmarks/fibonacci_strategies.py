"""Fibonacci three ways: naive recursion, memoized recursion, bottom-up table.

No speed target: the point is that the three agree and that the calls counted while running
equal the closed forms, with the time each strategy takes beside them.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.results import Case, CaseResult, Row, Settings
from memograd import fibonacci
from memograd.timing import compare


def _run_fibonacci(settings: Settings, result: CaseResult) -> None:
    n = 20 if settings.quick else 25
    large = 1000  # far beyond naive: 2*F(1001) - 1 calls has 209 digits
    result.label_header = "strategy"
    result.columns = ("n", "calls", "closed_form")
    functions = {name: getattr(fibonacci, f"fib_{name}") for name in fibonacci.FIB_STRATEGIES}
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


CASES: tuple[Case, ...] = (
    Case(
        name="fibonacci",
        title="Fibonacci three ways: naive recursion, memoized recursion, bottom-up table",
        target="same F(n) from all three; counted calls equal the closed forms (no speed target)",
        run=_run_fibonacci,
    ),
)
