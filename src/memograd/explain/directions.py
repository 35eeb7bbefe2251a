"""The same path sum factored from the other end: forward mode at the neuron level, and the cost
of each direction for one parameter and for all of them.

Reverse mode (backprop, :func:`~memograd.explain.gradient.memo_table_gradient`) starts at L and
stores each adjoint ∂L/∂O_kj once; forward mode starts at the parameter p and stores each tangent
t(O_kj) = ∂O_kj/∂p once, layer by layer towards L:

* t(O_kj) = ∂O_kj/∂p for p's own unit (p = W^k_ij or b^k_j; 1 for a unit output O_kj);
* t(O_(m+1)l) = Σ_j ∂O_(m+1)l/∂O_mj × t(O_mj), one layer at a time;
* ∂L/∂p = Σ_j ∂L/∂Ŷ_j × t(Ŷ_j).

For one parameter both directions cost about the same. The difference is in what one pass gives:
a reverse pass gives ∂L/∂p for every parameter at once (one more multiplication each), a forward
pass gives it for one. So the gradient of all P parameters of a network takes one reverse pass,
or P forward passes: this module counts both exactly, from the architecture alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from memograd.engine import graph
from memograd.engine.stats import BackwardStats
from memograd.engine.transforms import jacfwd, jacrev
from memograd.explain.arch import Architecture, ParamRef
from memograd.explain.gradient import build_value_graph
from memograd.explain.network import Network
from memograd.explain.symbols import param_text, unit_text


@dataclass(frozen=True)
class ForwardStep:
    """One stored tangent: its symbol, value, and the arithmetic that made it."""

    symbol: str
    value: float
    expression: str


@dataclass(frozen=True)
class ForwardGradient:
    """∂L/∂p by forward mode: the tangents in the order they were stored, and the work."""

    gradient: float
    multiplications: int
    steps: tuple[ForwardStep, ...]

    def table(self) -> dict[str, float]:
        return {step.symbol: step.value for step in self.steps}


def _edges(network: Network, layer: int) -> np.ndarray:
    """``edges[i, j] = ∂O_(layer)j/∂O_(layer-1)i = act'(z_(layer)j) W^layer_ij``."""
    return network.forward.slopes[layer][None, :] * network.weights[layer - 1]


def forward_gradient(network: Network, ref: ParamRef) -> ForwardGradient:
    """∂L/∂``ref`` carried from the parameter towards L, each tangent stored once."""
    arch = network.arch
    k, unit = ref.layer, ref.unit - 1
    own = 1.0 if ref.kind == "O" else network.unit_to_param(ref)
    symbol = param_text(arch, ref)
    origin = unit_text(arch, k, unit + 1)
    steps = [
        ForwardStep(
            f"t({origin})",
            own,
            "1 (the parameter itself)" if ref.kind == "O" else f"∂{origin}/∂{symbol}",
        )
    ]
    tangent = np.zeros(arch.sizes[k])
    tangent[unit] = own
    multiplications = 0
    for m in range(k + 1, arch.depth + 1):
        edges = _edges(network, m)
        if m == k + 1:  # only p's own unit carries a tangent: one edge into each unit above
            new = edges[unit, :] * own
            multiplications += arch.sizes[m] if ref.kind != "O" else 0  # × 1 is no product
            for j in range(arch.sizes[m]):
                target = unit_text(arch, m, j + 1)
                product = f" = {edges[unit, j]:.4g} × {own:.4g}"
                steps.append(
                    ForwardStep(
                        f"t({target})",
                        float(new[j]),
                        f"∂{target}/∂{origin} × t({origin})" + product,
                    )
                )
        else:
            new = tangent @ edges
            multiplications += arch.sizes[m - 1] * arch.sizes[m]
            for j in range(arch.sizes[m]):
                target = unit_text(arch, m, j + 1)
                below = f"O_{m - 1}i" if m - 1 < 10 else f"O_{m - 1},i"
                sum_text = f"Σ_i ∂{target}/∂{below} × t({below})" + _terms(edges[:, j], tangent)
                steps.append(ForwardStep(f"t({target})", float(new[j]), sum_text))
        tangent = new
    loss_gradient = network.forward.loss_gradient
    gradient = float(np.dot(loss_gradient, tangent))
    if k < arch.depth:
        multiplications += arch.sizes[-1]
    elif ref.kind != "O":  # p in the output layer: one output carries a tangent
        multiplications += 1
    last = "Σ_j ∂L/∂Ŷ_j × t(Ŷ_j)" + _terms(loss_gradient, tangent)
    steps.append(ForwardStep(f"∂L/∂{symbol}", gradient, last))
    return ForwardGradient(gradient, multiplications, tuple(steps))


def _terms(factors: np.ndarray, tangents: np.ndarray, most: int = 4) -> str:
    """`` = a × b + c × d``: each product's numbers, for sums of up to ``most`` terms."""
    if len(factors) > most:
        return ""
    return " = " + " + ".join(f"{f:.4g} × {t:.4g}" for f, t in zip(factors, tangents, strict=True))


def forward_multiplication_count(arch: Architecture, ref: ParamRef) -> int:
    """Multiplications of :func:`forward_gradient`, from the architecture alone.

    n_(k+1) into the layer above p's unit (none for a unit output, whose tangent is the seed 1),
    Σ_{m=k+2}^{K} n_(m-1) n_m for the full layers, and n_K for ∂L/∂Ŷ; a parameter of the output
    layer costs one product (∂L/∂Ŷ_j × its own factor), a unit of it none. The same closed form
    as the explorable page's.
    """
    sizes, k = arch.sizes, ref.layer
    if k == arch.depth:
        return 0 if ref.kind == "O" else 1
    first = sizes[k + 1] if ref.kind != "O" else 0
    return first + sum(sizes[m - 1] * sizes[m] for m in range(k + 2, arch.depth + 1)) + sizes[-1]


def parameters(arch: Architecture) -> list[ParamRef]:
    """Every weight and bias of the network, in the notes' order (layer, then unit).

    One entry per parameter: for checking :func:`all_parameter_costs` on small networks only.
    """
    refs = []
    for k in range(1, arch.depth + 1):
        for j in range(1, arch.sizes[k] + 1):
            refs.extend(ParamRef("W", k, j, i) for i in range(1, arch.sizes[k - 1] + 1))
            refs.append(ParamRef("b", k, j))
    return refs


@dataclass(frozen=True)
class DirectionCosts:
    """The work of ∂L/∂p for every parameter p of a network, in each direction (exact)."""

    arch: str
    parameters: int
    forward_passes: int
    forward_multiplications: int
    reverse_passes: int
    reverse_multiplications: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def all_parameter_costs(arch: Architecture) -> DirectionCosts:
    """One forward pass per parameter, against one reverse pass that serves them all.

    Reverse: every unit's adjoint in layers K-1 down to 1 (n_m n_(m+1) multiplications per
    layer), then one multiplication per parameter (adjoint × own factor).
    """
    sizes = arch.sizes
    # Per layer k: n_(k-1) n_k weights and n_k biases, all with the same forward cost, so the
    # totals come from the architecture alone, however many parameters there are.
    per_layer = [sizes[k - 1] * sizes[k] + sizes[k] for k in range(1, arch.depth + 1)]
    count = sum(per_layer)
    reverse = sum(sizes[m] * sizes[m + 1] for m in range(1, arch.depth)) + count
    # forward_multiplication_count for a parameter of layer k < K: n_(k+1) + (the full layers
    # above it, a suffix sum kept as k falls) + n_K; a parameter of layer K costs one product.
    depth, forward, full_layers_above = arch.depth, per_layer[-1], 0
    for k in range(depth - 1, 0, -1):
        if k + 2 <= depth:
            full_layers_above += sizes[k + 1] * sizes[k + 2]
        forward += per_layer[k - 1] * (sizes[k + 1] + full_layers_above + sizes[-1])
    return DirectionCosts(arch.text, count, count, forward, 1, reverse)


def engine_forward_gradient(network: Network, ref: ParamRef) -> tuple[float, dict[str, Any]]:
    """∂L/∂ref by the engine's own forward mode on the Value graph: one forward sweep."""
    values = build_value_graph(network)
    report = BackwardStats("forward")
    (tangent,) = graph.forward_sweep([values.loss], {values.node(ref): 1.0}, report)
    return float(tangent or 0.0), report.as_dict()


HIDDEN = 16
"""Hidden units of the function ``jacobian_costs`` differentiates."""


def jacobian_costs(n: int, m: int, *, measure: bool = False) -> dict[str, Any]:
    """Jacobian of ``x -> tanh(x A) B``, R^n -> R^m, by jacfwd and jacrev: passes, work, time."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, HIDDEN)) / np.sqrt(n)
    b = rng.standard_normal((HIDDEN, m)) / np.sqrt(HIDDEN)
    x = rng.standard_normal(n)

    def f(v: Any) -> Any:
        return (v @ a).tanh() @ b

    row: dict[str, Any] = {"inputs": n, "outputs": m}
    results = {}
    for name, transform in (("forward", jacfwd), ("reverse", jacrev)):
        jacobian, stats = transform(f, stats=True)(x)  # also warms up the code paths
        results[name] = jacobian
        evaluations = stats.jvp_evaluations if name == "forward" else stats.vjp_evaluations
        row[name] = {"passes": stats.passes, "evaluations": evaluations}
        if measure:  # the median of 5 calls: this machine's noise, not one unlucky call
            times = []
            for _ in range(5):
                started = time.perf_counter()
                transform(f)(x)
                times.append(time.perf_counter() - started)
            row[name]["seconds"] = sorted(times)[2]
    row["agree"] = bool(np.allclose(results["forward"], results["reverse"], rtol=1e-10, atol=1e-12))
    row["cheaper"] = "forward" if n < m else ("reverse" if m < n else "either")
    return row
