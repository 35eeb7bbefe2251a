"""One gradient, computed three ways on the same numbers, with the work each one does.

* :func:`naive_gradient` — the chain rule with no memory: every path's product is
  multiplied out on its own, then the products are summed. A path of f factors costs
  f - 1 multiplications, and the common tail (∂L/∂Ŷ × ∂Ŷ/∂O_21 × ...) is recomputed on
  every path that shares it.
* :func:`memo_table_gradient` — the same chain rule with each unit's adjoint ∂L/∂O_kj stored
  the first time it is computed and reused: one multiplication per edge on the way down
  from the output, plus one for the parameter's own factor.
* :func:`engine_gradient` — the engine's ``Value`` graph of the same network and
  ``loss.backward(strategy=...)``: the library's real backpropagation, as a check that the
  explainer's numbers are the engine's numbers.

Multiplications are counted at the neuron level: each local derivative (``∂O_21/∂O_11 =
σ'(z_21) W^2_11``) is one number from the forward pass, and a multiplication is one product
of two such numbers or of an adjoint and one of them. Both counts use the same factors, so
their ratio is the saving memoization buys and nothing else.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from memograd.engine.value import Value
from memograd.explain.arch import Architecture, ParamRef
from memograd.explain.network import Network
from memograd.explain.paths import count_paths
from memograd.explain.symbols import unit_text

NAIVE_SUM_MAX_PATHS = 100_000
"""Paths above which :func:`naive_gradient` refuses: the naive sum is a Python loop per path."""


@dataclass(frozen=True)
class NaiveGradient:
    """The gradient as the plain sum of path products."""

    gradient: float
    multiplications: int
    additions: int
    paths: int


@dataclass(frozen=True)
class MemoGradient:
    """The gradient with adjoints stored and reused; ``adjoints`` is the memo table."""

    gradient: float
    multiplications: int
    additions: int
    adjoints: dict[str, float]


@dataclass(frozen=True)
class EngineGradient:
    """The gradient from the engine's backward pass, with the engine's own work counters."""

    gradient: float
    strategy: str
    stats: dict[str, Any]


def naive_multiplication_count(network_or_arch: Network | Architecture, ref: ParamRef) -> int:
    """Multiplications of the naive sum for ``ref``: paths × (factors per path - 1).

    Every path from W^k_ij or b^k_j has K - k + 2 factors (∂L/∂Ŷ, one per layer crossed,
    and the parameter's own), so K - k + 1 multiplications; a unit output O_kj has one
    factor fewer. Exact, without listing a single path.
    """
    arch = network_or_arch.arch if isinstance(network_or_arch, Network) else network_or_arch
    per_path = arch.depth - ref.layer + (1 if ref.kind != "O" else 0)
    return count_paths(arch, ref) * per_path


def _edges(network: Network, layer: int) -> np.ndarray:
    """``edges[i, j] = ∂O_(layer)j/∂O_(layer-1)i = act'(z_(layer)j) W^layer_ij``.

    Made for one layer at a time, when needed: a wide net's weights are never copied whole.
    """
    return network.forward.slopes[layer][None, :] * network.weights[layer - 1]


def _own_factor(network: Network, ref: ParamRef) -> float | None:
    return None if ref.kind == "O" else network.unit_to_param(ref)


def naive_gradient(
    network: Network, ref: ParamRef, *, max_paths: int = NAIVE_SUM_MAX_PATHS
) -> NaiveGradient:
    """Sum of every path's product, each product computed from scratch.

    Raises ValueError naming the path count when it exceeds ``max_paths``: the whole point
    is that this sum grows like width^depth.
    """
    arch = network.arch
    paths = count_paths(arch, ref)
    if paths > max_paths:
        raise ValueError(
            f"the naive sum for {ref.name} in {arch.text} has {paths:,} paths, more than "
            f"max_paths={max_paths:,}; raise max_paths or use the memoized gradient"
        )
    edges = {m: _edges(network, m) for m in range(ref.layer + 1, arch.depth + 1)}
    loss_gradient = network.forward.loss_gradient
    own = _own_factor(network, ref)
    layers_above = [range(arch.sizes[m]) for m in range(ref.layer + 1, arch.depth + 1)]
    total, multiplications, terms = 0.0, 0, 0
    for rest in itertools.product(*layers_above):
        route = (ref.unit - 1, *rest)
        product = float(loss_gradient[route[-1]])
        for offset in range(len(route) - 1, 0, -1):  # from the output down, as the notes
            layer = ref.layer + offset
            product *= float(edges[layer][route[offset - 1], route[offset]])
            multiplications += 1
        if own is not None:
            product *= own
            multiplications += 1
        total += product
        terms += 1
    return NaiveGradient(total, multiplications, terms - 1, paths)


def memo_table_gradient(network: Network, ref: ParamRef) -> MemoGradient:
    """Backpropagation at the neuron level: adjoints stored in a table and reused.

    ``adjoint(O_mj) = Σ_l adjoint(O_(m+1)l) × ∂O_(m+1)l/∂O_mj`` is filled layer by layer from
    the output down to ``ref``'s layer, every entry once (the table a memoized recursion
    would build); only ``ref``'s own unit is needed in its layer. Then
    ``∂L/∂W^k_ij = adjoint(O_kj) × ∂O_kj/∂W^k_ij``. A full layer is one matrix-vector
    product: the same multiplications, counted per entry, without a Python step per unit.
    """
    arch = network.arch
    adjoint = network.forward.loss_gradient.astype(np.float64)
    table: dict[str, float] = {}
    for j, value in enumerate(adjoint, start=1):
        table[unit_text(arch, arch.depth, j)] = float(value)
    multiplications = additions = 0
    for layer in range(arch.depth - 1, ref.layer - 1, -1):
        above = arch.sizes[layer + 1]
        edges = _edges(network, layer + 1)
        if layer == ref.layer:
            units = [ref.unit - 1]
            new_adjoint = np.zeros(arch.sizes[layer])
            new_adjoint[ref.unit - 1] = float(np.dot(edges[ref.unit - 1, :], adjoint))
        else:
            units = range(arch.sizes[layer])
            new_adjoint = edges @ adjoint
        for i in units:
            table[unit_text(arch, layer, i + 1)] = float(new_adjoint[i])
        multiplications += above * len(units)
        additions += (above - 1) * len(units)
        adjoint = new_adjoint
    gradient = float(adjoint[ref.unit - 1])
    own = _own_factor(network, ref)
    if own is not None:
        gradient *= own
        multiplications += 1
    return MemoGradient(gradient, multiplications, additions, table)


def memo_multiplication_count(network_or_arch: Network | Architecture, ref: ParamRef) -> int:
    """Multiplications :func:`memo_table_gradient` performs, from the architecture alone.

    Σ_{m=k+1}^{K-1} n_m n_(m+1) for the full layers above, n_(k+1) for ref's own unit,
    and 1 for the parameter's own factor (none for a unit output).
    """
    arch = network_or_arch.arch if isinstance(network_or_arch, Network) else network_or_arch
    sizes, k = arch.sizes, ref.layer
    full_layers = sum(sizes[m] * sizes[m + 1] for m in range(k + 1, arch.depth))
    own_unit = sizes[k + 1] if k < arch.depth else 0
    return full_layers + own_unit + (1 if ref.kind != "O" else 0)


def finite_difference(network: Network, ref: ParamRef, *, step: float = 1e-6) -> float:
    """Central difference (L(p + h) - L(p - h)) / 2h: error O(h²), independent of any graph."""
    if not step > 0:
        raise ValueError(f"step must be > 0, got {step}")
    up = network.run_forward((ref, step)).loss
    down = network.run_forward((ref, -step)).loss
    return (up - down) / (2.0 * step)


def finite_difference_resolution(network: Network, *, step: float = 1e-6) -> float:
    """The smallest gradient :func:`finite_difference` can tell from zero: about ε |L| / h.

    Each loss is rounded to within ε |L| (ε the float64 machine epsilon), and the difference
    is divided by 2h; a deep sigmoid net's gradient of 1e-21 is far below this and the
    difference reads 0, which is the check's limit, not a disagreement.
    """
    return float(np.finfo(np.float64).eps) * max(abs(network.forward.loss), 1e-300) / step


@dataclass(frozen=True)
class ValueGraph:
    """The engine's scalar graph of a :class:`Network`: leaves, units and the loss."""

    loss: Any
    weights: list[list[list[Any]]]  # weights[k-1][i-1][j-1] is the Value of W^k_ij
    biases: list[list[Any]]  # biases[k-1][j-1]
    units: list[list[Any]]  # units[k][j-1] is the Value of O_kj (units[0] is the input)

    def node(self, ref: ParamRef) -> Any:
        if ref.kind == "W":
            assert ref.source is not None
            return self.weights[ref.layer - 1][ref.source - 1][ref.unit - 1]
        if ref.kind == "b":
            return self.biases[ref.layer - 1][ref.unit - 1]
        return self.units[ref.layer][ref.unit - 1]


def build_value_graph(network: Network) -> ValueGraph:
    """Build the network with the engine's ``Value``, one node per scalar operation."""
    arch = network.arch
    units: list[list[Any]] = [[Value(float(v)) for v in network.x]]
    weights, biases = [], []
    for k in range(1, arch.depth + 1):
        w = [[Value(float(v)) for v in row] for row in network.weights[k - 1]]
        b = [Value(float(v)) for v in network.biases[k - 1]]
        weights.append(w)
        biases.append(b)
        layer = []
        for j in range(arch.sizes[k]):
            z = b[j]
            for i, incoming in enumerate(units[-1]):
                z = z + incoming * w[i][j]
            layer.append(_activate_value(network.activations[k - 1], z))
        units.append(layer)
    loss = None
    for out, target in zip(units[-1], network.target, strict=True):
        term = (out - float(target)) ** 2
        loss = term if loss is None else loss + term
    if network.loss == "half_squared":
        loss = loss * 0.5
    return ValueGraph(loss, weights, biases, units)


def _activate_value(name: str, z: Any) -> Any:
    if name == "identity":
        return z
    return getattr(z, name)()


def engine_gradient(network: Network, ref: ParamRef, *, strategy: str = "memo") -> EngineGradient:
    """∂L/∂ref from the engine's ``backward(strategy=...)`` on a fresh Value graph."""
    graph = build_value_graph(network)
    stats = graph.loss.backward(strategy=strategy, stats=True)
    return EngineGradient(float(graph.node(ref).grad), strategy, _stats_dict(stats))


def _stats_dict(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    if hasattr(stats, "as_dict"):
        return dict(stats.as_dict())
    if dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        return dataclasses.asdict(stats)
    return {key: value for key, value in vars(stats).items() if not key.startswith("_")}
