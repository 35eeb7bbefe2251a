"""Pictures of what memograd computes: graph drawings, plots and the HTML report.

``mg.viz.draw(node)`` and ``mg.viz.draw_network(network, "W1_11")`` need nothing beyond NumPy
(graphviz's ``dot`` program is used when it is installed); :mod:`memograd.viz.plots` and the
report need matplotlib, imported only there.
"""

from __future__ import annotations

from memograd.viz._svg import Drawing
from memograd.viz.drawing import GraphEdge, GraphNode, draw, render_graph
from memograd.viz.network import draw_network

__all__ = ["Drawing", "GraphEdge", "GraphNode", "draw", "draw_network", "render_graph"]
