"""The neuron-level graph of a small MLP, in the notes' notation, with real numbers on it.

Every unit is one node: ``O_kj = act_k(z_kj)`` with ``z_kj = b^k_j + sum_i O_(k-1)i W^k_ij``
and ``O_0i = x_i`` the input. The loss compares the output ``Ŷ`` (layer K) with a target.
Pre-activations are folded into their unit, so the edges of this graph are exactly the
factors the notes write: ``∂O_kj/∂O_(k-1)i = act'(z_kj) W^k_ij``,
``∂O_kj/∂W^k_ij = act'(z_kj) O_(k-1)i``, ``∂O_kj/∂b^k_j = act'(z_kj)`` and ``∂L/∂Ŷ``.

Weights are stored as ``weights[k-1][i-1, j-1] = W^k_ij``, shape (units of layer k-1,
units of layer k): the engine's ``linear(x, weight)`` convention and the notes' indexing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from memograd.engine import ops
from memograd.explain.arch import Architecture, ParamRef, parse_arch

# The derivative table's activations (the engine's and nn's), plus the identity for an output
# layer. Forward and derivative come from the table's rows: one formula for the engine, the
# layers and this explainer.
ACTIVATIONS = (*ops.ACTIVATIONS, "identity")
LOSSES = ("squared", "half_squared")


def _row(name: str) -> ops.Op:
    if name not in ops.ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return ops.ACTIVATIONS[name]


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Apply activation ``name`` elementwise (the table's forward; default parameter)."""
    z = np.asarray(z, dtype=np.float64)
    if name == "identity":
        return z.copy()
    row = _row(name)
    out, _ = row.forward(z, _DEFAULT_PARAMETER if row.partials.has_param else None)
    return out


def activation_derivative(name: str, z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``act'(z)``: the table's partial, written with the output where that is its form
    (σ' = σ(1-σ)); the subgradient 0 at the kink of relu, as every framework uses."""
    z = np.asarray(z, dtype=np.float64)
    if name == "identity":
        return np.ones_like(z)
    row = _row(name)
    parameter = _DEFAULT_PARAMETER if row.partials.has_param else None
    (slope,) = row.partials.graph(z, None, np.asarray(out, dtype=np.float64), parameter)
    return np.broadcast_to(np.asarray(slope, dtype=np.float64), z.shape).copy()


_DEFAULT_PARAMETER = 0.01  # leaky_relu's negative slope, as nn.LeakyReLU's default


def derivative_symbol(name: str) -> str:
    """How ``act'`` is written in a factor's explanation, e.g. ``σ'``."""
    return {"sigmoid": "σ'", "identity": "id'"}.get(name, f"{name}'")


@dataclass(frozen=True)
class ForwardPass:
    """Every number of one forward pass; lists are indexed by layer k = 0..K."""

    pre_activations: tuple[np.ndarray, ...]  # z_k; entry 0 is empty (the input has none)
    outputs: tuple[np.ndarray, ...]  # O_k; entry 0 is the input x
    slopes: tuple[np.ndarray, ...]  # act_k'(z_k); entry 0 is empty
    loss: float
    loss_gradient: np.ndarray  # ∂L/∂Ŷ_j for each output unit j


@dataclass(frozen=True, eq=False)
class Network:
    """An MLP with concrete weights, input and target: the object the explainer explains.

    Build one with :func:`build_network`; the constructor only checks shapes. Arrays are
    stored as read-only float64 copies, so a Network never changes after it is made.
    """

    arch: Architecture
    activations: tuple[str, ...]  # one per layer 1..K; the last is the output's
    weights: tuple[np.ndarray, ...]  # weights[k-1][i-1, j-1] = W^k_ij
    biases: tuple[np.ndarray, ...]  # biases[k-1][j-1] = b^k_j
    x: np.ndarray
    target: np.ndarray
    loss: str = "squared"

    def __post_init__(self) -> None:
        sizes, depth = self.arch.sizes, self.arch.depth
        object.__setattr__(self, "activations", tuple(self.activations))
        if len(self.activations) != depth:
            raise ValueError(
                f"{self.arch.text} needs {depth} activations (one per layer 1..{depth}), "
                f"got {len(self.activations)}"
            )
        _check_names(self.activations, self.loss)
        if len(self.weights) != depth or len(self.biases) != depth:
            raise ValueError(
                f"{self.arch.text} needs {depth} weight matrices and {depth} bias vectors, "
                f"got {len(self.weights)} and {len(self.biases)}"
            )
        frozen_weights, frozen_biases = [], []
        for k in range(1, depth + 1):
            shape = (sizes[k - 1], sizes[k])
            frozen_weights.append(_frozen(self.weights[k - 1], shape, f"W^{k}"))
            frozen_biases.append(_frozen(self.biases[k - 1], (sizes[k],), f"b^{k}"))
        object.__setattr__(self, "weights", tuple(frozen_weights))
        object.__setattr__(self, "biases", tuple(frozen_biases))
        object.__setattr__(self, "x", _frozen(self.x, (sizes[0],), "the input x"))
        object.__setattr__(self, "target", _frozen(self.target, (sizes[-1],), "the target"))

    def weight(self, layer: int, source: int, unit: int) -> float:
        """W^layer_(source, unit), 1-based as in the notes."""
        return float(self.weights[layer - 1][source - 1, unit - 1])

    def value_of(self, ref: ParamRef) -> float:
        """The current value of a weight, bias or unit output."""
        if ref.kind == "W":
            assert ref.source is not None
            return self.weight(ref.layer, ref.source, ref.unit)
        if ref.kind == "b":
            return float(self.biases[ref.layer - 1][ref.unit - 1])
        return float(self.forward.outputs[ref.layer][ref.unit - 1])

    @cached_property
    def forward(self) -> ForwardPass:
        """The forward pass on the stored weights (computed once)."""
        return self.run_forward()

    def run_forward(self, nudge: tuple[ParamRef, float] | None = None) -> ForwardPass:
        """Run the network, optionally adding ``delta`` to one parameter or unit output.

        ``nudge=(ref, delta)`` is what a finite-difference check needs: for a unit output
        ``O_kj`` the delta is added after the activation, so only what comes after it moves.
        """
        # Only the nudged array is copied: a finite difference of a wide net needs no second
        # copy of every weight.
        weights, biases = list(self.weights), list(self.biases)
        unit_nudge: tuple[int, int, float] | None = None
        if nudge is not None:
            ref, delta = nudge
            if ref.kind == "W":
                assert ref.source is not None
                weights[ref.layer - 1] = weights[ref.layer - 1].copy()
                weights[ref.layer - 1][ref.source - 1, ref.unit - 1] += delta
            elif ref.kind == "b":
                biases[ref.layer - 1] = biases[ref.layer - 1].copy()
                biases[ref.layer - 1][ref.unit - 1] += delta
            else:
                unit_nudge = (ref.layer, ref.unit - 1, delta)
        empty = np.zeros(0)
        pre_activations, outputs, slopes = [empty], [self.x.copy()], [empty]
        for k in range(1, self.arch.depth + 1):
            z = outputs[-1] @ weights[k - 1] + biases[k - 1]
            out = activate(self.activations[k - 1], z)
            slopes.append(activation_derivative(self.activations[k - 1], z, out))
            if unit_nudge is not None and unit_nudge[0] == k:
                out = out.copy()
                out[unit_nudge[1]] += unit_nudge[2]
            pre_activations.append(z)
            outputs.append(out)
        residual = outputs[-1] - self.target
        if self.loss == "squared":
            loss, loss_gradient = float(np.sum(residual**2)), 2.0 * residual
        else:
            loss, loss_gradient = float(0.5 * np.sum(residual**2)), residual.copy()
        return ForwardPass(
            tuple(pre_activations), tuple(outputs), tuple(slopes), loss, loss_gradient
        )

    def unit_to_unit(self, layer: int, source: int, unit: int) -> float:
        """∂O_(layer)(unit) / ∂O_(layer-1)(source) = act'(z) W^layer_(source, unit)."""
        slope = self.forward.slopes[layer][unit - 1]
        return float(slope * self.weights[layer - 1][source - 1, unit - 1])

    def unit_to_param(self, ref: ParamRef) -> float:
        """∂O_kj / ∂W^k_ij = act'(z_kj) O_(k-1)i, or ∂O_kj / ∂b^k_j = act'(z_kj)."""
        slope = float(self.forward.slopes[ref.layer][ref.unit - 1])
        if ref.kind == "b":
            return slope
        if ref.kind == "W":
            assert ref.source is not None
            return slope * float(self.forward.outputs[ref.layer - 1][ref.source - 1])
        raise ValueError(f"{ref.name} is a unit output, not a parameter of a unit")


def _frozen(values: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains a value that is not finite: {array.tolist()}")
    array.setflags(write=False)
    return array


def check_network_arguments(
    arch: Architecture,
    *,
    activation: str | Sequence[str] = "sigmoid",
    output_activation: str = "identity",
    loss: str = "squared",
    seed: int | None = 0,
    x: Sequence[float] | np.ndarray | None = None,
    target: Sequence[float] | np.ndarray | None = None,
) -> tuple[str, ...]:
    """Check :func:`build_network`'s arguments without drawing a weight; return one activation
    per layer 1..K.

    So the arguments of a network too large to build are refused all the same, with the
    same messages.
    """
    hidden = arch.depth - 1
    if isinstance(activation, str):
        hidden_activations = [activation] * hidden
    else:
        hidden_activations = list(activation)
        if len(hidden_activations) != hidden:
            raise ValueError(
                f"{arch.text} has {hidden} hidden layer(s); got {len(hidden_activations)} "
                f"activations {hidden_activations}"
            )
    activations = (*hidden_activations, output_activation)
    _check_names(activations, loss)
    if isinstance(seed, bool) or (seed is not None and not isinstance(seed, int)):
        raise TypeError(f"seed must be a whole number or None, got {seed!r}")
    if x is not None:
        _frozen(x, (arch.sizes[0],), "the input x")
    if target is not None:
        _frozen(target, (arch.sizes[-1],), "the target")
    return activations


def _check_names(activations: Sequence[str], loss: str) -> None:
    for name in activations:
        if name not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
            )
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")


def build_network(
    arch: str | Sequence[int] | Architecture,
    *,
    activation: str | Sequence[str] = "sigmoid",
    output_activation: str = "identity",
    seed: int | None = 0,
    weights: Sequence[object] | None = None,
    biases: Sequence[object] | None = None,
    x: Sequence[float] | np.ndarray | None = None,
    target: Sequence[float] | np.ndarray | None = None,
    loss: str = "squared",
) -> Network:
    """Make a :class:`Network` from an architecture and whatever values are not given.

    ``activation`` is one name for every hidden layer or one name per hidden layer (the
    notes use sigmoid); ``output_activation`` is the output layer's (identity by default,
    the usual pairing with a squared-error loss). Missing weights, biases, input and
    target are drawn from ``seed``, each from its own stream, so giving the input does
    not change the weights a seed produces. Weights are N(0, 1/fan_in), biases N(0, 0.1²),
    the input U(-1, 1) and the target U(0, 1).
    """
    arch = parse_arch(arch)
    depth = arch.depth
    activations = check_network_arguments(
        arch,
        activation=activation,
        output_activation=output_activation,
        loss=loss,
        seed=seed,
        x=x,
        target=target,
    )
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    sizes = arch.sizes
    if weights is None:
        weights = [
            streams[0].normal(0.0, 1.0 / math.sqrt(sizes[k - 1]), (sizes[k - 1], sizes[k]))
            for k in range(1, depth + 1)
        ]
    if biases is None:
        biases = [streams[1].normal(0.0, 0.1, sizes[k]) for k in range(1, depth + 1)]
    if x is None:
        x = streams[2].uniform(-1.0, 1.0, sizes[0])
    if target is None:
        target = streams[3].uniform(0.0, 1.0, sizes[-1])
    return Network(
        arch=arch,
        activations=activations,
        weights=tuple(weights),  # type: ignore[arg-type]
        biases=tuple(biases),  # type: ignore[arg-type]
        x=np.asarray(x),
        target=np.asarray(target),
        loss=loss,
    )
