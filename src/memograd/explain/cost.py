"""What the chain rule costs with and without memoization, as exact integers over depth.

The nets are ``w-w-...-w-1``: an input of width w (unless ``inputs`` says otherwise),
d hidden layers of width w and one output, so K = d + 1 layers of weights. Counting
multiplications as in :mod:`memograd.explain.gradient` (one per product of two local
derivatives or of an adjoint and a local derivative), for every weight's gradient:

* paths per first-layer weight: ``w^(d-1)`` (one unit per hidden layer 2..d, then Ŷ);
* naive, every path multiplied out on its own: a weight of layer k has
  P_k = n_(k+1) ··· n_K paths of K - k + 2 factors, so the total is
  ``Σ_k n_(k-1) n_k P_k (K - k + 1)``; with n_0 = ... = n_d = w this is
  ``Σ_{m=1}^{d+1} m w^m`` = ``w (1 - (d+2) w^(d+1) + (d+1) w^(d+2)) / (1 - w)²``
  for w ≠ 1 and ``(d+1)(d+2)/2`` for w = 1;
* backprop (each adjoint once, reused): one multiplication per unit-to-unit edge for the
  adjoints plus one per weight, ``Σ_{m=1}^{K-1} n_m n_(m+1) + Σ_k n_(k-1) n_k``; for the
  uniform net ``(2d - 1) w² + 2w``, linear in the number of edges.

For w ≥ 2 the ratio grows like ``w^d / (2 (w - 1))``: exponential against linear, the
blow-up the notes say memoization removes. Every count is an exact integer and the ratio an
exact fraction, at any depth (a float would overflow past 1.8e308, near depth 310 at width 10).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction

from memograd.explain.arch import Architecture, parse_arch

_FLOAT_MAX = Fraction(sys.float_info.max)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


def uniform_arch(width: int, depth: int, inputs: int | None = None) -> Architecture:
    """``inputs-w-...-w-1`` with ``depth`` hidden layers of ``width`` (inputs defaults to width)."""
    _check_positive("width", width)
    _check_positive("depth", depth)
    if inputs is None:
        inputs = width
    _check_positive("inputs", inputs)
    return Architecture((inputs, *([width] * depth), 1))


def weight_count(arch: Architecture | str | Sequence[int]) -> int:
    """Number of weights W^k_ij (biases not included): Σ_k n_(k-1) n_k."""
    sizes = parse_arch(arch).sizes
    return sum(sizes[k - 1] * sizes[k] for k in range(1, len(sizes)))


def naive_multiplications(arch: Architecture | str | Sequence[int]) -> int:
    """Multiplications to get every weight's gradient by summing path products separately.

    ``Σ_k n_(k-1) n_k · P_k · (K - k + 1)`` with ``P_k = Π_{m=k+1}^{K} n_m`` paths per weight
    of layer k, each a product of K - k + 2 factors.
    """
    sizes = parse_arch(arch).sizes
    depth = len(sizes) - 1
    total, paths_above = 0, 1
    for k in range(depth, 0, -1):  # P_k built from the top, as a running product
        total += sizes[k - 1] * sizes[k] * paths_above * (depth - k + 1)
        paths_above *= sizes[k]
    return total


def backprop_multiplications(arch: Architecture | str | Sequence[int]) -> int:
    """Multiplications of one backward sweep giving every weight's gradient.

    One per unit-to-unit edge (adjoint of a unit from the adjoints above it; the input
    layer's adjoints are not needed) plus one per weight (adjoint × ∂O_kj/∂W^k_ij):
    ``Σ_{m=1}^{K-1} n_m n_(m+1) + Σ_k n_(k-1) n_k``.
    """
    arch = parse_arch(arch)
    sizes = arch.sizes
    depth = len(sizes) - 1
    unit_edges = sum(sizes[m] * sizes[m + 1] for m in range(1, depth))
    return unit_edges + weight_count(arch)


def paths_per_first_layer_weight(width: int, depth: int) -> int:
    """``w^(d-1)``: a first-layer weight reaches Ŷ through one unit of each hidden layer 2..d."""
    _check_positive("width", width)
    _check_positive("depth", depth)
    return width ** (depth - 1)


def naive_multiplications_closed_form(width: int, depth: int) -> int:
    """``Σ_{m=1}^{d+1} m w^m`` in closed form (the uniform net with inputs = width)."""
    _check_positive("width", width)
    _check_positive("depth", depth)
    w, d = width, depth
    if w == 1:
        return (d + 1) * (d + 2) // 2
    numerator = w * (1 - (d + 2) * w ** (d + 1) + (d + 1) * w ** (d + 2))
    return numerator // ((1 - w) ** 2)


def backprop_multiplications_closed_form(width: int, depth: int) -> int:
    """``(2d - 1) w² + 2w`` (the uniform net with inputs = width)."""
    _check_positive("width", width)
    _check_positive("depth", depth)
    return (2 * depth - 1) * width * width + 2 * width


@dataclass(frozen=True)
class CostRow:
    """One depth of the cost table; every count is an exact Python int."""

    depth: int
    width: int
    arch: str
    weights: int
    paths_per_first_layer_weight: int
    naive_multiplications: int
    backprop_multiplications: int
    naive_seconds: float | None = None  # filled by a measurement, when one was made
    sweep_seconds: float | None = None

    @property
    def ratio(self) -> Fraction:
        """naive / backprop multiplications: how many times more work the naive sum does.

        An exact fraction: at width 3 and depth 1000 it is about 1.1e+476, past any float.
        """
        return Fraction(self.naive_multiplications, self.backprop_multiplications)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: every count an exact integer; ``ratio`` a float while one can hold it
        (None beyond 1.8e308) and ``ratio_exact`` the exact fraction, in lowest terms."""
        document = asdict(self)
        ratio = self.ratio
        document["ratio"] = float(ratio) if ratio < _FLOAT_MAX else None
        document["ratio_exact"] = {"numerator": ratio.numerator, "denominator": ratio.denominator}
        return document


def cost_row(width: int, depth: int, inputs: int | None = None) -> CostRow:
    """The counts for one depth, from the general sums over layers."""
    arch = uniform_arch(width, depth, inputs)
    return CostRow(
        depth=depth,
        width=width,
        arch=arch.text,
        weights=weight_count(arch),
        paths_per_first_layer_weight=paths_per_first_layer_weight(width, depth),
        naive_multiplications=naive_multiplications(arch),
        backprop_multiplications=backprop_multiplications(arch),
    )


def cost_table(width: int, max_depth: int, inputs: int | None = None) -> list[CostRow]:
    """:func:`cost_row` for depths 1..max_depth."""
    _check_positive("width", width)
    _check_positive("max_depth", max_depth)
    return [cost_row(width, depth, inputs) for depth in range(1, max_depth + 1)]
