"""``memograd cost``: chain-rule work against depth, naive sum of paths vs backpropagation.

    memograd cost --width 3 --max-depth 12 --measure --plot cost.png

prints, for the nets ``w-w-...-w-1`` with 1..D hidden layers, the exact number of paths
per first-layer weight (w^(d-1)), the multiplications the naive sum needs for every
weight's gradient, those of one backward sweep, and their ratio; ``--measure`` times the
engine's naive and sweep backward passes, ``--plot`` draws the log-scale chart. The size of
the exact counts and the engine graphs ``--measure`` would build are estimated first and
refused past their budgets (``--force`` lifts them, never past the machine's memory).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from memograd.cli import _common

if TYPE_CHECKING:
    from rich.table import Table

    from memograd.explain import CostRow

MAX_DEPTH_LIMIT = 1000
"""Deeper tables only print longer integers; the bound keeps a typo from hanging the shell.
Every depth up to it works at any width within the digits budget: counts are exact integers,
ratios exact fractions."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from memograd.explain.measure import DEFAULT_NAIVE_BUDGET
    from memograd.explain.sizes import DEFAULT_MAX_DIGITS, DEFAULT_MAX_ENGINE_NODES

    parser = subparsers.add_parser(
        "cost",
        help="paths and multiplications against depth, naive vs memoized, table and plot",
        description=(
            "Exact chain-rule cost for width-W nets of depth 1..D with one output: paths per "
            "first-layer weight, multiplications of the naive sum of paths and of "
            "backpropagation, and their ratio."
        ),
    )
    parser.add_argument(
        "--width", type=_common.positive_int, required=True, help="units per hidden layer"
    )
    parser.add_argument(
        "--max-depth",
        type=_common.positive_int,
        required=True,
        help=f"largest number of hidden layers (1..{MAX_DEPTH_LIMIT})",
    )
    parser.add_argument(
        "--inputs", type=_common.positive_int, help="input size (default: the width)"
    )
    parser.add_argument(
        "--measure",
        action="store_true",
        help="also time the engine's naive and sweep backward passes",
    )
    parser.add_argument(
        "--budget",
        type=_common.positive_int,
        default=DEFAULT_NAIVE_BUDGET,
        metavar="PATHS",
        help=f"largest path count a timed naive run may have (default: {DEFAULT_NAIVE_BUDGET:,})",
    )
    parser.add_argument("--plot", metavar="FILE", help="write the log-scale chart (.png or .svg)")
    parser.add_argument(
        "--force",
        action="store_true",
        help=(
            f"run past the soft budgets ({DEFAULT_MAX_DIGITS:,} digits of exact counts; "
            f"{DEFAULT_MAX_ENGINE_NODES:,} engine nodes built for --measure), never past the "
            "machine's available memory"
        ),
    )
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd._budget import Budget, check
    from memograd._numbers import exact_integer_text
    from memograd.explain import cost_table, measure_cost_table, uniform_arch
    from memograd.explain.measure import DEFAULT_REPEATS
    from memograd.explain.sizes import (
        DEFAULT_MAX_DIGITS,
        DEFAULT_MAX_ENGINE_NODES,
        cost_table_estimate,
        measurement_estimate,
    )

    if args.max_depth > MAX_DEPTH_LIMIT:
        raise ValueError(f"--max-depth must be at most {MAX_DEPTH_LIMIT}, got {args.max_depth}")
    if args.plot is not None:
        from memograd.viz.cost_plot import plot_format

        plot_format(args.plot)  # refuse a bad extension before doing any work
    # Both estimates come from the sizes alone, so a refusal costs nothing.
    check(
        cost_table_estimate(args.width, args.max_depth, args.inputs),
        Budget(work=DEFAULT_MAX_DIGITS, force=args.force),
        lift="--force computes it anyway",
        instead="lower --width or --max-depth",
    )
    if args.measure:
        archs = [uniform_arch(args.width, d, args.inputs) for d in range(1, args.max_depth + 1)]
        check(
            measurement_estimate(archs, repeats=DEFAULT_REPEATS),
            Budget(work=DEFAULT_MAX_ENGINE_NODES, force=args.force),
            lift="--force measures anyway",
            instead="lower --width or --max-depth",
        )
    rows = cost_table(args.width, args.max_depth, args.inputs)
    if args.measure:
        rows = measure_cost_table(rows, max_paths=args.budget)
    plot_path = None
    if args.plot is not None:
        from memograd.viz.cost_plot import plot_cost

        plot_path = str(plot_cost(rows, args.plot))
    if args.json:
        with exact_integer_text():  # counts past Python's 4300-digit text limit stay exact
            _common.emit_json(
                {
                    "width": args.width,
                    "inputs": args.inputs if args.inputs is not None else args.width,
                    "max_depth": args.max_depth,
                    "closed_forms": CLOSED_FORMS,
                    "measured": args.measure,
                    "naive_budget": args.budget if args.measure else None,
                    "rows": [row.to_dict() for row in rows],
                    "plot": plot_path,
                }
            )
        return 0
    _print_table(rows, args.measure)
    if plot_path is not None:
        print(f"plot written to {plot_path}")
    return 0


CLOSED_FORMS = {
    "paths_per_first_layer_weight": "w^(d-1)",
    "naive_multiplications": "sum_{m=1}^{d+1} m w^m (inputs = w)",
    "backprop_multiplications": "(2d-1) w^2 + 2w (inputs = w)",
}

TABLE_DIGITS = 9
"""Counts up to this many digits are printed in full; longer ones to three figures, so the
table fits an 80-column terminal at any depth (--json has every count exact)."""


def _print_table(rows: Sequence[CostRow], measured: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from memograd._numbers import digit_count, scientific, short_count, short_ratio

    first = rows[0]
    caption = (
        "paths per first-layer weight = w^(d-1); naive = each path's product on its own; "
        "backprop = each adjoint once"
    )
    deepest = rows[-1]
    if digit_count(deepest.naive_multiplications) > TABLE_DIGITS:
        paths = deepest.paths_per_first_layer_weight
        example, value = f"{deepest.width}^{deepest.depth - 1}", paths
        if digit_count(paths) <= TABLE_DIGITS:
            example, value = f"naive at depth {deepest.depth}", deepest.naive_multiplications
        caption += (
            f". Counts past {TABLE_DIGITS} digits are rounded to 3 figures: {example} = "
            f"{scientific(value)} has {digit_count(value):,} digits; --json gives them exact"
        )
    table = Table(
        title=f"chain-rule work for every weight's gradient, width {first.width:,}, one output",
        caption=caption,
    )
    table.add_column("depth", justify="right", no_wrap=True)
    table.add_column("weights", justify="right", no_wrap=True)
    table.add_column("paths / W^1_ij", justify="right", no_wrap=True)
    table.add_column("naive ×", justify="right", no_wrap=True)
    table.add_column("backprop ×", justify="right", no_wrap=True)
    table.add_column("ratio", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            str(row.depth),
            short_count(row.weights, TABLE_DIGITS),
            short_count(row.paths_per_first_layer_weight, TABLE_DIGITS),
            short_count(row.naive_multiplications, TABLE_DIGITS),
            short_count(row.backprop_multiplications, TABLE_DIGITS),
            short_ratio(row.ratio),
        )
    console = Console()
    console.print(table)
    if measured:  # a table of its own: both fit 80 columns
        console.print(_timing_table(rows))


def _timing_table(rows: Sequence[CostRow]) -> Table:
    from rich.table import Table

    table = Table(
        title="backward time, best of 3 runs",
        caption="naive: not run past --budget paths",
    )
    for name in ("depth", "naive", "sweep", "naive ÷ sweep"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        naive, sweep = row.naive_seconds, row.sweep_seconds
        table.add_row(
            str(row.depth),
            "not run" if naive is None else _seconds(naive),
            "not run" if sweep is None else _seconds(sweep),
            "" if naive is None or not sweep else f"{naive / sweep:,.3g}",
        )
    return table


def _seconds(seconds: float) -> str:
    """``85 µs``, ``12 ms``, ``1.3 s``: three significant figures in the unit that reads best."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"
