"""``memograd fib N``: Fibonacci by plain recursion, by the memo and by the table, side by side.

    memograd fib 35                       all three: value, calls, closed form, seconds
    memograd fib 90 --strategy memo       one strategy
    memograd fib 40 --strategy naive --force

The point is the calls column: 2*F(n+1) - 1 for naive against 2n - 1 and n + 1. Each strategy
has a budget, checked before it starts from closed forms (``fibonacci.fib_calls``,
``fib_memory``, ``fib_word_additions``), so a computation that would not finish is refused with
its exact cost instead: naive by its number of calls (``--max-calls``), memo by its memory (its
dict keeps every F(k), about 0.046*N^2 bytes; 1 GB budget), memo and table by their big-integer
additions (N^2 words). ``--force`` lifts these budgets, never the machine's available memory nor
Python's recursion limit. Asked for one strategy, a refusal is an error (exit 2); with ``all`` the
refused strategy is reported as skipped and the others run.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from memograd.cli import _common

DEFAULT_MAX_CALLS = 100_000_000
"""Under ten seconds of naive recursion (fib(35), 30 million calls, takes about two): fib(37),
78 million calls, runs; fib(38), 126 million, is refused."""

MAX_WORD_ADDITIONS = 500_000_000
"""Work budget of memo and table, in additions of 30-bit words (``fibonacci.fib_word_additions``):
about N = 200,000, a second or two of table. Memo is held by the memory budget first: its dict
of every F(k) passes 1 GB near N = 147,000."""

LARGEST_N = 1_000_000
"""Refused outright, even with --force: F(10^6) has 208,988 digits and the table needs ~10 s."""

CLOSED_FORMS = {"naive": "2·F(n+1) − 1", "memo": "2n − 1", "table": "n + 1"}
SHOWN_DIGITS = 20
"""A value longer than 2 * SHOWN_DIGITS digits is shown as its first and last digits."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fib",
        help="Fibonacci three ways: naive recursion vs memo vs table, value, calls and time",
        description=(
            "Compute F(N) (F(0) = 0, F(1) = 1) by plain recursion, by recursion with a memo "
            "dict and by a bottom-up table; print each value, how many calls it took against "
            "its closed form, and the time."
        ),
    )
    parser.add_argument("n", metavar="N", type=_common.non_negative_int, help="index, N >= 0")
    parser.add_argument(
        "--strategy",
        choices=("naive", "memo", "table", "all"),
        default="all",
        help="which strategy to run (default: all)",
    )
    parser.add_argument(
        "--max-calls",
        type=_common.positive_int,
        default=DEFAULT_MAX_CALLS,
        metavar="CALLS",
        help=f"refuse naive recursion above this many calls (default: {DEFAULT_MAX_CALLS:,})",
    )
    parser.add_argument(
        "--force", action="store_true", help="run strategies even over their budget"
    )
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd._numbers import exact_integer_text
    from memograd.fibonacci import FIB_STRATEGIES

    if args.n > LARGEST_N:
        raise ValueError(f"N must be at most {LARGEST_N:,}, got {args.n:,}")
    strategies = FIB_STRATEGIES if args.strategy == "all" else (args.strategy,)
    refusals = {s: _refusal(args.n, s, args.max_calls, args.force) for s in strategies}
    if args.strategy != "all" and refusals[args.strategy]:
        raise ValueError(refusals[args.strategy])
    results = []
    with exact_integer_text():
        for strategy in strategies:
            results.append(_run_one(args.n, strategy, refusals[strategy]))
        if args.json:
            _common.emit_json(
                {
                    "n": args.n,
                    "max_calls": args.max_calls,
                    "results": results,
                    "agree": len({r["value"] for r in results if r["ran"]}) <= 1,
                }
            )
        else:
            _print_table(args.n, results)
    return 0


def _refusal(n: int, strategy: str, max_calls: int, force: bool) -> str | None:
    """Why ``strategy`` should not run for ``n`` (one line), or None when it may.

    From the closed forms alone: naive's calls against ``--max-calls`` (and its recursion
    depth against Python's limit, which --force cannot lift), memo's memory and memo's and
    table's word additions against their budgets, and every strategy's memory against what
    the machine has available.
    """
    from memograd._budget import Budget, Estimate, refusal
    from memograd.fibonacci import fib_calls, fib_memory, fib_word_additions

    memory = fib_memory(n, strategy)  # type: ignore[arg-type]
    if strategy == "naive":
        depth_limit = sys.getrecursionlimit() - 100  # frames the command itself is using
        if n > depth_limit:
            return (
                f"fib {n:,} by naive recursion would nest {n:,} calls deep, past Python's "
                f"recursion limit ({depth_limit:,} left for it; --force does not lift this); "
                "use --strategy memo or table"
            )
        estimate = Estimate(f"fib {n:,} by naive recursion", memory, fib_calls(n, "naive"), "calls")
        budget = Budget(work=max_calls, force=force)
        instead = "use --strategy memo or table, or raise --max-calls"
    else:
        held = f"a dict holding F(0)..F({n})" if strategy == "memo" else "two big integers"
        estimate = Estimate(
            f"fib {n:,} by {strategy} ({held})",
            memory,
            fib_word_additions(n),
            "additions of 30-bit words",
        )
        budget = Budget(work=MAX_WORD_ADDITIONS, force=force)
        instead = "use --strategy table" if strategy == "memo" else ""
    error = refusal(estimate, budget, instead=instead)
    return None if error is None else str(error)


def _run_one(n: int, strategy: str, refused: str | None) -> dict[str, Any]:
    from memograd.fibonacci import fib_calls, fib_count

    result: dict[str, Any] = {
        "strategy": strategy,
        "ran": refused is None,
        "value": None,
        "digits": None,
        "calls": None,
        "closed_form_calls": fib_calls(n, strategy),  # type: ignore[arg-type]
        "closed_form": CLOSED_FORMS[strategy],
        "seconds": None,
        "refused": refused,
    }
    if refused is None:
        start = time.perf_counter()
        value, calls = fib_count(n, strategy)  # type: ignore[arg-type]
        result["seconds"] = time.perf_counter() - start
        result.update(value=value, digits=len(str(value)), calls=calls)
    return result


def _shown(value: int) -> str:
    text = str(value)
    if len(text) <= 2 * SHOWN_DIGITS:
        return f"{value:,}" if len(text) <= SHOWN_DIGITS else text
    return f"{text[:SHOWN_DIGITS]}…{text[-SHOWN_DIGITS:]} ({len(text):,} digits)"


def _print_table(n: int, results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"F({n}) three ways",
        caption="calls: measured while running; closed form: what the definitions predict",
    )
    table.add_column("strategy")
    table.add_column(f"F({n})", justify="right")
    table.add_column("calls", justify="right")
    table.add_column("closed form", justify="right")
    table.add_column("seconds", justify="right")
    notes = []
    for r in results:
        if r["ran"]:
            cells = [_shown(r["value"]), f"{r['calls']:,}", f"{r['seconds']:.3g}"]
        else:
            cells = ["skipped", "—", "—"]
            notes.append(r["refused"])
        predicted = f"{r['closed_form']} = {_shown(r['closed_form_calls'])}"
        table.add_row(r["strategy"], cells[0], cells[1], predicted, cells[2])
    console = Console()
    if not console.is_terminal:  # piped: do not wrap long numbers
        console = Console(width=160)
    console.print(table)
    for note in notes:
        console.print(f"skipped: {note}", markup=False, highlight=False, soft_wrap=True)
