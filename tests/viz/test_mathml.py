"""The notes' notation as MathML and as Unicode."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from memograd.viz.mathml import math, unicode_expression, unicode_symbol

NOTES = (
    "∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21 × ∂O_21/∂O_11 × ∂O_11/∂W^1_11 "
    "+ ∂Ŷ/∂O_22 × ∂O_22/∂O_11 × ∂O_11/∂W^1_11 ]"
)


def _text(element) -> str:
    return "".join(element.itertext())


def test_the_notes_formula_has_one_fraction_per_partial_derivative():
    root = ET.fromstring(math(NOTES))
    fractions = list(root.iter("mfrac"))
    assert len(fractions) == NOTES.count("∂") // 2 == 8
    first = fractions[0]
    numerator, denominator = list(first)
    assert _text(numerator) == "∂L"
    w = denominator.find("msubsup")
    # msubsup children: base, subscript, superscript.
    assert [_text(c) for c in w] == ["W", "11", "1"]
    assert [o.text for o in root.iter("mo")].count("+") == 1
    assert root.get("display") == "block" and root.get("aria-label") == NOTES


def test_braced_latex_style_indices_and_words_are_understood():
    root = ET.fromstring(math("W^{12}_{3,10} over 1024 paths", block=False))
    sub_sup = root.find(".//msubsup")
    assert [_text(c) for c in sub_sup] == ["W", "3,10", "12"]
    assert [t.text for t in root.iter("mtext")] == ["over", "paths"]
    assert [n.text for n in root.iter("mn") if n.text == "1024"] == ["1024"]
    assert root.get("display") is None


def test_unicode_forms_for_svg_labels():
    assert unicode_symbol("W^1_11") == "W¹₁₁"
    assert unicode_symbol("O_21") == "O₂₁"
    assert unicode_symbol("b^2_1") == "b²₁"
    assert unicode_symbol("Ŷ") == "Ŷ"
    assert unicode_expression("∂L/∂O_11 × σ'(z_11)") == "∂L/∂O₁₁ × σ'(z₁₁)"
