"""Chain-rule paths from a parameter (or unit) to the loss: counted exactly, listed lazily.

A path from ``W^k_ij`` to ``L`` enters unit O_kj, then climbs one unit per layer up to an
output unit and ends in L; its contribution to ∂L/∂W^k_ij is the product of the local
derivatives along it. In a fully connected net every unit of layer m feeds every unit of
layer m+1, so a route is one unit index per layer k+1..K.

Counting is a dynamic programme over the layers, exact with Python integers: the number
of paths from a unit to L is the sum of the numbers of its successors, 1 at the output.
That is backpropagation itself in the (+, ×) arithmetic of counting (every local
derivative replaced by 1); since all units of a fully connected layer have the same count,
the sum over a layer is one multiplication, so counting costs one step per layer, not one
per path or per unit: 30 layers of width 10 give 10^29 paths at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from memograd.explain.arch import Architecture, ParamRef
from memograd.explain.network import Network, derivative_symbol
from memograd.explain.symbols import (
    LOSS_LATEX,
    LOSS_TEXT,
    param_latex,
    param_text,
    partial_latex,
    partial_text,
    subscript,
    unit_latex,
    unit_text,
)


def layer_path_counts(arch: Architecture, first_layer: int = 0) -> tuple[int, ...]:
    """``counts[k - first_layer]``: paths from any one unit of layer k to L, for k >= first_layer.

    Filled from the output down: a unit's count is the sum of the counts of the units it feeds,
    and in a fully connected layer every unit feeds all n_(k+1) units of the next one, all with
    the same count, so the sum is one multiplication per layer, whatever the widths.
    """
    counts = [1]
    for k in range(arch.depth - 1, first_layer - 1, -1):
        counts.append(counts[-1] * arch.sizes[k + 1])
    return tuple(reversed(counts))


def unit_path_counts(arch: Architecture) -> tuple[tuple[int, ...], ...]:
    """``counts[k][j-1]``: number of chain-rule paths from unit O_kj to L, for k = 0..K.

    One entry per unit (as many as the network has units); :func:`count_paths` needs none.
    """
    return tuple(
        (count,) * size for count, size in zip(layer_path_counts(arch), arch.sizes, strict=True)
    )


def count_paths(arch: Architecture, ref: ParamRef) -> int:
    """Exact number of chain-rule paths from ``ref`` to L (a Python int, never rounded).

    A weight W^k_ij or bias b^k_j has exactly the paths of the unit O_kj it feeds. Costs one
    multiplication per layer above ``ref``, however wide the layers are.
    """
    return layer_path_counts(arch, ref.layer)[0]


Route = tuple[int, ...]
"""Unit indices (1-based) of one path, one per layer ``ref.layer .. K``, bottom up."""


def _route_layers(arch: Architecture, ref: ParamRef) -> list[range]:
    return [range(1, arch.sizes[m] + 1) for m in range(ref.layer + 1, arch.depth + 1)]


def iter_routes(arch: Architecture, ref: ParamRef) -> Iterator[Route]:
    """Every route from ``ref`` to the output, lazily, lowest unit indices first.

    The first route goes through unit 1 of every layer above, as the notes' first term does.
    """
    for rest in itertools.product(*_route_layers(arch, ref)):
        yield (ref.unit, *rest)


def route_at(arch: Architecture, ref: ParamRef, index: int) -> Route:
    """The ``index``-th route of :func:`iter_routes` (0-based), without listing the others."""
    total = count_paths(arch, ref)
    if not 0 <= index < total:
        raise IndexError(f"path index {index} is out of range; {ref.name} has {total} paths")
    digits: list[int] = []
    for layer_units in reversed(_route_layers(arch, ref)):
        index, digit = divmod(index, len(layer_units))
        digits.append(digit + 1)
    return (ref.unit, *reversed(digits))


@dataclass(frozen=True)
class FactorSymbol:
    """One local derivative of a path, as the notes write it: ``∂O_21/∂O_11``."""

    text: str
    latex: str


def route_symbols(arch: Architecture, ref: ParamRef, route: Route) -> tuple[FactorSymbol, ...]:
    """The factors of one path in the notes' order: ``∂L/∂Ŷ``, then from the output down.

    For W^1_11 in 2-2-2-1 through O_21: ∂L/∂Ŷ, ∂Ŷ/∂O_21, ∂O_21/∂O_11, ∂O_11/∂W^1_11.
    """
    first, depth = ref.layer, arch.depth
    units = [(first + offset, unit) for offset, unit in enumerate(route)]
    top_layer, top_unit = units[-1]
    assert top_layer == depth
    out = unit_text(arch, top_layer, top_unit)
    out_latex = unit_latex(arch, top_layer, top_unit)
    symbols = [FactorSymbol(partial_text(LOSS_TEXT, out), partial_latex(LOSS_LATEX, out_latex))]
    for (low_layer, low_unit), (high_layer, high_unit) in zip(
        reversed(units[:-1]), reversed(units[1:]), strict=True
    ):
        high_t, low_t = unit_text(arch, high_layer, high_unit), unit_text(arch, low_layer, low_unit)
        high_l = unit_latex(arch, high_layer, high_unit)
        low_l = unit_latex(arch, low_layer, low_unit)
        symbols.append(FactorSymbol(partial_text(high_t, low_t), partial_latex(high_l, low_l)))
    if ref.kind != "O":
        unit_t, unit_l = unit_text(arch, first, ref.unit), unit_latex(arch, first, ref.unit)
        symbols.append(
            FactorSymbol(
                partial_text(unit_t, param_text(arch, ref)),
                partial_latex(unit_l, param_latex(arch, ref)),
            )
        )
    return tuple(symbols)


@dataclass(frozen=True)
class Factor:
    """One factor of a path's product with its number and how that number was made.

    ``expression`` shows the arithmetic behind ``value``, e.g.
    ``σ'(z_21) × W^2_11 = 0.2350 × 0.4100``, because a learner checking the page by hand
    needs the pieces, not only the product.
    """

    symbol: str
    latex: str
    value: float
    expression: str

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "latex": self.latex,
            "value": self.value,
            "expression": self.expression,
        }


@dataclass(frozen=True)
class ChainPath:
    """One chain-rule path: its units (bottom up) and its factors in the notes' order."""

    index: int
    units: tuple[str, ...]
    factors: tuple[Factor, ...]

    @property
    def product(self) -> float:
        """The path's contribution to the gradient, multiplied left to right."""
        result = self.factors[0].value
        for factor in self.factors[1:]:
            result *= factor.value
        return result

    @property
    def multiplications(self) -> int:
        """Multiplications needed for this path's product on its own: factors - 1."""
        return len(self.factors) - 1

    @property
    def text(self) -> str:
        """The product as the notes write it: ``∂L/∂Ŷ × ∂Ŷ/∂O_21 × ...``."""
        return " × ".join(factor.symbol for factor in self.factors)

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "units": list(self.units),
            "text": self.text,
            "factors": [factor.to_dict() for factor in self.factors],
            "product": self.product,
            "multiplications": self.multiplications,
        }


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _z_text(layer: int, unit: int) -> str:
    return f"z_{subscript(layer, unit)}"


def path_factors(network: Network, ref: ParamRef, route: Route) -> tuple[Factor, ...]:
    """The factors of one route with their values on ``network``'s weights and input."""
    arch, forward = network.arch, network.forward
    symbols = route_symbols(arch, ref, route)
    first, depth = ref.layer, arch.depth
    top_unit = route[-1]
    residual = float(forward.outputs[depth][top_unit - 1] - network.target[top_unit - 1])
    out = unit_text(arch, depth, top_unit)
    target = "y" if arch.outputs == 1 else f"y_{top_unit}"
    scale = "2" if network.loss == "squared" else "1"
    values = [
        Factor(
            symbols[0].text,
            symbols[0].latex,
            float(forward.loss_gradient[top_unit - 1]),
            f"{scale} × ({out} − {target}) = {scale} × {_fmt(residual)}",
        )
    ]
    # Edges from the output down to the route's first unit.
    for offset in range(len(route) - 1, 0, -1):
        layer, unit, source = first + offset, route[offset], route[offset - 1]
        slope = float(forward.slopes[layer][unit - 1])
        weight = network.weight(layer, source, unit)
        deriv = derivative_symbol(network.activations[layer - 1])
        symbol = symbols[len(values)]
        w_name = param_text(arch, ParamRef("W", layer, unit, source=source))
        values.append(
            Factor(
                symbol.text,
                symbol.latex,
                network.unit_to_unit(layer, source, unit),
                f"{deriv}({_z_text(layer, unit)}) × {w_name} = {_fmt(slope)} × {_fmt(weight)}",
            )
        )
    if ref.kind != "O":
        slope = float(forward.slopes[first][ref.unit - 1])
        deriv = derivative_symbol(network.activations[first - 1])
        z_name = _z_text(first, ref.unit)
        if ref.kind == "W":
            assert ref.source is not None
            incoming = float(forward.outputs[first - 1][ref.source - 1])
            source_name = unit_text(arch, first - 1, ref.source)
            expression = f"{deriv}({z_name}) × {source_name} = {_fmt(slope)} × {_fmt(incoming)}"
        else:
            expression = f"{deriv}({z_name}) = {_fmt(slope)}"
        values.append(
            Factor(symbols[-1].text, symbols[-1].latex, network.unit_to_param(ref), expression)
        )
    return tuple(values)


def _chain_path(network: Network, ref: ParamRef, index: int, route: Route) -> ChainPath:
    arch = network.arch
    units = tuple(unit_text(arch, ref.layer + offset, unit) for offset, unit in enumerate(route))
    return ChainPath(index, units, path_factors(network, ref, route))


def iter_paths(network: Network, ref: ParamRef, limit: int | None = None) -> Iterator[ChainPath]:
    """The chain-rule paths of ``ref`` with their factor values, lazily, at most ``limit``.

    Only the paths taken are built, so asking for the first three of 10^29 is instant.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    routes = iter_routes(network.arch, ref)
    for index, route in enumerate(itertools.islice(routes, limit)):
        yield _chain_path(network, ref, index, route)


def path_at(network: Network, ref: ParamRef, index: int) -> ChainPath:
    """The ``index``-th path (0-based) with its factor values."""
    return _chain_path(network, ref, index, route_at(network.arch, ref, index))
