"""The benchmark's report as text: rich tables on a terminal, Markdown for the docs.

``python benchmarks/run.py --markdown`` prints :func:`to_markdown` of a run, which is how the
tables in docs/performance.md are made: pasted from a run, never typed.
"""

from __future__ import annotations

import sys
from typing import Any


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit a person reads at a glance: 412 µs, 3.18 ms, 1.24 s."""
    if seconds is None:
        return "-"
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def header_lines(header: dict[str, Any]) -> list[str]:
    """The header as plain text lines, for the terminal and for Markdown alike."""
    blas = "; ".join(
        f"{b['library']} {b['version']} kernel={b['kernel']} threads={b['threads']}"
        for b in header["blas"]
    )
    env = " ".join(
        f"{k}={v if v is not None else 'unset'}" for k, v in header["environment"].items()
    )
    versions = " ".join(f"{k}={v}" for k, v in header["versions"].items() if v is not None)
    missing = [k for k, v in header["versions"].items() if v is None]
    settings = header["settings"]
    threads = header["threads"]
    lines = [
        f"memograd bench, {header['date_utc']}, {'quick' if settings['quick'] else 'full'} run: "
        f"{settings['rounds']} rounds, ~{settings['batch_seconds']} s per timed batch"
        + (
            f" after a {settings['settle_seconds']} s pause"
            if settings.get("settle_seconds")
            else ""
        )
        + ", medians",
        f"machine: {header['machine']}, {header['cores']} cores, Python {header['python']}, "
        f"load average {load_text(header.get('load_average'))} at the start"
        + (
            f", {load_text(header['load_average_at_end'])} at the end"
            if header.get("load_average_at_end")
            else ""
        ),
        f"BLAS: {blas}",
        f"threads: BLAS {threads['blas']}, torch {threads['torch']}, JAX {threads['xla']}"
        + (
            f" (the process pinned to core(s) {header['pinned_cores']}: XLA ignores its thread "
            "flags and follows the affinity)"
            if header.get("pinned_cores")
            else ""
        ),
        f"allocator: {header.get('allocator', 'unknown')}",
        f"environment: {env}"
        + (
            f" (make bench unset the OpenBLAS workarounds; before: {header['unset_by_make_bench']})"
            if header.get("unset_by_make_bench")
            else ""
        ),
        f"versions: {versions}" + (f" (not installed: {', '.join(missing)})" if missing else ""),
    ]
    return lines


def load_text(values: list[float] | None) -> str:
    return "unknown" if not values else "/".join(f"{v:.2f}" for v in values)


def verdict_word(case: dict[str, Any]) -> str:
    """met / NOT met / skipped / error / not judged, for one case's target."""
    if case["status"] == "error":
        return "error"
    if case["status"] == "skipped" and case["met"] is None:
        return "skipped"
    if case["met"] is True:
        return "met"
    if case["met"] is False:
        return "NOT met"
    return "not judged"


def cell(value: Any, column: str = "") -> str:
    """One table cell; a ``spread`` (max - min over median) reads as a percentage, a ratio
    (``... / peer``) as 0.85x, a duration (``..._s``) with its unit."""
    if value is None:
        return "-"
    if column == "spread" and isinstance(value, float):
        return f"{value:.0%}"
    if column.endswith("/ peer") and isinstance(value, float):
        return f"{value:.2f}x"
    if column.endswith("_s") and isinstance(value, float):
        return format_seconds(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def to_markdown(report: dict[str, Any]) -> str:
    """The whole run as Markdown: the header as a code block, one table per case, a summary."""
    lines = ["```", *header_lines(report["header"]), "```", ""]
    for case in report["cases"]:
        lines.append(f"**{case['title']}** (`{case['name']}`)")
        lines.append("")
        rows = case["rows"]
        if rows:
            has_ratio = any(row["ratio"] is not None for row in rows)
            columns = [case["label_header"], *(c.replace("_", " ") for c in case["columns"])]
            columns.append("median")
            if has_ratio:
                columns.append(case.get("ratio_header", "memograd / peer"))
            lines.append("| " + " | ".join(columns) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(columns) - 1)) + "|")
            for row in rows:
                cells = [row["label"], *(cell(row["extra"].get(c), c) for c in case["columns"])]
                cells.append(format_seconds(row["seconds"]))
                if has_ratio:
                    cells.append("-" if row["ratio"] is None else f"{row['ratio']:.2f}x")
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
            noted = [row for row in rows if row["note"]]
            for row in noted:
                lines.append(f"- {row['label']}: {row['note']}")
            if noted:
                lines.append("")
        lines.append(f"Target: {case['target']}. **{verdict_word(case)}**: {case['verdict']}.")
        for skipped in case["skipped"]:
            lines.append(f"Skipped {skipped['peer']}: {skipped['reason']}.")
        for note in case["notes"]:
            note = note.strip()
            lines += ["```", note, "```"] if "\n" in note else [f"Note: {note}."]
        lines.append("")
    lines.append("| case | target | result | measured |")
    lines.append("|---|---|---|---|")
    for case in report["cases"]:
        lines.append(
            f"| `{case['name']}` | {case['target']} | {verdict_word(case)} | {case['verdict']} |"
        )
    return "\n".join(lines) + "\n"


# --- on a terminal, with rich -------------------------------------------------------------


def print_header(console: Any, header: dict[str, Any]) -> None:
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


def print_case(console: Any, case: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{case['title']}  [dim]({case['name']})[/dim]", title_justify="left")
    # Labels are never cut: "memograd_eager" and "memograd_fused" would both print "memograd…".
    widest = max((len(row["label"]) for row in case["rows"]), default=None)
    table.add_column(case["label_header"], no_wrap=True, min_width=widest)
    extra_columns = list(case["columns"])
    for column in extra_columns:
        table.add_column(column.replace("_", " "), justify="right")
    table.add_column("median", justify="right")
    has_ratio = any(row["ratio"] is not None for row in case["rows"])
    if has_ratio:
        table.add_column(case.get("ratio_header", "memograd / peer"), justify="right")
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


def print_summary(console: Any, cases: list[dict[str, Any]]) -> None:
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
        print("benchmark: some cases failed; see their notes", file=sys.stderr)
