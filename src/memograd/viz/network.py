"""The explainer's neuron-level graph of an MLP, drawn in the notes' notation.

One box per unit, layer by layer from the input ``x`` to the output ``Ŷ`` and the loss ``L``,
with the value of every unit from the network's forward pass. ``param`` adds the weight or bias
being explained and highlights every chain-rule path from it to ``L``: for ``W^1_11`` of a
2-2-2-1 network, the two paths through ``O_21`` and ``O_22``.

``states`` and ``edge_states`` colour individual units and edges; the report's step-by-step
backward sweep uses them to show which adjoints are stored, which one is being computed and
which stored ones it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memograd.viz._svg import Drawing
from memograd.viz.drawing import GraphEdge, GraphNode, render_graph
from memograd.viz.mathml import unicode_symbol

NodeKey = tuple[int, int] | str  # (layer, unit) for a unit (1-based unit), "L", or "param"
EdgeKey = tuple[NodeKey, NodeKey]


def unit_symbol(network: Any, layer: int, unit: int) -> str:
    """``x_1``, ``O_21`` or ``Ŷ`` for a unit, as the explainer writes it."""
    from memograd.explain.symbols import unit_text

    return unit_text(network.arch, layer, unit)


def network_keys(network: Any, param: Any = None) -> tuple[list[NodeKey], list[EdgeKey]]:
    """The nodes and edges of the neuron-level graph, inputs first, then ``L``, then ``param``."""
    sizes = network.arch.sizes
    depth = network.arch.depth
    keys: list[NodeKey] = [(k, j) for k in range(depth + 1) for j in range(1, sizes[k] + 1)]
    keys.append("L")
    edges: list[EdgeKey] = [
        ((k - 1, i), (k, j))
        for k in range(1, depth + 1)
        for j in range(1, sizes[k] + 1)
        for i in range(1, sizes[k - 1] + 1)
    ]
    edges.extend(((depth, j), "L") for j in range(1, sizes[depth] + 1))
    if param is not None and param.kind != "O":
        keys.append("param")
        edges.append(("param", (param.layer, param.unit)))
    return keys, edges


def paths_from(param: Any, keys: list[NodeKey], edges: list[EdgeKey]) -> set[NodeKey]:
    """``param`` and every node on a path from it to ``L``."""
    start: NodeKey = (param.layer, param.unit) if param.kind == "O" else "param"
    children: dict[NodeKey, list[NodeKey]] = {key: [] for key in keys}
    for source, target in edges:
        children[source].append(target)
    marked: set[NodeKey] = set()
    frontier = [start]
    while frontier:
        node = frontier.pop()
        if node not in marked:
            marked.add(node)
            frontier.extend(children[node])
    return marked


def draw_network(
    network: Any,
    param: Any = None,
    *,
    states: Mapping[NodeKey, str] | None = None,
    edge_states: Mapping[EdgeKey, str] | None = None,
    labels: Mapping[NodeKey, tuple[str, ...]] | None = None,
    title: str | None = None,
    scale: float = 1.0,
) -> Drawing:
    """Draw an explainer ``Network`` (``mg.explain.build_network``) as a layered graph.

    ``param`` is a name such as ``"W1_11"`` or a ``ParamRef``; its chain-rule paths to ``L``
    are highlighted unless ``states``/``edge_states`` say otherwise. ``labels`` replaces a
    node's text lines (the default is its symbol and its value).
    """
    from memograd.explain.arch import parse_param
    from memograd.explain.symbols import param_text

    ref = parse_param(param, network.arch) if isinstance(param, str) else param
    keys, edges = network_keys(network, ref)
    marked = paths_from(ref, keys, edges) if ref is not None else set()
    states = dict(states or {})
    edge_states = dict(edge_states or {})
    forward = network.forward
    depth = network.arch.depth

    def default_label(key: NodeKey) -> tuple[str, ...]:
        if key == "L":
            return ("L", f"{forward.loss:.4g}")
        if key == "param":
            return (unicode_symbol(param_text(network.arch, ref)), f"{network.value_of(ref):.4g}")
        layer, unit = key  # type: ignore[misc]
        value = float(forward.outputs[layer][unit - 1])
        return (unicode_symbol(unit_symbol(network, layer, unit)), f"{value:.4g}")

    def node_style(key: NodeKey) -> str:
        if key in states:
            return states[key]
        if key in marked:
            return "highlight"
        return "leaf" if key == "param" or (isinstance(key, tuple) and key[0] == 0) else "op"

    def edge_style(edge: EdgeKey) -> str:
        if edge in edge_states:
            return edge_states[edge]
        if edge[0] in marked and edge[1] in marked:
            return "highlight"
        return "normal"

    nodes = [
        GraphNode((labels or {}).get(key) or default_label(key), node_style(key)) for key in keys
    ]
    index = {key: i for i, key in enumerate(keys)}
    graph_edges = [GraphEdge(index[s], index[t], edge_style((s, t))) for s, t in edges]
    # Columns are the layers; the loss is one column right of the output, and the explained
    # parameter sits under the units of the layer that feeds its unit.
    ranks = [
        depth + 1 if key == "L" else (ref.layer - 1 if key == "param" else key[0])  # type: ignore[index]
        for key in keys
    ]
    return render_graph(nodes, graph_edges, ranks=ranks, keep_order=True, title=title, scale=scale)
