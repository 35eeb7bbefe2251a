"""The backward sweep of a small network, one adjoint at a time, for the step-by-step figure.

Backpropagation fills a memo table from the loss down: ``∂L/∂Ŷ`` first, then each unit's
adjoint ``∂L/∂O_kj = Σ_l ∂L/∂O_(k+1)l × ∂O_(k+1)l/∂O_kj``, which only reads adjoints already in
the table, and finally a parameter's gradient, one more product. Each :class:`SweepStep` records
what one step computes, which stored adjoints it reads, and the numbers. The local derivatives
come from the explainer's :class:`~memograd.explain.Network`, so the factors are the ones
``memograd paths`` prints; tests check the table against the engine's ``backward()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memograd.explain.symbols import param_text, partial_text, unit_text

UnitKey = tuple[int, int]  # (layer, unit), unit 1-based


@dataclass(frozen=True)
class Term:
    """One product of the step's sum: a stored adjoint times a local derivative."""

    adjoint_of: str  # symbol of the unit whose stored adjoint is read, e.g. "O_21"
    adjoint: float
    factor: str  # e.g. "∂O_21/∂O_11"
    factor_value: float


@dataclass(frozen=True)
class SweepStep:
    """One entry of the memo table being written."""

    number: int
    computes: str  # the symbol whose adjoint is computed: "Ŷ", "O_11", "W^1_11"
    key: UnitKey | str  # the unit, or "param" for the final gradient
    reads: tuple[UnitKey, ...]  # units whose stored adjoints this step reuses
    terms: tuple[Term, ...]
    value: float
    formula: str  # symbolic, e.g. "∂L/∂O_11 = ∂L/∂O_21 × ∂O_21/∂O_11 + ..."
    arithmetic: str  # the same with numbers

    def to_dict(self) -> dict[str, object]:
        return {
            "step": self.number,
            "computes": self.computes,
            "reads": [unit for unit in self.reads],
            "reuses": [term.adjoint_of for term in self.terms],
            "formula": self.formula,
            "arithmetic": self.arithmetic,
            "value": self.value,
        }


def _num(value: float) -> str:
    text = f"{value:.4g}"
    return f"({text})" if value < 0 else text


def backward_sweep(network: Any, ref: Any) -> list[SweepStep]:
    """The sweep for ``ref`` (a ``ParamRef``): every unit adjoint from the output down to
    ``ref``'s layer, in the order backprop computes them, then ``ref``'s own gradient.

    All units of each layer are computed, not only those ``ref`` needs, because that is what
    a sweep does: the same stored adjoints then serve every other weight of the network.
    """
    arch, forward = network.arch, network.forward
    depth, sizes = arch.depth, arch.sizes
    table: dict[UnitKey, float] = {}
    steps: list[SweepStep] = []
    residual_scale = "2" if network.loss == "squared" else "1"
    for j in range(1, sizes[depth] + 1):
        out = unit_text(arch, depth, j)
        target = "y" if arch.outputs == 1 else f"y_{j}"
        value = float(forward.loss_gradient[j - 1])
        table[(depth, j)] = value
        residual = float(forward.outputs[depth][j - 1] - network.target[j - 1])
        steps.append(
            SweepStep(
                number=len(steps) + 1,
                computes=out,
                key=(depth, j),
                reads=(),
                terms=(),
                value=value,
                formula=f"{partial_text('L', out)} = {residual_scale} × ({out} − {target})",
                arithmetic=f"= {residual_scale} × {_num(residual)} = {value:.4g}",
            )
        )
    for layer in range(depth - 1, ref.layer - 1, -1):
        for i in range(1, sizes[layer] + 1):
            name = unit_text(arch, layer, i)
            terms = []
            for j in range(1, sizes[layer + 1] + 1):
                above = unit_text(arch, layer + 1, j)
                terms.append(
                    Term(
                        above,
                        table[(layer + 1, j)],
                        partial_text(above, name),
                        network.unit_to_unit(layer + 1, i, j),
                    )
                )
            value = sum(t.adjoint * t.factor_value for t in terms)
            table[(layer, i)] = value
            steps.append(
                SweepStep(
                    number=len(steps) + 1,
                    computes=name,
                    key=(layer, i),
                    reads=tuple((layer + 1, j) for j in range(1, sizes[layer + 1] + 1)),
                    terms=tuple(terms),
                    value=value,
                    formula=f"{partial_text('L', name)} = "
                    + " + ".join(f"{partial_text('L', t.adjoint_of)} × {t.factor}" for t in terms),
                    arithmetic="= "
                    + " + ".join(f"{_num(t.adjoint)} × {_num(t.factor_value)}" for t in terms)
                    + f" = {value:.4g}",
                )
            )
    if ref.kind != "O":
        unit = unit_text(arch, ref.layer, ref.unit)
        symbol = param_text(arch, ref)
        adjoint = table[(ref.layer, ref.unit)]
        own = network.unit_to_param(ref)
        term = Term(unit, adjoint, partial_text(unit, symbol), own)
        steps.append(
            SweepStep(
                number=len(steps) + 1,
                computes=symbol,
                key="param",
                reads=((ref.layer, ref.unit),),
                terms=(term,),
                value=adjoint * own,
                formula=f"{partial_text('L', symbol)} = {partial_text('L', unit)} × {term.factor}",
                arithmetic=f"= {_num(adjoint)} × {_num(own)} = {adjoint * own:.4g}",
            )
        )
    return steps
