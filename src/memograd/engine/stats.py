"""What a differentiation pass cost: the numbers that show memoization at work, both ways."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BackwardStats:
    """The work of one ``backward()`` (or of the passes of a transform), counted as it ran.

    ``strategy``: ``"sweep"``, ``"memo"``, ``"naive"``, or ``"forward"`` for forward mode.

    ``vjp_evaluations``: reverse-mode chain-rule steps, one per (consumer, input) edge each time
    that edge is crossed. ``sweep`` and ``memo`` cross every edge of the graph once; ``naive``
    crosses an edge once for every path from the output to the edge's consumer.

    ``jvp_evaluations``: forward-mode chain-rule steps, one per edge that carries a tangent, in
    every pass.

    ``passes``: how many sweeps over the graph: a full Jacobian takes one reverse pass per output
    (``jacrev``) or one forward pass per input (``jacfwd``).

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
    jvp_evaluations: int = 0
    passes: int = 0

    def as_dict(self) -> dict[str, object]:
        """A plain dict, ready for JSON output."""
        return {
            "strategy": self.strategy,
            "vjp_evaluations": self.vjp_evaluations,
            "jvp_evaluations": self.jvp_evaluations,
            "passes": self.passes,
            "accumulations": self.accumulations,
            "nodes_visited": self.nodes_visited,
            "paths": self.paths,
            "seconds": self.seconds,
        }
