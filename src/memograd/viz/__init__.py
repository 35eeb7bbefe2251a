"""Pictures of what memograd computes: graph drawings, plots and the HTML report.

``mg.viz.draw(node)`` and ``mg.viz.draw_network(network, "W1_11")`` need nothing beyond NumPy
(graphviz's ``dot`` program is used when it is installed); :mod:`memograd.viz.plots` and the
report need matplotlib, imported only there.
"""

from __future__ import annotations

from typing import Any

from memograd.viz._svg import Drawing
from memograd.viz.drawing import GraphEdge, GraphNode, draw, render_graph
from memograd.viz.network import draw_network

__all__ = ["Drawing", "GraphEdge", "GraphNode", "draw", "draw_network", "plot_cost", "render_graph"]


def __getattr__(name: str) -> Any:
    # plot_cost (the explainer's cost chart) lives in cost_plot, which imports matplotlib: load
    # it on first use only.
    if name == "plot_cost":
        from memograd.viz.cost_plot import plot_cost

        return plot_cost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
