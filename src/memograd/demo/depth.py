"""Section 3: more layers, more paths. Exact counts against depth, and measured engine time."""

from __future__ import annotations

from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.viz import html, plots

ANCHOR = "depth"
HEADING = "More layers, more paths"


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd.explain import cost_table, measure_cost_table

    rows = cost_table(settings.cost_width, settings.cost_max_depth)
    measured = measure_cost_table(
        rows, max_paths=settings.naive_path_budget, repeats=settings.timing_repeats
    )
    data = {
        "width": settings.cost_width,
        "naive_path_budget": settings.naive_path_budget,
        "rows": [row.to_dict() for row in measured],
    }
    return data, {}


def _seconds(value: float | None) -> str:
    return "refused" if value is None else f"{value * 1e3:.3g} ms"


def _big(value: int) -> str:
    return f"{value:,}" if value < 10**12 else f"{value:.3e}"


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    rows = data["rows"]
    width = data["width"]
    deepest = rows[-1]
    section.paragraph(
        f"Add hidden layers of width {width} and every first-layer weight reaches the output "
        f"through {width}^(d−1) paths (one choice of unit per layer above it). The naive chain "
        "rule multiplies out every path for every weight, so its work grows exponentially; "
        "backpropagation stores each unit's adjoint once and does a fixed amount of work per "
        "edge, so its work grows linearly. The counts below are exact, computed by the "
        "explainer without enumerating a single path."
    )
    section.facts(
        [
            (
                f"paths per first-layer weight at depth {deepest['depth']}",
                _big(deepest["paths_per_first_layer_weight"]),
            ),
            ("naive multiplications", _big(deepest["naive_multiplications"])),
            ("backprop multiplications", _big(deepest["backprop_multiplications"])),
            ("naive ÷ backprop", f"{deepest['ratio']:,.0f}×"),
        ]
    )
    depths = [row["depth"] for row in rows]
    section.figure(
        plots.depth_cost_plot(
            depths,
            [row["paths_per_first_layer_weight"] for row in rows],
            [row["naive_multiplications"] for row in rows],
            [row["backprop_multiplications"] for row in rows],
            width,
        ),
        "Counted work against depth",
        "On a log scale the naive count is a straight line (exponential growth) while "
        "backpropagation's barely rises (linear growth).",
    )
    timed = [row for row in rows if row["naive_seconds"] is not None]
    section.figure(
        plots.strategy_time_plot(
            depths,
            {
                "naive": [row["naive_seconds"] for row in rows],
                "sweep": [row["sweep_seconds"] for row in rows],
            },
            width,
        ),
        "Measured time of the engine's naive and sweep backward passes",
        "The engine's real backward passes on the scalar graph of each network, timed in this "
        "run: naive grows with the paths, sweep with the edges"
        + (
            f"; naive was refused beyond depth {timed[-1]['depth'] if timed else 0}, where its "
            f"path count passes the budget of {data['naive_path_budget']:,} paths."
            if len(timed) < len(rows)
            else "."
        ),
    )
    section.table(
        [
            "depth",
            "network",
            "paths / first-layer weight",
            "naive ×",
            "backprop ×",
            "ratio",
            "naive time",
            "sweep time",
        ],
        [
            [
                str(row["depth"]),
                row["arch"],
                _big(row["paths_per_first_layer_weight"]),
                _big(row["naive_multiplications"]),
                _big(row["backprop_multiplications"]),
                f"{row['ratio']:,.1f}",
                _seconds(row["naive_seconds"]),
                _seconds(row["sweep_seconds"]),
            ]
            for row in rows
        ],
        "Exact multiplication counts for the gradient of every weight, and measured backward "
        "times (best of the repeats); \u201crefused\u201d means the engine's naive strategy "
        "declined because the paths exceed the budget.",
        numeric=[True, False, True, True, True, True, True, True],
    )
