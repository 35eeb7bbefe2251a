"""Section 1: memoization on Fibonacci, the notes' first page, counted and timed.

It starts from the notes' own code (a dict passed along, ``d = {0: 1, 1: 1}``, ``fib(38)``),
run exactly as written, then draws the call tree of fib(5) with the repeated calls shaded,
then counts and times memograd's three strategies.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.demo.settle import (
    describe,
    measure_together,
    per_call,
    unsettled_note,
    within_noise,
)
from memograd.fibonacci import FIB_STRATEGIES
from memograd.viz import html, plots
from memograd.viz.calltree import TreeNode, draw_tree

ANCHOR = "memoization"
HEADING = "Memoization: Fibonacci three ways"
TREE_N = 5

NOTES_CODE = """\
def fib(n, d):
    if n in d:
        return d[n]
    ans = fib(n - 1, d) + fib(n - 2, d)
    d[n] = ans
    return ans

d = {0: 1, 1: 1}
print(fib(38, d))
"""
"""The notes' memoized Fibonacci, as they write it: the memo is a dict passed along."""


def run_notes_code() -> dict[str, Any]:
    """Run :data:`NOTES_CODE` as written (what it prints), then once more with its ``fib``
    wrapped in a counter, to count the calls its ``fib(38, d)`` makes."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(NOTES_CODE, "notes_fib.py", "exec"), {"__name__": "notes"})  # noqa: S102
    definition = NOTES_CODE.split("\n\n")[0]
    namespace: dict[str, Any] = {"__name__": "notes"}
    exec(compile(definition, "notes_fib.py", "exec"), namespace)  # noqa: S102
    original, calls = namespace["fib"], [0]

    def counted(n: int, d: dict[int, int]) -> int:
        calls[0] += 1
        return original(n, d)

    namespace["fib"] = counted  # the recursion looks fib up by name, so every call is counted
    value = counted(38, {0: 1, 1: 1})
    return {"printed": printed.getvalue().strip(), "value": value, "calls": calls[0]}


@dataclass
class Call:
    """One call of the plain recursion fib(k), and whether a memo would have had its value."""

    k: int
    repeated: bool  # fib(k) was called (and finished) earlier: a memo answers it at once
    pruned: bool  # an ancestor was repeated: with a memo this call never happens
    children: list[Call] = field(default_factory=list)


def call_tree(n: int) -> Call:
    """The calls of the plain recursion for F(n), in the order it makes them."""
    seen: set[int] = set()

    def visit(k: int, pruned: bool) -> Call:
        node = Call(k, k in seen, pruned)
        if k >= 2:
            inside = pruned or node.repeated
            node.children = [visit(k - 1, inside), visit(k - 2, inside)]
        seen.add(k)
        return node

    return visit(n, False)


def _walk(node: Call) -> list[Call]:
    return [node] + [c for child in node.children for c in _walk(child)]


def _tree_figure(node: Call, memoized: bool, shaded: bool = False) -> TreeNode:
    if memoized:
        style = "pruned" if node.pruned else "hit" if node.repeated else "call"
    else:
        style = "repeat" if (shaded or node.repeated) else "call"
    inside = shaded or node.repeated
    return TreeNode(
        str(node.k), style, tuple(_tree_figure(c, memoized, inside) for c in node.children)
    )


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd import fibonacci

    functions: dict[str, Callable[[int], int]] = {
        "naive": fibonacci.fib_naive,
        "memo": fibonacci.fib_memo,
        "table": fibonacci.fib_table,
    }
    notes = run_notes_code()
    if notes["printed"] != str(fibonacci.fib_table(39)) or notes["value"] != fibonacci.fib_table(
        39
    ):
        raise AssertionError(f"the notes' fib(38) printed {notes['printed']}, not F(39)")
    tree = call_tree(TREE_N)
    calls_in_tree = _walk(tree)
    ns = list(range(1, settings.fib_max_n + 1))
    timed = _tabled(ns)
    calls: dict[str, list[int | None]] = {s: [] for s in FIB_STRATEGIES}
    values: list[int] = []
    samplers: dict[tuple[str, int], Callable[[], float]] = {}
    for i, n in enumerate(ns):
        value = None
        for strategy in FIB_STRATEGIES:
            if strategy == "naive" and n > settings.fib_naive_max_n:
                calls[strategy].append(None)
                continue
            result, count = fibonacci.fib_count(n, strategy)
            if value is not None and result != value:
                raise AssertionError(f"fib({n}) differs between strategies: {result} != {value}")
            value = result
            calls[strategy].append(count)
            if i in timed:
                samplers[(strategy, i)] = per_call(lambda f=functions[strategy], k=n: f(k))
        values.append(value)
    measured = measure_together(samplers, budget_seconds=0.4 if settings.quick else 4.0)
    timings = {
        s: [measured[(s, i)].as_dict() if (s, i) in measured else None for i in range(len(ns))]
        for s in FIB_STRATEGIES
    }
    data = {
        "n": ns,
        "values": values,
        "calls": calls,
        "timings": timings,
        "notes_code": NOTES_CODE,
        "notes_printed": notes["printed"],
        "notes_calls": notes["calls"],
        "tree_n": TREE_N,
        "tree_calls": len(calls_in_tree),
        "tree_repeated_subtrees": sum(n.repeated and not n.pruned for n in calls_in_tree),
        "tree_shaded": sum(n.repeated or n.pruned for n in calls_in_tree),
        "tree_memo_calls": sum(not n.pruned for n in calls_in_tree),
    }
    return data, {"tree": tree}


def _tabled(ns: list[int]) -> list[int]:
    """Indices of the n the table shows (and the time plot draws): every fourth, and the last."""
    return [i for i, k in enumerate(ns) if k % 4 == 0 or k == ns[-1]]


def _time_cell(timings: list[dict[str, Any] | None], i: int, previous: int | None) -> str:
    timing = timings[i]
    if timing is None:
        return "—"
    text = describe(timing)
    if previous is not None and timings[previous] is not None:
        if within_noise(timing, timings[previous]):
            text += " ≈"
    return text


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    from memograd.fibonacci import fib_calls

    ns, calls, timings = data["n"], data["calls"], data["timings"]
    last_naive = max(i for i, c in enumerate(calls["naive"]) if c is not None)
    n = ns[last_naive]
    section.paragraph(
        "Memoization stores the result of a call and returns it when the same input comes "
        "again. The notes show it on Fibonacci, with a dict passed along from call to call:"
    )
    section.listing(
        data["notes_code"],
        html.join(
            "The notes' memoized Fibonacci, run exactly as written: it printed ",
            html.code(data["notes_printed"]),
            f" after {data['notes_calls']} calls of fib.",
        ),
    )
    section.paragraph(
        f"The notes start the memo at d = {{0: 1, 1: 1}}, so their fib(n) is F(n+1) in the "
        f"indexing F(0) = 0, F(1) = 1 that memograd and the rest of this page use: their "
        f"fib(38) = {int(data['notes_printed']):,} is F(39). Each value is computed once and "
        f"found in the dict after that, so fib(38) makes {data['notes_calls']} calls "
        f"(memograd's fib_memo(38) makes {fib_calls(38, 'memo')}); without the dict it would "
        f"make {fib_calls(39, 'naive'):,}."
    )
    tree = objects["tree"]
    t = data["tree_n"]
    section.figure_pair(
        (
            draw_tree(_tree_figure(tree, False), f"The calls of fib({t}), repeated ones shaded"),
            draw_tree(_tree_figure(tree, True), f"The calls of fib({t}) with a memo"),
        ),
        f"The call tree of fib({t}), without and with a memo",
        f"First, plain recursion: {data['tree_calls']} calls, of which the "
        f"{data['tree_shaded']} shaded ones, in {data['tree_repeated_subtrees']} subtrees, "
        "recompute values earlier calls already computed. Second, with a memo: each repeated "
        "call is answered by one lookup (green) and the calls beneath it (faint) never happen: "
        f"{data['tree_memo_calls']} calls, 2·{t} − 1.",
    )
    section.paragraph(
        "memograd has the three ways side by side: plain recursion, which recomputes the same "
        "smaller values over and over; the memo (top-down, a dict of results); and a table "
        "filled from F(0) up (bottom-up), which computes each F(k) once with no recursion."
    )
    section.facts(
        [
            (f"calls for F({n}), naive", f"{calls['naive'][last_naive]:,}"),
            (f"calls for F({n}), memo", f"{calls['memo'][last_naive]:,}"),
            (f"steps for F({n}), table", f"{calls['table'][last_naive]:,}"),
            (f"F({n})", f"{data['values'][last_naive]:,}"),
        ]
    )
    seconds = {
        s: [None if timing is None else timing["seconds"] for timing in timings[s]]
        for s in FIB_STRATEGIES
    }
    section.figure_pair(
        plots.fibonacci_plots(ns, calls, seconds),
        "Calls and time for F(n), naive against memoized",
        "Naive recursion's calls and time grow exponentially (a straight line on the log "
        "scale) while the memo's and the table's grow linearly. Times are measured at the n of "
        "the table below." + unsettled_note([t for s in FIB_STRATEGIES for t in timings[s]]),
    )
    shown = _tabled(ns)
    section.table(
        ["n", "F(n)", "naive calls", "memo calls", "table steps"]
        + [f"{s} time" for s in FIB_STRATEGIES],
        [
            [str(ns[i]), f"{data['values'][i]:,}"]
            + [("—" if calls[s][i] is None else f"{calls[s][i]:,}") for s in FIB_STRATEGIES]
            + [_time_cell(timings[s], i, shown[row - 1] if row else None) for s in FIB_STRATEGIES]
            for row, i in enumerate(shown)
        ],
        "Counted calls and measured time per call (every fourth n). Each time is the middle of "
        "the five fastest of repeated measurements, repeated until those five agreed within "
        "±5% (the ± beside it; “noise” marks one that never settled); ≈ marks a time within "
        "the spreads of the row above, so that difference is noise. A dash means naive was "
        "not run at that size.",
    )
    section.paragraph(
        "Backpropagation is the same move on a computation graph: the naive chain rule is the "
        "plain recursion, and storing each node's adjoint is the memo."
    )
