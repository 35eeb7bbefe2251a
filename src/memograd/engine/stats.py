"""What one backward pass cost: the numbers that show memoization at work."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BackwardStats:
    """The work one ``backward()`` did, counted as it ran.

    ``vjp_evaluations``: local chain-rule steps, one per (consumer, input) edge each time that
    edge is crossed. ``sweep`` and ``memo`` cross every edge of the graph once; ``naive`` crosses
    an edge once for every path from the output to the edge's consumer.

    ``accumulations``: additions of one incoming contribution into a partial adjoint sum (a node
    with ``k`` contributions costs ``k - 1``).

    ``nodes_visited``: how many times a node was processed: once per node for ``sweep`` and
    ``memo``, once per path from the output for ``naive``.

    ``paths``: for ``naive``, the number of output-to-node paths it multiplied out (counted
    exactly before starting); ``None`` for the other strategies.
    """

    strategy: str
    vjp_evaluations: int = 0
    accumulations: int = 0
    nodes_visited: int = 0
    paths: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """A plain dict, ready for JSON output."""
        return {
            "strategy": self.strategy,
            "vjp_evaluations": self.vjp_evaluations,
            "accumulations": self.accumulations,
            "nodes_visited": self.nodes_visited,
            "paths": self.paths,
            "seconds": self.seconds,
        }
