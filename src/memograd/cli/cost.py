"""``memograd cost``: chain-rule work against depth, naive sum of paths vs backpropagation.

    memograd cost --width 3 --max-depth 12 --measure --plot cost.png

prints, for the nets ``w-w-...-w-1`` with 1..D hidden layers, the exact number of paths
per first-layer weight (w^(d-1)), the multiplications the naive sum needs for every
weight's gradient, those of one backward sweep, and their ratio; ``--measure`` times the
engine's naive and sweep backward passes, ``--plot`` draws the log-scale chart.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from memograd.cli import _common

if TYPE_CHECKING:
    from memograd.explain import CostRow

MAX_DEPTH_LIMIT = 1000
"""Deeper tables only print longer integers; the bound keeps a typo from hanging the shell."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from memograd.explain.measure import DEFAULT_NAIVE_BUDGET

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
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd.explain import cost_table, measure_cost_table

    if args.max_depth > MAX_DEPTH_LIMIT:
        raise ValueError(f"--max-depth must be at most {MAX_DEPTH_LIMIT}, got {args.max_depth}")
    if args.plot is not None:
        from memograd.explain.cost_plot import plot_format

        plot_format(args.plot)  # refuse a bad extension before doing any work
    rows = cost_table(args.width, args.max_depth, args.inputs)
    if args.measure:
        rows = measure_cost_table(rows, max_paths=args.budget)
    plot_path = None
    if args.plot is not None:
        from memograd.explain.cost_plot import plot_cost

        plot_path = str(plot_cost(rows, args.plot))
    if args.json:
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


def _print_table(rows: Sequence[CostRow], measured: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    first = rows[0]
    table = Table(
        title=f"chain-rule work for every weight's gradient, width {first.width}, one output",
        caption=(
            "paths per first-layer weight = w^(d-1); naive = each path's product on its own; "
            "backprop = each adjoint once"
        ),
    )
    table.add_column("depth", justify="right")
    table.add_column("weights", justify="right")
    table.add_column("paths / W^1_ij", justify="right")
    table.add_column("naive ×", justify="right")
    table.add_column("backprop ×", justify="right")
    table.add_column("ratio", justify="right")
    if measured:
        table.add_column("naive s", justify="right")
        table.add_column("sweep s", justify="right")
    for row in rows:
        cells = [
            str(row.depth),
            f"{row.weights:,}",
            f"{row.paths_per_first_layer_weight:,}",
            f"{row.naive_multiplications:,}",
            f"{row.backprop_multiplications:,}",
            f"{row.ratio:,.3g}",
        ]
        if measured:
            cells.append("over budget" if row.naive_seconds is None else f"{row.naive_seconds:.2e}")
            cells.append(f"{row.sweep_seconds:.2e}")
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:  # piped: never wrap the long integers
        console = Console(width=max(120, _table_width(rows, measured)))
    console.print(table)


def _table_width(rows: Sequence[CostRow], measured: bool) -> int:
    longest = max(len(f"{row.naive_multiplications:,}") for row in rows)
    return 3 * longest + 60 + (24 if measured else 0)
