"""How the notes write each quantity, as plain text (Unicode) and as LaTeX.

Indices are run together when every one is a single digit (``O_21``, ``W^1_11``), as the
notes do, and separated by commas otherwise (``O_12,3``, ``W^{12}_{3,10}``) so that a
subscript is never ambiguous. The output unit is ``Ŷ`` (``Ŷ_j`` when there are several).
"""

from __future__ import annotations

from memograd.explain.arch import Architecture, ParamRef

LOSS_TEXT = "L"
LOSS_LATEX = "L"


def subscript(*indices: int) -> str:
    """Indices run together when all are single digits (``21``), else comma-separated."""
    if all(index < 10 for index in indices):
        return "".join(str(index) for index in indices)
    return ",".join(str(index) for index in indices)


def unit_text(arch: Architecture, layer: int, unit: int) -> str:
    """Text symbol of unit ``unit`` of ``layer`` (1-based): ``O_21``, ``Ŷ``, ``Ŷ_2``, ``x_1``."""
    if layer == 0:
        return f"x_{unit}"
    if layer == arch.depth:
        return "Ŷ" if arch.outputs == 1 else f"Ŷ_{unit}"
    return f"O_{subscript(layer, unit)}"


def unit_latex(arch: Architecture, layer: int, unit: int) -> str:
    """LaTeX symbol of a unit: ``O_{21}``, ``\\hat{Y}``, ``\\hat{Y}_{2}``, ``x_{1}``."""
    if layer == 0:
        return f"x_{{{unit}}}"
    if layer == arch.depth:
        return r"\hat{Y}" if arch.outputs == 1 else rf"\hat{{Y}}_{{{unit}}}"
    return f"O_{{{subscript(layer, unit)}}}"


def param_text(arch: Architecture, ref: ParamRef) -> str:
    """Text symbol of a parameter or unit: ``W^1_11``, ``b^2_1``, ``O_11``."""
    if ref.kind == "W":
        assert ref.source is not None
        return f"W^{ref.layer}_{subscript(ref.source, ref.unit)}"
    if ref.kind == "b":
        return f"b^{ref.layer}_{ref.unit}"
    return unit_text(arch, ref.layer, ref.unit)


def param_latex(arch: Architecture, ref: ParamRef) -> str:
    """LaTeX symbol of a parameter or unit: ``W^{1}_{11}``, ``b^{2}_{1}``, ``O_{11}``."""
    if ref.kind == "W":
        assert ref.source is not None
        return f"W^{{{ref.layer}}}_{{{subscript(ref.source, ref.unit)}}}"
    if ref.kind == "b":
        return f"b^{{{ref.layer}}}_{{{ref.unit}}}"
    return unit_latex(arch, ref.layer, ref.unit)


def partial_text(numerator: str, denominator: str) -> str:
    """``∂num/∂den``, the notes' inline form of a partial derivative."""
    return f"∂{numerator}/∂{denominator}"


def partial_latex(numerator: str, denominator: str) -> str:
    """``\\frac{\\partial num}{\\partial den}``."""
    return rf"\frac{{\partial {numerator}}}{{\partial {denominator}}}"
