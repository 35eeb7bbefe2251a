"""``memograd checkpoint``: store or recompute, for a chain of N layers, counted and measured.

    memograd checkpoint --depth 64 --slots 4                 store-all, sqrt and revolve, counted
    memograd checkpoint --depth 1024 --slots 10 --kind revolve --json
    memograd checkpoint --depth 64 --slots 4 --measure       and run on a 64-layer MLP

Each row is a plan of ``mg.checkpoint.schedule``: its forward evaluations (store-all makes N),
the extra ones against store-all, the snapshots it keeps and the states it holds for the
backward pass at once. ``--measure`` runs every plan on a chain of N ``Linear(W, W) -> ReLU``
blocks (batch B, float32) with ``mg.nn.run_schedule`` and reports the memory the engine held
(counted from the graph), the process's peak (tracemalloc) and the median time of a training
step, and checks that each plan's gradients are plain backprop's, bit for bit. Plans and
measurements are estimated before they start and refused past their budgets (``--force``).
"""

from __future__ import annotations

import argparse
from typing import Any

from memograd.cli import _common

MAX_PLAN_ACTIONS = 2_000_000
"""A plan is a list of actions (about 6 per step at most for revolve): two million is a few
seconds of planning and a few hundred MB; past it the counts are refused (--force lifts)."""

BYTES_PER_ACTION = 120
"""An action held in a plan: a two-field tuple and the list's pointer to it, with room."""

MAX_MULTIPLY_ADDS = 10**12
"""The work budget of --measure, in multiply-adds of the matrix products: a minute or two on a
laptop's CPU. Depth 64 at width 512 and batch 256 (three plans, three repeats) takes 3e11."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "checkpoint",
        help="store or recompute: checkpointing schedules for N layers, counted and measured",
        description=(
            "Plans for backpropagating through a chain of N layers with less memory: store-all "
            "(plain backprop), sqrt (about sqrt(N) segments, one extra forward pass) and revolve "
            "(S slots, the fewest recomputations). Prints each plan's counts; --measure runs "
            "them on a deep MLP."
        ),
    )
    parser.add_argument(
        "--depth", type=_common.positive_int, required=True, metavar="N", help="layers (steps)"
    )
    parser.add_argument(
        "--slots",
        type=_common.positive_int,
        metavar="S",
        help="states revolve may keep (needed when revolve is shown)",
    )
    parser.add_argument(
        "--kind",
        choices=("revolve", "sqrt", "all"),
        help="one schedule beside store-all ('all' is store-all itself); default: all three",
    )
    parser.add_argument(
        "--measure", action="store_true", help="run each plan on a deep MLP and measure it"
    )
    parser.add_argument(
        "--width", type=_common.positive_int, default=512, help="--measure: units per layer (512)"
    )
    parser.add_argument(
        "--batch", type=_common.positive_int, default=256, help="--measure: batch size (256)"
    )
    parser.add_argument(
        "--repeats",
        type=_common.positive_int,
        default=3,
        help="--measure: timed runs per plan, the median reported (3)",
    )
    parser.add_argument(
        "--actions", action="store_true", help="--json: include every plan's actions"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help=(
            f"run past the soft budgets ({MAX_PLAN_ACTIONS:,} plan actions, {MAX_MULTIPLY_ADDS:.0e}"
            " multiply-adds and 1 GB for --measure), never past the machine's memory"
        ),
    )
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def _kinds(args: argparse.Namespace) -> list[str]:
    kinds = ["all", "sqrt", "revolve"] if args.kind is None else ["all", args.kind]
    kinds = list(dict.fromkeys(kinds))
    if "revolve" in kinds and args.slots is None:
        raise _usage("--slots S is needed for revolve (the states it may keep)")
    if "revolve" not in kinds and args.slots is not None:
        raise _usage(f"--slots is revolve's; --kind {args.kind} chooses its own snapshots")
    return kinds


def _usage(message: str) -> Exception:
    from memograd.cli import UsageError

    return UsageError(f"memograd checkpoint: {message}")


def run(args: argparse.Namespace) -> int:
    from memograd._budget import Budget, Estimate, check
    from memograd.engine.schedules import schedule

    kinds = _kinds(args)
    actions = 2 + sum(4 * (args.depth**0.5 + 1) if k == "sqrt" else 6 * args.depth for k in kinds)
    check(
        Estimate(
            f"the plans for {args.depth:,} steps",
            int(actions * BYTES_PER_ACTION),
            int(actions),
            "plan actions",
        ),
        Budget(work=MAX_PLAN_ACTIONS, force=args.force),
        instead="ask for a smaller --depth",
    )
    plans = [schedule(args.depth, args.slots if k == "revolve" else None, k) for k in kinds]
    measured = _measure(args, plans) if args.measure else None
    if args.json:
        _common.emit_json(_document(args, plans, measured))
    else:
        _print(args, plans, measured)
    return 0


def _measure(args: argparse.Namespace, plans: list[Any]) -> list[Any]:
    from memograd._budget import Budget, Estimate, check
    from memograd.nn.checkpoint_costs import chain_estimate, chain_multiply_adds, measure_plans

    check(
        Estimate(
            f"measuring {len(plans)} plans on {args.depth} layers of width {args.width}, batch "
            f"{args.batch}",
            chain_estimate(args.depth, args.width, args.batch),
            chain_multiply_adds(plans, args.width, args.batch, args.repeats),
            "multiply-adds",
        ),
        Budget(work=MAX_MULTIPLY_ADDS, force=args.force),
        instead="use a smaller --depth, --width or --batch",
    )
    return measure_plans(plans, args.width, args.batch, repeats=args.repeats)


def _document(args: argparse.Namespace, plans: list[Any], measured: list[Any] | None) -> Any:
    rows = []
    for k, plan in enumerate(plans):
        row = plan.to_dict(actions=args.actions)
        row["work_ratio"] = plan.counts.forward_evaluations / plan.n
        if measured is not None:
            row["measured"] = measured[k].to_dict()
        rows.append(row)
    document: dict[str, Any] = {"depth": args.depth, "slots": args.slots, "plans": rows}
    if measured is not None:
        document["network"] = {
            "layers": args.depth,
            "width": args.width,
            "batch": args.batch,
            "dtype": "float32",
            "repeats": args.repeats,
        }
    return document


def _print(args: argparse.Namespace, plans: list[Any], measured: list[Any] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from memograd._budget import readable_bytes
    from memograd.viz.units import format_seconds

    table = Table(
        title=f"Store or recompute: {args.depth:,} layers",
        caption=(
            "forward evaluations: steps run in all (store-all runs each once); stored: the most "
            "states held for the backward pass at once (snapshots and recorded steps' inputs "
            "and outputs)"
        ),
    )
    for header in ("schedule", "forward evaluations", "extra", "slots", "stored"):
        table.add_column(header, justify="left" if header == "schedule" else "right")
    if measured is not None:
        for header in ("engine held", "peak (tracemalloc)", "time", "gradients"):
            table.add_column(header, justify="right")
    for k, plan in enumerate(plans):
        c = plan.counts
        cells = [
            plan.label,
            f"{c.forward_evaluations:,}",
            f"+{c.extra_evaluations:,} ({c.forward_evaluations / plan.n:.2f}x)",
            f"{c.peak_slots:,}",
            f"{c.peak_stored:,}",
        ]
        if measured is not None:
            m = measured[k]
            cells += [
                readable_bytes(m.held_bytes),
                readable_bytes(m.traced_peak_bytes),
                format_seconds(m.seconds),
                "identical" if m.same_gradients else "DIFFERENT",
            ]
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)
    if measured is not None:
        console.print(
            f"Measured on {args.depth} blocks Linear({args.width}, {args.width}) -> ReLU, batch "
            f"{args.batch}, float32, median of {args.repeats}; the tracemalloc peak includes the "
            f"{readable_bytes(measured[0].gradient_bytes)} of parameter gradients every "
            "schedule allocates.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
