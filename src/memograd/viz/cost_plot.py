"""The cost table as a log-scale chart: paths and multiplications against depth.

The only module of the explainer that reaches matplotlib, and only when called, so
``import memograd`` stays NumPy-only. The panels are the HTML report's (one drawing of the
chart, not two); the file is written through a temporary, so a crash never leaves half a PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from memograd.explain.cost import CostRow

PLOT_FORMATS = {".png": "png", ".svg": "svg"}

PLOT_MAX = 1e250
"""Largest count a chart takes: a log axis pads its range by 5% of its decades and places ticks
beyond it, all as floats, which overflow (past 1.8e308) from counts near 1e270 (measured)."""


def plot_format(path: str | os.PathLike[str]) -> str:
    """The image format for ``path`` from its extension; ValueError unless .png or .svg."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise ValueError(
            f"cannot write a plot to {os.fspath(path)!r}: the file name must end in "
            f"{' or '.join(PLOT_FORMATS)}, got {suffix or 'no extension'!r}"
        )
    return PLOT_FORMATS[suffix]


def plot_cost(rows: Sequence[CostRow], path: str | os.PathLike[str]) -> Path:
    """Write the chart of ``rows`` (from :func:`memograd.explain.cost_table`) to ``path``.

    The report's own panels (:mod:`memograd.viz.plots`): paths per first-layer weight, naive
    and backprop multiplications on a log scale; when the rows were measured, the engine's
    naive and sweep backward times in a second panel. Returns the path written.
    """
    fmt = plot_format(path)
    if not rows:
        raise ValueError("nothing to plot: the cost table has no rows")
    for row in rows:
        if row.naive_multiplications > PLOT_MAX:
            raise ValueError(
                f"cannot plot counts past {PLOT_MAX:.0e} (a log axis works in floats, which "
                f"stop at 1.8e+308, margins and ticks included): at width {row.width:,} the "
                f"naive count passes it at depth {row.depth}; plot up to --max-depth "
                f"{row.depth - 1} (the table itself has no such limit)"
            )
    from memograd.viz.plots import draw_depth_cost, draw_strategy_times, new_figure, save_figure

    depths = [row.depth for row in rows]
    width = rows[0].width
    timed = any(row.sweep_seconds is not None for row in rows)
    figure, panels = new_figure(14.4 if timed else 7.2, 3.6, ncols=2 if timed else 1)
    draw_depth_cost(
        panels[0],
        depths,
        [row.paths_per_first_layer_weight for row in rows],
        [row.naive_multiplications for row in rows],
        [row.backprop_multiplications for row in rows],
        width,
    )
    if timed:
        seconds = {
            "naive": [row.naive_seconds for row in rows],
            "sweep": [row.sweep_seconds for row in rows],
        }
        draw_strategy_times(panels[1], depths, seconds, width)
    return save_figure(figure, path, fmt)
