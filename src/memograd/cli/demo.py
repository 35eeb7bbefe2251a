"""``memograd demo``: the whole story of the notes on built-in data, ending in an HTML report.

    memograd demo [--out DIR] [--quick] [--seed S] [--open] [--json]

Progress goes to stderr (a live display on a terminal, one line per section otherwise), so
``--json`` leaves stdout to the single JSON document of every section's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from memograd.cli import _common

if TYPE_CHECKING:
    from rich.progress import TaskID

DEFAULT_OUT = "memograd-report"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the whole story, measured on this machine, in a self-contained HTML report",
        description=(
            "Fibonacci with and without memoization, the notes' 2-2-2-1 network and its "
            "chain-rule paths, the cost of depth, a digits classifier trained with memograd, "
            "and a speed comparison; writes DIR/report.html."
        ),
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"directory of the report (default: ./{DEFAULT_OUT}/)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller settings: the whole run in under 15 s"
    )
    parser.add_argument(
        "--seed",
        type=_common.non_negative_int,
        default=0,
        help="seed of every random choice: weights, data split, batches (default: 0)",
    )
    parser.add_argument(
        "--open", action="store_true", help="open the report in a web browser when done"
    )
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd.demo import DemoSettings, run_demo

    settings = DemoSettings.for_run(quick=args.quick, seed=args.seed)
    with _progress_display() as on_progress:
        result = run_demo(args.out, settings, on_progress)
    assert result.report_path is not None
    if args.json:
        _common.emit_json(result.to_dict())
    else:
        print(_summary(result))
    if args.open:
        import webbrowser

        webbrowser.open(result.report_path.resolve().as_uri())
    return 0


@contextlib.contextmanager
def _progress_display() -> Iterator[Callable[[int, int, str, bool], None]]:
    """A rich progress bar on a terminal, one plain line per step on stderr otherwise."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:

        def log_line(index: int, total: int, heading: str, finished: bool) -> None:
            if not finished:
                print(f"memograd demo [{index}/{total}] {heading}", file=sys.stderr)

        yield log_line
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: list[TaskID] = []

    def update_bar(index: int, total: int, heading: str, finished: bool) -> None:
        if not tasks:
            tasks.append(progress.add_task(heading, total=total))
        progress.update(
            tasks[0],
            description=f"[{index}/{total}] {heading}",
            completed=index if finished else index - 1,
        )

    with progress:
        yield update_bar


def _summary(result) -> str:  # noqa: ANN001 - DemoResult
    """A few headline numbers and where the report is."""
    sections = result.data
    network = sections["network"]
    depth = sections["depth"]["rows"][-1]
    model = sections["model"]
    lines = [
        f"memograd demo ({'quick' if result.settings.quick else 'full'}, seed "
        f"{result.settings.seed}) in {sum(result.seconds.values()):.1f} s",
        f"  2-2-2-1 network: ∂L/∂W^1_11 over {network['paths']} paths: naive "
        f"{network['naive_gradient']:.10g}, backprop {network['memo_gradient']:.10g}, "
        f"finite difference {network['finite_difference']:.10g}",
        f"  depth {depth['depth']}, width {depth['width']}: naive "
        f"{depth['naive_multiplications']:,} multiplications, backprop "
        f"{depth['backprop_multiplications']:,}",
        f"  digits MLP: test accuracy {model['test_accuracy']:.3f}",
    ]
    speed = sections["speed"]["peers"]
    ratios = ", ".join(
        f"{p['name']} {p['memograd_ratio']:.2f}" for k, p in speed.items() if k != "memograd"
    )
    if ratios:
        lines.append(f"  one training step, memograd time ÷ peer time: {ratios}")
    lines.append(f"report: {result.report_path}")
    return "\n".join(lines)
