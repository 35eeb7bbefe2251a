"""memograd's benchmark: every case timed side by side with the peers that are installed.

    python benchmarks/run.py              every case, a few minutes (what `make bench` runs)
    python benchmarks/run.py --quick      fewer rounds, smaller problems: about a minute
    python benchmarks/run.py --only mlp   cases by name or prefix (--list names them)
    python benchmarks/run.py --threads 1  every peer's BLAS, PyTorch and XLA on one thread
    python benchmarks/run.py --markdown   the tables of docs/performance.md (--json for programs)

It runs from a checkout of the repository and measures the memograd of that checkout (its
``src/`` comes first on the path, whatever else is installed); ``pip install -e '.[bench]'``
installs the peers. Bad arguments exit with status 2 and one line; a case that crashes is
reported as an error and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line and exit status 2, like the memograd command line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from memograd.cli._common import add_json_flag, positive_int

    parser = _Parser(
        prog="benchmarks/run.py",
        description=(
            "Time every case with each installed peer in alternation over several rounds and "
            "print medians, ratios (memograd's time / the peer's: below 1 is faster) and "
            "whether each target is met. Peers that are not installed are skipped with a note; "
            "pip install -e '.[bench]' installs them all."
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
        type=positive_int,
        metavar="N",
        help="timed rounds per peer (default 11, or 3 with --quick); medians are over rounds",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
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
    add_json_flag(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ValueError as exc:
        print(f"benchmarks/run.py: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from benchmarks.environment import configure_xla, core_count

    if args.json and args.markdown:
        raise ValueError("--json and --markdown are two output formats: choose one")
    # Before anything imports jax: XLA reads its settings once, when it starts.
    configure_xla(args.threads or core_count())
    from benchmarks.cases import CASES, run_benchmark, select_cases
    from benchmarks.results import Settings
    from memograd.cli._common import emit_json

    if args.list:
        return _list_cases(CASES, args.json)
    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    if args.only is not None and not only:
        raise ValueError(f"--only needs at least one case name, got {args.only!r}")
    cases = select_cases(only)
    settings = Settings.for_run(quick=args.quick, rounds=args.rounds)
    keep_freed = not args.system_allocator
    if args.json or args.markdown:
        report = run_benchmark(cases, settings, threads=args.threads, keep_freed=keep_freed)
        if args.json:
            emit_json(report)
        else:
            from benchmarks.report import to_markdown

            print(to_markdown(report), end="")
    else:
        from rich.console import Console

        from benchmarks.report import load_text, print_case, print_header, print_summary

        console = Console()
        report = run_benchmark(
            cases,
            settings,
            on_header=lambda header: print_header(console, header),
            on_result=lambda result: print_case(console, result.as_dict()),
            threads=args.threads,
            keep_freed=keep_freed,
        )
        print_summary(console, report["cases"])
        console.print(
            f"load average at the end: {load_text(report['header'].get('load_average_at_end'))}",
            highlight=False,
        )
    return 1 if any(case["status"] == "error" for case in report["cases"]) else 0


def _list_cases(cases: Sequence, as_json: bool) -> int:
    if as_json:
        from memograd.cli._common import emit_json

        emit_json([{"name": c.name, "title": c.title, "target": c.target} for c in cases])
        return 0
    for case in cases:
        print(f"{case.name:20} {case.title}\n{'':20} target: {case.target}")
    return 0


if __name__ == "__main__":
    # Run as a script, Python puts this folder first on the path, where the family modules would
    # shadow any top-level module of the same name: this checkout's src/ and root replace it.
    sys.path[0:1] = [str(ROOT / "src"), str(ROOT)]
    raise SystemExit(main())
