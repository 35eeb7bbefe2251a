"""What each part of an explanation would cost, from the architecture alone, before building it.

Counting needs nothing but the layer sizes: the path count, the formula and both multiplication
counts are exact for any network (a DP over layers). Numbers need more, and grow with the
network, so each is estimated here first and built only within budget:

* the **network** (:func:`network_estimate`): float64 weights and biases, the forward pass,
  the neuron-level memo table; needed for factor values and the gradients;
* the **engine check** (:func:`engine_estimate`): the engine's scalar ``Value`` graph of the
  same network, one node per scalar operation (:func:`value_graph_nodes`, exact), about three
  per weight; the most expensive part by far, so it has its own work budget;
* the **naive sum** (:func:`naive_estimate`): one multiplication per factor of every path;
* the **paths written out** (:func:`listing_estimate`): the listed paths and the formula's terms,
  as many as the user asked for;
* a **timed cost table** (:func:`measurement_estimate`) and the **exact table** itself
  (:func:`cost_table_estimate`, whose integers grow by a digit or more per layer).

The bytes per item are measured peaks (``tracemalloc``, Python 3.11, 64-bit); the tests check
each estimate against a measured peak on small networks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from memograd._budget import Estimate
from memograd.explain.arch import Architecture, ParamRef
from memograd.explain.paths import count_paths
from memograd.explain.symbols import param_text

DEFAULT_MAX_ENGINE_NODES = 250_000
"""Value nodes the engine check (or a timed cost table, over all its runs) builds unasked.

The engine's memoized backward costs some 15-60 µs per scalar node on a laptop core, so this is
a few seconds; a 784-100-10 net (about 240,000 nodes) still fits."""

DEFAULT_MAX_NAIVE_MULTIPLICATIONS = 10_000_000
"""Multiplications the naive sum of paths may do unasked (a Python loop: a few seconds)."""

DEFAULT_MAX_LISTED_FACTORS = 1_000_000
"""Factors the listed paths and the formula may write out unasked (a few hundred MB of text)."""

DEFAULT_MAX_DIGITS = 10_000_000
"""Decimal digits the exact integers of one cost table may have in total (computing and printing
them is quadratic in their length past a few thousand digits)."""

VALUE_NODE_BYTES = 600
"""Peak bytes per node of the engine check: the node itself (about 140), its gradient, and the
memo strategy's table entry and stack (measured 500-540)."""

_WEIGHT_BYTES = 3 * 8
"""Per weight: the network's float64 copy, the array it was drawn into (alive while the network
copies it), and the matrix of local derivatives ∂O/∂O the gradients multiply through."""

_UNIT_BYTES = 200
"""Per unit: forward-pass values, the memo table's entry (its name and float), and the JSON
document's copy of inputs and table (measured 60-150)."""


def _sizes(arch: Architecture) -> tuple[int, int, int]:
    sizes = arch.sizes
    weights = sum(sizes[k - 1] * sizes[k] for k in range(1, len(sizes)))
    return weights, sum(sizes), max(sizes)


def network_estimate(arch: Architecture) -> Estimate:
    """Peak memory of building ``arch``'s :class:`~memograd.explain.Network` and its gradients."""
    weights, units, _ = _sizes(arch)
    return Estimate(
        what=f"the network {_arch_name(arch)} ({weights:,} weights)",
        bytes=_WEIGHT_BYTES * weights + _UNIT_BYTES * units + 1_000_000,
    )


def value_graph_nodes(arch: Architecture, activations: Sequence[str], loss: str = "squared") -> int:
    """Exactly how many ``Value`` nodes :func:`~memograd.explain.build_value_graph` creates.

    Leaves: the inputs, every weight and bias. Per unit j of layer k, ``b + Σ_i O_i W_ij`` is one
    multiplication and one addition per incoming weight, then one node for the activation
    unless it is the identity. The loss: a subtraction and a square per output, the sum of
    those, and the factor 1/2 of ``half_squared``.
    """
    sizes = arch.sizes
    nodes = sizes[0]
    for k in range(1, len(sizes)):
        activation_nodes = 0 if activations[k - 1] == "identity" else sizes[k]
        nodes += 3 * sizes[k - 1] * sizes[k] + sizes[k] + activation_nodes
    outputs = sizes[-1]
    nodes += 2 * outputs + (outputs - 1) + (1 if loss == "half_squared" else 0)
    return nodes


def engine_estimate(
    arch: Architecture, activations: Sequence[str], loss: str = "squared"
) -> Estimate:
    """The engine check: its node count (the work) and the memory those nodes hold."""
    nodes = value_graph_nodes(arch, activations, loss)
    return Estimate(
        what=f"the engine's Value graph of {_arch_name(arch)}",
        bytes=VALUE_NODE_BYTES * nodes,
        work=nodes,
        unit="Value nodes",
    )


def naive_estimate(arch: Architecture, ref: ParamRef) -> Estimate:
    """The naive sum: each path's factors multiplied on their own, one path at a time."""
    per_path = arch.depth - ref.layer + (1 if ref.kind != "O" else 0)
    multiplications = count_paths(arch, ref) * per_path
    return Estimate(
        what=f"the naive sum for {param_text(arch, ref)}",
        bytes=0,  # paths are generated one at a time
        work=multiplications,
        unit="multiplications",
    )


def listing_estimate(
    arch: Architecture, ref: ParamRef, show_paths: int, max_terms: int
) -> Estimate:
    """Paths written out: the ``show_paths`` listed with their values, and the formula's terms.

    The formula writes every path while they are at most ``max_terms`` (twice: text and LaTeX),
    and about nine terms once elided. Measured about 540 bytes per listed factor with its text,
    200 per formula factor and form.
    """
    paths = count_paths(arch, ref)
    per_path = arch.depth - ref.layer + 2 - (1 if ref.kind == "O" else 0)
    listed = min(show_paths, paths) * per_path
    written = (paths if paths <= max_terms else 9) * per_path
    return Estimate(
        what=f"writing out {min(show_paths, paths):,} paths and a formula of "
        f"{min(paths, max(max_terms, 9)):,} terms",
        bytes=700 * listed + 2 * 250 * written,
        work=listed + 2 * written,
        unit="path factors",
    )


def measurement_estimate(
    archs: Sequence[Architecture], activations: str = "sigmoid", repeats: int = 3
) -> Estimate:
    """Timing the engine's backward on each net: every run builds its Value graph anew.

    Each net is built ``repeats`` times for the sweep and at most as often for the naive
    strategy; the graphs are freed between runs, so the memory is the largest one.
    """
    runs = 2 * max(1, repeats)
    largest = total = 0
    for arch in archs:
        hidden = [activations] * (arch.depth - 1)
        nodes = value_graph_nodes(arch, [*hidden, "identity"])
        largest, total = max(largest, nodes), total + runs * nodes
    return Estimate(
        what=f"timing the engine on {len(archs):,} networks",
        bytes=VALUE_NODE_BYTES * largest,
        work=total,
        unit="Value nodes",
    )


def cost_table_estimate(width: int, max_depth: int, inputs: int | None = None) -> Estimate:
    """The exact integers of a cost table: their total number of decimal digits is the work.

    Per depth d, the path count has about (d - 1) log10(w) digits, the naive count and the
    numerator of its exact ratio to backprop's count at most (d + 1) log10(w) + log10(d + 1)
    each (an upper bound, from the closed form; nothing is computed).
    """
    log_width = math.log10(max(width, 2))
    log_inputs = math.log10(max(inputs if inputs is not None else width, 2))
    digits = 0
    for depth in range(1, max_depth + 1):
        paths = (depth - 1) * log_width + 1
        naive = (depth + 1) * log_width + log_inputs + math.log10(depth + 1) + 2
        digits += int(paths + 2 * naive) + 12  # the ratio's numerator is naive's size
    return Estimate(
        what=f"the exact cost table for width {width:,} to depth {max_depth:,}",
        bytes=digits,  # the integers in binary take about 0.42 bytes per digit, the text 1
        work=digits,
        unit="digits",
    )


def _arch_name(arch: Architecture) -> str:
    text = arch.text
    if len(text) <= 40:
        return text
    return f"{text[:18]}…{text[-18:]} ({arch.depth + 1} layers)"
