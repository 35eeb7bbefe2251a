"""``memograd bench``: memograd's speed against its peers, side by side, with issue 8's targets."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from memograd.bench.report import (
    cell,
    format_seconds,
    header_lines,
    load_text,
    to_markdown,
    verdict_word,
)
from memograd.cli import _common

HELP = "speed against PyTorch, JAX, MyGrad, autograd, NumPy by hand, micrograd, functools"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help=HELP,
        description=(
            "Time every case with each installed peer in alternation over several rounds and "
            "print medians, ratios (memograd's time / the peer's: below 1 is faster) and "
            "whether each target is met. Peers that are not installed are skipped with a note; "
            "pip install 'memograd[bench]' installs them all."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer rounds, shorter batches and smaller scalar problems (seconds, not minutes)",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        help="run only these cases: comma-separated names or prefixes (e.g. mlp,memoize_hit)",
    )
    parser.add_argument(
        "--rounds",
        type=_common.positive_int,
        metavar="N",
        help="timed rounds per peer (default 11, or 3 with --quick); medians are over rounds",
    )
    parser.add_argument(
        "--threads",
        type=_common.positive_int,
        metavar="N",
        help="threads for every peer's BLAS, PyTorch and XLA (default: the core count)",
    )
    parser.add_argument(
        "--system-allocator",
        action="store_true",
        help="leave malloc's defaults (by default freed memory is kept for reuse, for all peers)",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the run as Markdown tables (how docs/performance.md is made)",
    )
    parser.add_argument("--list", action="store_true", help="list the cases and their targets")
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd.bench.cases import CASES, run_benchmark, select_cases
    from memograd.bench.results import Settings

    if args.list:
        return _list_cases(CASES, args.json)
    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    if args.only is not None and not only:
        raise ValueError(f"--only needs at least one case name, got {args.only!r}")
    cases = select_cases(only)
    settings = Settings.for_run(quick=args.quick, rounds=args.rounds)
    if args.json and args.markdown:
        raise ValueError("--json and --markdown are two output formats: choose one")
    if args.json or args.markdown:
        report = run_benchmark(
            cases,
            settings,
            threads=args.threads,
            keep_freed_memory=not args.system_allocator,
        )
        if args.json:
            _common.emit_json(report)
        else:
            print(to_markdown(report), end="")
    else:
        from rich.console import Console

        console = Console()
        report = run_benchmark(
            cases,
            settings,
            on_header=lambda h: _print_header(console, h),
            on_result=lambda r: _print_case(console, r.as_dict()),
            threads=args.threads,
            keep_freed_memory=not args.system_allocator,
        )
        _print_summary(console, report["cases"])
        console.print(
            f"load average at the end: {load_text(report['header'].get('load_average_at_end'))}",
            highlight=False,
        )
    return 1 if any(case["status"] == "error" for case in report["cases"]) else 0


def _list_cases(cases: Any, as_json: bool) -> int:
    if as_json:
        _common.emit_json([{"name": c.name, "title": c.title, "target": c.target} for c in cases])
        return 0
    for case in cases:
        print(f"{case.name:20} {case.title}\n{'':20} target: {case.target}")
    return 0


def _print_header(console: Any, header: dict[str, Any]) -> None:
    for line in header_lines(header):
        console.print(line, highlight=False)
    console.print()


_COLOURS = {
    "met": "green",
    "NOT met": "red",
    "error": "red",
    "skipped": "yellow",
    "not judged": "yellow",
}


def _verdict_text(case: dict[str, Any]) -> str:
    word = verdict_word(case)
    return f"[{_COLOURS[word]}]{word}[/{_COLOURS[word]}]"


def _print_case(console: Any, case: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{case['title']}  [dim]({case['name']})[/dim]", title_justify="left")
    table.add_column(case["label_header"])
    extra_columns = list(case["columns"])
    for column in extra_columns:
        table.add_column(column.replace("_", " "), justify="right")
    table.add_column("median", justify="right")
    has_ratio = any(row["ratio"] is not None for row in case["rows"])
    if has_ratio:
        table.add_column("memograd / peer", justify="right")
    # Long notes (how each peer's step is written) go below the table, which stays narrow.
    legend = any(len(row["note"]) > 40 for row in case["rows"])
    has_note = any(row["note"] for row in case["rows"]) and not legend
    if has_note:
        table.add_column("note", overflow="fold")
    for row in case["rows"]:
        cells = [row["label"]]
        cells += [cell(row["extra"].get(column), column) for column in extra_columns]
        cells.append(format_seconds(row["seconds"]))
        if has_ratio:
            cells.append("-" if row["ratio"] is None else f"{row['ratio']:.2f}x")
        if has_note:
            cells.append(row["note"])
        table.add_row(*cells)
    if case["rows"]:
        console.print(table)
        if legend:
            for row in case["rows"]:
                if row["note"]:
                    console.print(f"  [dim]{row['label']}: {row['note']}[/dim]", highlight=False)
    else:
        console.print(f"[bold]{case['title']}[/bold] ({case['name']})")
    console.print(f"target: {case['target']} -> {_verdict_text(case)}: {case['verdict']}")
    for skipped in case["skipped"]:
        console.print(f"[yellow]skipped {skipped['peer']}[/yellow]: {skipped['reason']}")
    for note in case["notes"]:
        console.print(f"[dim]note: {note.rstrip()}[/dim]", highlight=False)
    console.print()


def _print_summary(console: Any, cases: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="targets", title_justify="left")
    table.add_column("case")
    table.add_column("target")
    table.add_column("result")
    table.add_column("measured", overflow="fold")
    for case in cases:
        table.add_row(case["name"], case["target"], _verdict_text(case), case["verdict"])
    console.print(table)
    if any(case["status"] == "error" for case in cases):
        print("memograd bench: some cases failed; see their notes", file=sys.stderr)
