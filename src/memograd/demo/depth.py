"""Section 4: more layers, more paths. Exact counts against depth, and measured engine time.

The counts are the explainer's (``explain.cost_table``). The times are the engine's real naive
and sweep backward passes (``explain.measure.time_backward``), each repeated until stable
(``demo.timing``). The naive strategy refuses a graph with more paths than its budget; the
table shows that path count in its own column, so the refusal is quoted in the unit it uses.
"""

from __future__ import annotations

from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.demo.settle import describe, measure_together, unsettled_note, within_noise
from memograd.viz import html, plots
from memograd.viz.units import format_ratio

ANCHOR = "depth"
HEADING = "More layers, more paths"


def engine_paths(width: int, depth: int, seed: int = 0) -> int:
    """Paths the engine's naive backward multiplies out on the scalar graph of the
    ``w-...-w-1`` net: every root-to-node path of the graph, the count it checks against
    its ``max_paths`` budget."""
    from memograd.engine import paths_to_nodes
    from memograd.explain import build_network, build_value_graph, uniform_arch

    graph = build_value_graph(build_network(uniform_arch(width, depth), seed=seed))
    return sum(paths_to_nodes(graph.loss).values()) - 1


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd.explain import cost_table
    from memograd.explain.measure import time_backward

    rows, samplers = [], {}
    naive_fits = True
    for row in cost_table(settings.cost_width, settings.cost_max_depth):
        paths = engine_paths(row.width, row.depth)
        naive_fits = naive_fits and paths <= settings.naive_path_budget
        for strategy in ("naive", "sweep") if naive_fits else ("sweep",):

            def sample(strategy: str = strategy, w: int = row.width, d: int = row.depth) -> float:
                seconds = time_backward(
                    w,
                    d,
                    strategy,
                    max_paths=settings.naive_path_budget,
                    repeats=settings.timing_repeats,
                )
                if seconds is None:
                    raise AssertionError(f"the engine refused {strategy} within its budget")
                return seconds

            samplers[(strategy, row.depth)] = sample
        rows.append({**row.to_dict(), "engine_paths": paths})
    measured = measure_together(samplers, budget_seconds=0.4 if settings.quick else 5.0)
    for row in rows:
        for strategy in ("naive", "sweep"):
            timing = measured.get((strategy, row["depth"]))
            row[f"{strategy}_timing"] = None if timing is None else timing.as_dict()
            row[f"{strategy}_seconds"] = None if timing is None else timing.seconds
    data = {
        "width": settings.cost_width,
        "naive_path_budget": settings.naive_path_budget,
        "timing_repeats": settings.timing_repeats,
        "rows": rows,
    }
    return data, {}


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _big(value: int) -> str:
    return f"{value:,}" if value < 10**12 else f"{value:.3e}"


def _time_cell(rows: list[dict[str, Any]], i: int, strategy: str) -> str:
    timing = rows[i][f"{strategy}_timing"]
    if timing is None:
        return "refused"
    text = describe(timing)
    above = rows[i - 1][f"{strategy}_timing"] if i else None
    return f"{text} ≈" if above is not None and within_noise(timing, above) else text


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
            ("naive ÷ backprop", format_ratio(deepest["ratio"])),
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
    budget = data["naive_path_budget"]
    refused = (
        f"; naive was refused from depth {rows[len(timed)]['depth']} on, where the engine's "
        f"graph has {rows[len(timed)]['engine_paths']:,} paths, more than its budget of "
        f"{budget:,} (the “engine paths” column of the table)."
        if len(timed) < len(rows)
        else "."
    )
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
        + refused
        + unsettled_note([row[f"{s}_timing"] for row in rows for s in ("naive", "sweep")]),
    )
    section.table(
        [
            "depth",
            "network",
            "paths / first-layer weight",
            "engine paths",
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
                _big(row["engine_paths"]),
                _big(row["naive_multiplications"]),
                _big(row["backprop_multiplications"]),
                format_ratio(row["ratio"]),
                _time_cell(rows, i, "naive"),
                _time_cell(rows, i, "sweep"),
            ]
            for i, row in enumerate(rows)
        ],
        "Exact multiplication counts for the gradient of every weight, and measured backward "
        "times. “Engine paths” counts every path of the engine's scalar graph from L to any "
        f"node, the number its naive strategy multiplies out and refuses above {budget:,}: "
        "“refused” marks those rows. Each time is the middle of the five fastest of repeated "
        f"measurements (each the best of {plural(data['timing_repeats'], 'run')}), repeated "
        "until those five agreed within ±5% (the ± beside it; “noise” marks one that never "
        "settled); ≈ marks a time within the spreads of the row above, so that difference "
        "is noise, not the network.",
        numeric=[True, False, True, True, True, True, True, True, True],
    )
