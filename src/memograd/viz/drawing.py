"""Draw computation graphs as SVG: graphviz's ``dot`` when installed, a built-in layout otherwise.

``draw(node)`` walks ``.parents`` from any graph node (a scalar ``Value`` or a ``Tensor``; all
it needs is ``.op`` and ``.parents``) and returns a :class:`Drawing`. ``highlight=`` marks
every path from the given nodes up to the root: the chain-rule paths whose products sum to the
root's gradient with respect to them.

Nothing here imports matplotlib; the graphviz program, when used, runs as a subprocess, so no
Python binding is needed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memograd.viz._svg import Drawing, escape, prefix_ids, strip_prolog
from memograd.viz.layout import Placement, layered_layout

__all__ = ["Drawing", "GraphEdge", "GraphNode", "draw", "render_graph"]

# Fill, stroke, stroke width, text colour for each node style; one palette for both
# engines so a graph looks the same with and without graphviz.
NODE_STYLES: dict[str, tuple[str, str, float, str]] = {
    "leaf": ("#e7f0fb", "#4a6fa5", 1.0, "#1d2b3a"),
    "op": ("#ffffff", "#6c757d", 1.0, "#212529"),
    "highlight": ("#fff0e0", "#d9480f", 2.4, "#7a2600"),
    "stored": ("#d9f5de", "#2b8a3e", 1.6, "#173d20"),
    "current": ("#ffe3c2", "#d9480f", 2.6, "#7a2600"),
    "pending": ("#f4f5f7", "#b8bec5", 1.0, "#8a9098"),
}
# Stroke colour, width, dash pattern for each edge style.
EDGE_STYLES: dict[str, tuple[str, float, str]] = {
    "normal": ("#8d959e", 1.1, ""),
    "highlight": ("#d9480f", 2.6, ""),
    "reused": ("#2b8a3e", 2.4, ""),
    "faint": ("#d3d7dc", 1.0, "4 3"),
}
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
FONT_SIZE = 12.0
CHAR_WIDTH = 7.0  # average advance of FONT at FONT_SIZE, for sizing boxes without a renderer
LINE_HEIGHT = 15.0


@dataclass(frozen=True)
class GraphNode:
    """One box of a drawing: its text lines (the first in bold) and its style name."""

    lines: tuple[str, ...]
    style: str = "op"
    tooltip: str = ""


@dataclass(frozen=True)
class GraphEdge:
    """An arrow from ``source`` to ``target`` (indices into the node list)."""

    source: int
    target: int
    style: str = "normal"
    label: str = ""


@dataclass
class _Graph:
    nodes: list[Any] = field(default_factory=list)
    edges: list[tuple[int, int, int]] = field(default_factory=list)  # source, target, multiplicity


def draw(
    node: Any,
    highlight: Any = None,
    *,
    engine: str = "auto",
    max_nodes: int = 2000,
    title: str | None = None,
    names: Mapping[Any, str] | Iterable[tuple[Any, str]] | None = None,
    show_data: bool = True,
) -> Drawing:
    """Draw the computation graph that produced ``node``.

    ``highlight`` is a graph node or an iterable of them: those nodes and every path from them
    to ``node`` are drawn in orange. ``engine`` is ``"auto"`` (graphviz when the ``dot``
    program is on PATH, else the built-in layout), ``"dot"`` or ``"builtin"``. ``names`` gives
    nodes names to show (a dict, or ``(node, name)`` pairs for nodes that are not hashable,
    such as tensors); ``show_data=False`` leaves values out of the boxes (gradients stay).
    """
    if engine not in ("auto", "dot", "builtin"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'builtin', got {engine!r}")
    graph = _collect(node, max_nodes)
    marked = _paths_from(graph, _as_nodes(highlight))
    pairs = names.items() if isinstance(names, Mapping) else (names or ())
    named = {id(n): str(name) for n, name in pairs}
    nodes = [
        GraphNode(
            _label(n, named.get(id(n)), show_data),
            "highlight" if i in marked else ("leaf" if not _op(n) else "op"),
        )
        for i, n in enumerate(graph.nodes)
    ]
    edges = [
        GraphEdge(s, t, "highlight" if s in marked and t in marked else "normal", _times(k))
        for s, t, k in graph.edges
    ]
    return render_graph(nodes, edges, engine=engine, title=title)


def render_graph(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    *,
    engine: str = "auto",
    title: str | None = None,
    ranks: Sequence[int] | None = None,
    keep_order: bool = False,
    scale: float = 1.0,
) -> Drawing:
    """Render any left-to-right DAG given as nodes and edges; see :func:`draw`.

    ``ranks`` fixes each node's column and forces the built-in layout, which then keeps the
    given order inside a column when ``keep_order`` is true (a network drawn layer by layer).
    """
    for name in {n.style for n in nodes} - NODE_STYLES.keys():
        raise ValueError(f"unknown node style {name!r}; expected one of {sorted(NODE_STYLES)}")
    for name in {e.style for e in edges} - EDGE_STYLES.keys():
        raise ValueError(f"unknown edge style {name!r}; expected one of {sorted(EDGE_STYLES)}")
    use_dot = ranks is None and engine != "builtin" and shutil.which("dot") is not None
    if engine == "dot" and shutil.which("dot") is None:
        raise ValueError("engine='dot' needs graphviz's `dot` program on PATH; it was not found")
    svg = None
    if use_dot:
        svg = _render_with_dot(nodes, edges, title)
    used = "dot" if svg is not None else "builtin"
    if svg is None:
        svg = _render_builtin(nodes, edges, title, ranks, keep_order, scale)
    digest = hashlib.sha1(svg.encode("utf-8")).hexdigest()[:8]
    return Drawing(prefix_ids(svg, f"g{digest}-"), used)


# -- reading a graph from its nodes ---------------------------------------------------------


def _collect(root: Any, max_nodes: int) -> _Graph:
    """Every node that ``root`` depends on, inputs first, found without recursion."""
    if not hasattr(root, "parents") or not hasattr(root, "op"):
        raise TypeError(
            f"draw() needs a graph node with .op and .parents (a Value or a Tensor), "
            f"got {type(root).__name__}"
        )
    index: dict[int, int] = {}
    graph = _Graph()
    # Iterative post-order: a node is emitted after all its parents.
    stack: list[tuple[Any, bool]] = [(root, False)]
    pending: set[int] = set()
    while stack:
        current, expanded = stack.pop()
        key = id(current)
        if key in index:
            continue
        if expanded:
            index[key] = len(graph.nodes)
            graph.nodes.append(current)
            if len(graph.nodes) > max_nodes:
                raise ValueError(
                    f"the graph has more than max_nodes={max_nodes} nodes; "
                    "draw a smaller graph or raise max_nodes"
                )
            continue
        if key in pending:
            continue
        pending.add(key)
        stack.append((current, True))
        for parent in reversed(tuple(current.parents)):
            if id(parent) not in index:
                stack.append((parent, False))
    multiplicity: dict[tuple[int, int], int] = {}
    for child in graph.nodes:
        for parent in child.parents:
            pair = (index[id(parent)], index[id(child)])
            multiplicity[pair] = multiplicity.get(pair, 0) + 1
    graph.edges = [(s, t, k) for (s, t), k in multiplicity.items()]
    return graph


def _as_nodes(highlight: Any) -> list[Any]:
    if highlight is None:
        return []
    if hasattr(highlight, "parents"):
        return [highlight]
    try:
        return list(highlight)
    except TypeError:
        raise TypeError(
            f"highlight must be a graph node or an iterable of them, got {type(highlight).__name__}"
        ) from None


def _paths_from(graph: _Graph, sources: list[Any]) -> set[int]:
    """Indices of the given nodes and of every node on a path from them to the root."""
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    children: list[list[int]] = [[] for _ in graph.nodes]
    for s, t, _ in graph.edges:
        children[s].append(t)
    marked: set[int] = set()
    frontier: list[int] = []
    for source in sources:
        if id(source) not in position:
            raise ValueError("a highlighted node is not part of the drawn graph")
        frontier.append(position[id(source)])
    while frontier:
        current = frontier.pop()
        if current in marked:
            continue
        marked.add(current)
        frontier.extend(children[current])
    return marked


def _op(node: Any) -> str:
    return str(getattr(node, "op", "") or "")


def _label(node: Any, given: str | None = None, show_data: bool = True) -> tuple[str, ...]:
    name = given or getattr(node, "label", None) or getattr(node, "name", None)
    op = _op(node)
    title = op or (name if isinstance(name, str) and name else "leaf")
    if op and isinstance(name, str) and name:
        title = f"{name} = {op}"
    data = getattr(node, "data", None)
    grad = getattr(node, "grad", None)
    if isinstance(data, np.ndarray):
        if not op and not (isinstance(name, str) and name):
            # A tensor leaf is either something to train or data fed in.
            title = "parameter" if getattr(node, "requires_grad", False) else "input"
        shape = "×".join(str(d) for d in data.shape) or "scalar"
        lines = [title, f"{shape}  {data.dtype}"]
        if data.size == 1 and show_data:
            lines.append(f"data {data.item():.4g}")
        if isinstance(grad, np.ndarray):
            lines.append("grad " + (f"{grad.item():.4g}" if grad.size == 1 else "stored"))
        return tuple(lines)
    lines = [title]
    if isinstance(data, int | float | np.number) and show_data:
        lines.append(f"data {float(data):.4g}")
    if isinstance(grad, int | float | np.number):
        lines.append(f"grad {float(grad):.4g}")
    return tuple(lines)


def _times(multiplicity: int) -> str:
    return f"×{multiplicity}" if multiplicity > 1 else ""


# -- the built-in renderer -------------------------------------------------------------------


def _box_size(node: GraphNode, scale: float) -> tuple[float, float]:
    longest = max((len(line) for line in node.lines), default=1)
    width = max(longest * CHAR_WIDTH + 16.0, 38.0)
    height = len(node.lines) * LINE_HEIGHT + 9.0
    return width * scale, height * scale


def _render_builtin(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    title: str | None,
    ranks: Sequence[int] | None,
    keep_order: bool,
    scale: float,
) -> str:
    sizes = [_box_size(n, scale) for n in nodes]
    placement = layered_layout(
        sizes,
        [(e.source, e.target) for e in edges],
        ranks=ranks,
        keep_order=keep_order,
        rank_gap=46.0 * scale,
        node_gap=16.0 * scale,
    )
    return _svg_document(nodes, edges, sizes, placement, title, scale)


def _curve(points: list[tuple[float, float]]) -> str:
    """A smooth path through ``points`` with horizontal tangents at each one."""
    x0, y0 = points[0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for (xa, ya), (xb, yb) in zip(points, points[1:], strict=False):
        bend = (xb - xa) / 2
        parts.append(f"C{xa + bend:.1f},{ya:.1f} {xb - bend:.1f},{yb:.1f} {xb:.1f},{yb:.1f}")
    return " ".join(parts)


def _svg_document(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    sizes: Sequence[tuple[float, float]],
    placement: Placement,
    title: str | None,
    scale: float,
) -> str:
    width, height = placement.width, placement.height
    font = FONT_SIZE * scale
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" role="img" font-family="{FONT}" '
        f'font-size="{font:.1f}">'
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append("<defs>")
    for name, (colour, _, _) in EDGE_STYLES.items():
        out.append(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="{7 * scale:.1f}" markerHeight="{7 * scale:.1f}" '
            f'markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    # Faint and normal edges first, so emphasised ones are drawn on top.
    order = sorted(range(len(edges)), key=lambda i: edges[i].style not in ("faint", "normal"))
    for i in order:
        edge = edges[i]
        colour, stroke, dash = EDGE_STYLES[edge.style]
        route = placement.routes[i]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<path class="edge edge-{edge.style}" d="{_curve(route)}" fill="none" '
            f'stroke="{colour}" stroke-width="{stroke * scale:.2f}"{dash_attr} '
            f'marker-end="url(#arrow-{edge.style})"/>'
        )
        if edge.label:
            (xa, ya), (xb, yb) = route[0], route[1]
            out.append(
                f'<text x="{(xa + xb) / 2:.1f}" y="{(ya + yb) / 2 - 4 * scale:.1f}" '
                f'text-anchor="middle" font-size="{font * 0.85:.1f}" fill="{colour}">'
                f"{escape(edge.label)}</text>"
            )
    for node, (cx, cy), (w, h) in zip(nodes, placement.centres, sizes, strict=True):
        fill, stroke, stroke_width, ink = NODE_STYLES[node.style]
        out.append(f'<g class="node node-{node.style}">')
        if node.tooltip:
            out.append(f"<title>{escape(node.tooltip)}</title>")
        out.append(
            f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'rx="{6 * scale:.1f}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{stroke_width * scale:.2f}"/>'
        )
        first_baseline = cy - (len(node.lines) - 1) * LINE_HEIGHT * scale / 2 + font * 0.35
        for k, line in enumerate(node.lines):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(
                f'<text x="{cx:.1f}" y="{first_baseline + k * LINE_HEIGHT * scale:.1f}" '
                f'text-anchor="middle" fill="{ink}"{weight}>{escape(line)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


# -- graphviz ---------------------------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_source(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], title: str | None) -> str:
    lines = [
        "digraph memograd {",
        '  rankdir=LR; bgcolor="transparent"; nodesep=0.25; ranksep=0.45;',
        f'  node [shape=box, style="rounded,filled", fontname={_dot_quote(FONT.split(",")[0])},'
        ' fontsize=11, margin="0.12,0.05"];',
        f"  edge [arrowsize=0.6, fontname={_dot_quote(FONT.split(',')[0])}, fontsize=9];",
    ]
    if title:
        lines.append(f"  tooltip={_dot_quote(title)};")
    for i, node in enumerate(nodes):
        fill, stroke, width, ink = NODE_STYLES[node.style]
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in node.lines)
        lines.append(
            f'  n{i} [label="{label}", fillcolor="{fill}", color="{stroke}", '
            f'penwidth={width:.2f}, fontcolor="{ink}"];'
        )
    for edge in edges:
        colour, width, dash = EDGE_STYLES[edge.style]
        extra = ', style="dashed"' if dash else ""
        label = f", label={_dot_quote(edge.label)}" if edge.label else ""
        lines.append(
            f'  n{edge.source} -> n{edge.target} [color="{colour}", penwidth={width:.2f}'
            f"{extra}{label}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render_with_dot(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], title: str | None
) -> str | None:
    """SVG from graphviz, or None when the program fails (then the built-in layout draws)."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        result = subprocess.run(
            [dot, "-Tsvg"],
            input=_dot_source(nodes, edges, title),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    svg = strip_prolog(result.stdout)
    if not svg.startswith("<svg"):
        return None
    if title:
        svg = svg.replace("<title>memograd</title>", f"<title>{escape(title)}</title>", 1)
    return svg
