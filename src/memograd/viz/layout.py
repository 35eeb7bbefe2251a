"""A layered (Sugiyama-style) layout for drawing DAGs without graphviz.

The steps are the textbook ones, each kept short: rank the nodes so every edge points right,
break long edges with invisible dummy nodes, order each rank by the barycentre of its
neighbours to cut crossings, then give each node coordinates. It is iterative throughout, so a
deep graph does not hit Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class Placement:
    """Where each node's centre goes, and the polyline each edge follows (source to target)."""

    centres: list[Point]
    routes: list[list[Point]]
    width: float
    height: float


def topological_order(count: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Kahn's algorithm; raises ValueError when the graph has a cycle."""
    indegree = [0] * count
    successors: list[list[int]] = [[] for _ in range(count)]
    for source, target in edges:
        successors[source].append(target)
        indegree[target] += 1
    ready = [node for node in range(count) if indegree[node] == 0]
    ready.reverse()
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for nxt in reversed(successors[node]):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if len(order) != count:
        raise ValueError(f"cannot lay out a graph with a cycle ({count - len(order)} nodes on it)")
    return order


def assign_ranks(count: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Longest-path ranks, with each source moved next to its first consumer.

    Pure longest-path puts every leaf (a weight used late, a constant) in rank 0, which
    draws long edges across the picture; a leaf belongs just left of where it is used.
    """
    order = topological_order(count, edges)
    predecessors: list[list[int]] = [[] for _ in range(count)]
    successors: list[list[int]] = [[] for _ in range(count)]
    for source, target in edges:
        predecessors[target].append(source)
        successors[source].append(target)
    rank = [0] * count
    for node in order:
        if predecessors[node]:
            rank[node] = max(rank[p] for p in predecessors[node]) + 1
    for node in order:
        if not predecessors[node] and successors[node]:
            rank[node] = min(rank[s] for s in successors[node]) - 1
    lowest = min(rank, default=0)
    return [r - lowest for r in rank]


def layered_layout(
    sizes: Sequence[Point],
    edges: Sequence[tuple[int, int]],
    *,
    ranks: Sequence[int] | None = None,
    keep_order: bool = False,
    rank_gap: float = 46.0,
    node_gap: float = 16.0,
    margin: float = 8.0,
    sweeps: int = 6,
) -> Placement:
    """Lay out a DAG from left (inputs) to right (output).

    ``sizes[i]`` is node i's (width, height); an edge ``(u, v)`` means u feeds v. Give
    ``ranks`` to fix each node's column (a network's layers) and ``keep_order`` to keep the
    given order inside a column (unit 1 above unit 2) instead of minimising crossings.
    """
    count = len(sizes)
    rank = list(ranks) if ranks is not None else assign_ranks(count, edges)
    if len(rank) != count:
        raise ValueError(f"expected one rank per node ({count}), got {len(rank)}")
    for source, target in edges:
        if rank[target] <= rank[source]:
            raise ValueError(
                f"edge {source}->{target} does not go from a lower rank to a higher one"
            )

    # Long edges become chains through dummy nodes, one per rank they cross.
    node_sizes = list(sizes)
    node_rank = list(rank)
    chains: list[list[int]] = []
    for source, target in edges:
        chain = [source]
        for r in range(rank[source] + 1, rank[target]):
            node_sizes.append((0.0, 0.0))
            node_rank.append(r)
            chain.append(len(node_sizes) - 1)
        chain.append(target)
        chains.append(chain)
    total = len(node_sizes)
    up: list[list[int]] = [[] for _ in range(total)]
    down: list[list[int]] = [[] for _ in range(total)]
    for chain in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)

    depth = max(node_rank, default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    for node in range(total):
        layers[node_rank[node]].append(node)
    position = [0.0] * total

    def _index() -> None:
        for layer in layers:
            for i, node in enumerate(layer):
                position[node] = float(i)

    _index()
    if not keep_order:
        for sweep in range(sweeps):
            downward = sweep % 2 == 0
            sequence = range(1, depth) if downward else range(depth - 2, -1, -1)
            for r in sequence:
                neighbours = up if downward else down

                def _barycentre(node: int, neighbours: list[list[int]] = neighbours) -> float:
                    near = neighbours[node]
                    return sum(position[n] for n in near) / len(near) if near else position[node]

                layers[r].sort(key=_barycentre)
                for i, node in enumerate(layers[r]):
                    position[node] = float(i)

    # Columns: each as wide as its widest node.
    column_width = [max((node_sizes[n][0] for n in layer), default=0.0) for layer in layers]
    column_x: list[float] = []
    cursor = margin
    for width in column_width:
        column_x.append(cursor + width / 2)
        cursor += width + rank_gap
    width_total = cursor - rank_gap + margin

    # Rows: stack each column, then pull nodes toward their neighbours' heights without
    # breaking the order or the spacing (a few relaxation passes).
    y = [0.0] * total

    def _stack(layer: list[int], wanted: list[float]) -> None:
        placed: list[float] = []
        for i, node in enumerate(layer):
            half = max(node_sizes[node][1], 2.0) / 2
            if i == 0:
                placed.append(wanted[i])
            else:
                prev = layer[i - 1]
                prev_half = max(node_sizes[prev][1], 2.0) / 2
                gap = node_gap if node_sizes[node][0] and node_sizes[prev][0] else node_gap / 2
                placed.append(max(wanted[i], placed[-1] + prev_half + gap + half))
        shift = (sum(wanted) - sum(placed)) / len(layer) if layer else 0.0
        for node, value in zip(layer, placed, strict=True):
            y[node] = value + shift

    for layer in layers:
        _stack(layer, [0.0] * len(layer))
    if not keep_order:
        for sweep in range(4):
            downward = sweep % 2 == 0
            sequence = range(1, depth) if downward else range(depth - 2, -1, -1)
            neighbours = up if downward else down
            for r in sequence:
                wanted = [
                    sum(y[n] for n in neighbours[node]) / len(neighbours[node])
                    if neighbours[node]
                    else y[node]
                    for node in layers[r]
                ]
                _stack(layers[r], wanted)

    top = min((y[n] - node_sizes[n][1] / 2 for n in range(total)), default=0.0)
    bottom = max((y[n] + node_sizes[n][1] / 2 for n in range(total)), default=0.0)
    offset = margin - top
    centres = [(column_x[node_rank[n]], y[n] + offset) for n in range(count)]

    routes: list[list[Point]] = []
    for chain in chains:
        source, target = chain[0], chain[-1]
        points: list[Point] = [
            (column_x[node_rank[source]] + node_sizes[source][0] / 2, y[source] + offset)
        ]
        points.extend((column_x[node_rank[d]], y[d] + offset) for d in chain[1:-1])
        points.append((column_x[node_rank[target]] - node_sizes[target][0] / 2, y[target] + offset))
        routes.append(points)
    return Placement(centres, routes, width_total, bottom - top + 2 * margin)
