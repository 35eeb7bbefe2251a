"""The chain-rule sum of one parameter, laid out as the notes write it, in text and LaTeX.

    ∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21 × ∂O_21/∂O_11 × ∂O_11/∂W^1_11
                         + ∂Ŷ/∂O_22 × ∂O_22/∂O_11 × ∂O_11/∂W^1_11 ]

(on one line). ``∂L/∂Ŷ`` is common to every path ending in the same output unit, so it
is written once in front of the bracket; with several outputs there is one bracket per
output unit. When the paths are more than ``max_terms``, each bracket keeps its first
terms and its last one around an ellipsis and the count is appended (exact up to 40 digits,
then ``about 4.41e+476 paths, 477 digits``): the formula stays readable while the count shows how
much work the naive sum would do.
"""

from __future__ import annotations

from dataclasses import dataclass

from memograd._numbers import digit_count, is_exact_in_text, scientific
from memograd.explain.arch import Architecture, ParamRef
from memograd.explain.paths import FactorSymbol, count_paths, route_at, route_symbols
from memograd.explain.symbols import LOSS_LATEX, LOSS_TEXT, param_latex, param_text

DEFAULT_MAX_TERMS = 8
_HEAD_TERMS = 2  # terms kept before the ellipsis in an elided bracket


@dataclass(frozen=True)
class _Group:
    """The paths that end in one output unit: ∂L/∂Ŷ_j [ term + term + ... ]."""

    lead: FactorSymbol
    terms: list[tuple[FactorSymbol, ...]]
    elided: bool  # True when terms holds the head and the last term of a longer list
    count: int


def _groups(arch: Architecture, ref: ParamRef, max_terms: int) -> tuple[list[_Group], bool, int]:
    total = count_paths(arch, ref)
    # Routes are ordered with the output unit varying fastest, so the paths ending in
    # output j are the indices j-1, j-1+n, j-1+2n, ... (n output units; 1 when ref is
    # in the output layer, since it reaches one output only).
    outputs = 1 if ref.layer == arch.depth else arch.outputs
    per_group = total // outputs
    elide = total > max_terms
    if elide:
        shown_outputs = [*range(min(outputs, _HEAD_TERMS)), *([outputs - 1] * (outputs > 2))]
        shown_outputs = sorted(set(shown_outputs))
    else:
        shown_outputs = list(range(outputs))
    groups = []
    for out in shown_outputs:
        if elide and per_group > _HEAD_TERMS + 1:
            positions = [*range(_HEAD_TERMS), per_group - 1]
        else:
            positions = list(range(per_group))
        symbol_lists = [
            route_symbols(arch, ref, route_at(arch, ref, position * outputs + out))
            for position in positions
        ]
        groups.append(
            _Group(
                lead=symbol_lists[0][0],
                terms=[symbols[1:] for symbols in symbol_lists],
                elided=len(positions) < per_group,
                count=per_group,
            )
        )
    return groups, len(shown_outputs) < outputs, total


def _count_latex(count: int) -> str:
    r"""``100{,}000`` in full while short (as in the text), ``\approx 4.41 \times 10^{476}``."""
    if is_exact_in_text(count):
        return f"{count:,}".replace(",", "{,}")
    mantissa, exponent = scientific(count).split("e")
    return rf"\approx {mantissa} \times 10^{{{int(exponent)}}}"


def chain_rule_text(
    arch: Architecture, ref: ParamRef, *, max_terms: int = DEFAULT_MAX_TERMS
) -> str:
    """The chain-rule sum for ``ref`` on one line, e.g. ``∂L/∂W^1_11 = ∂L/∂Ŷ [ ... + ... ]``."""
    check_max_terms(max_terms)
    groups, groups_elided, total = _groups(arch, ref, max_terms)
    rendered = []
    for group in groups:
        terms = [" × ".join(symbol.text for symbol in term) for term in group.terms]
        if group.elided:
            terms = [*terms[:-1], "…", terms[-1]]
        if terms == [""]:  # ref is the output itself: nothing beyond ∂L/∂Ŷ
            rendered.append(group.lead.text)
        else:
            rendered.append(f"{group.lead.text} [ {' + '.join(terms)} ]")
    if groups_elided:
        rendered = [*rendered[:-1], "…", rendered[-1]]
    text = f"∂{LOSS_TEXT}/∂{param_text(arch, ref)} = {' + '.join(rendered)}"
    if total > max_terms:
        if is_exact_in_text(total):
            text += f"   ({total:,} paths)"
        else:
            text += f"   (about {scientific(total)} paths, {digit_count(total):,} digits)"
    return text


def chain_rule_latex(
    arch: Architecture, ref: ParamRef, *, max_terms: int = DEFAULT_MAX_TERMS
) -> str:
    r"""The same sum in LaTeX: ``\frac{\partial L}{\partial W^{1}_{11}} = ...``."""
    check_max_terms(max_terms)
    groups, groups_elided, total = _groups(arch, ref, max_terms)
    rendered = []
    for group in groups:
        terms = [r" \times ".join(symbol.latex for symbol in term) for term in group.terms]
        if group.elided:
            terms = [*terms[:-1], r"\cdots", terms[-1]]
        if terms == [""]:
            rendered.append(group.lead.latex)
        else:
            rendered.append(rf"{group.lead.latex} \left[ {' + '.join(terms)} \right]")
    if groups_elided:
        rendered = [*rendered[:-1], r"\cdots", rendered[-1]]
    lhs = rf"\frac{{\partial {LOSS_LATEX}}}{{\partial {param_latex(arch, ref)}}}"
    latex = f"{lhs} = {' + '.join(rendered)}"
    if total > max_terms:
        latex += rf" \qquad ({_count_latex(total)}\ \text{{paths}})"
    return latex


def check_max_terms(max_terms: int) -> None:
    if isinstance(max_terms, bool) or not isinstance(max_terms, int) or max_terms < 1:
        raise ValueError(f"max_terms must be a whole number >= 1, got {max_terms!r}")
