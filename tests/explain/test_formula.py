"""The chain-rule formula in the notes' text layout and in LaTeX."""

import re

import pytest

from memograd.explain import chain_rule_latex, chain_rule_text, parse_arch, parse_param

NOTES = (
    "∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21 × ∂O_21/∂O_11 × ∂O_11/∂W^1_11 "
    "+ ∂Ŷ/∂O_22 × ∂O_22/∂O_11 × ∂O_11/∂W^1_11 ]"
)


def _balanced(latex: str) -> bool:
    depth = 0
    for char in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and latex.count(r"\left[") == latex.count(r"\right]")


def test_notes_formula_is_reproduced_exactly():
    arch = parse_arch("2-2-2-1")
    assert chain_rule_text(arch, parse_param("W1_11", arch)) == NOTES


def test_notes_formula_in_latex_has_the_expected_subscripts_and_balanced_braces():
    arch = parse_arch("2-2-2-1")
    latex = chain_rule_latex(arch, parse_param("W1_11", arch))
    assert latex.startswith(r"\frac{\partial L}{\partial W^{1}_{11}} = ")
    assert r"\frac{\partial L}{\partial \hat{Y}} \left[ " in latex
    assert r"\frac{\partial \hat{Y}}{\partial O_{21}}" in latex
    assert r"\frac{\partial O_{22}}{\partial O_{11}}" in latex
    assert latex.count(r"\frac{\partial O_{11}}{\partial W^{1}_{11}}") == 2
    assert latex.count(r"\times") == 4 and latex.count(" + ") == 1
    assert _balanced(latex)
    assert "_2" not in latex.replace("_{2", "")  # every subscript is braced


def test_multi_digit_indices_are_comma_separated():
    arch = parse_arch([4] * 13 + [10, 1])
    ref = parse_param("W13_3_10", arch)
    assert (
        chain_rule_text(arch, ref) == "∂L/∂W^13_3,10 = ∂L/∂Ŷ [ ∂Ŷ/∂O_13,10 × ∂O_13,10/∂W^13_3,10 ]"
    )
    latex = chain_rule_latex(arch, ref)
    assert r"W^{13}_{3,10}" in latex and r"O_{13,10}" in latex
    assert _balanced(latex)


def test_biases_units_and_the_output_itself():
    arch = parse_arch("2-2-2-1")
    assert chain_rule_text(arch, parse_param("b3_1", arch)) == "∂L/∂b^3_1 = ∂L/∂Ŷ [ ∂Ŷ/∂b^3_1 ]"
    assert chain_rule_text(arch, parse_param("O2_2", arch)) == "∂L/∂O_22 = ∂L/∂Ŷ [ ∂Ŷ/∂O_22 ]"
    assert chain_rule_text(arch, parse_param("O3_1", arch)) == "∂L/∂Ŷ = ∂L/∂Ŷ"
    assert chain_rule_latex(arch, parse_param("O3_1", arch)) == (
        r"\frac{\partial L}{\partial \hat{Y}} = \frac{\partial L}{\partial \hat{Y}}"
    )


def test_several_outputs_get_one_bracket_each():
    arch = parse_arch("1-2-2")
    text = chain_rule_text(arch, parse_param("W1_11", arch))
    assert text == (
        "∂L/∂W^1_11 = ∂L/∂Ŷ_1 [ ∂Ŷ_1/∂O_11 × ∂O_11/∂W^1_11 ] "
        "+ ∂L/∂Ŷ_2 [ ∂Ŷ_2/∂O_11 × ∂O_11/∂W^1_11 ]"
    )
    assert r"\hat{Y}_{2}" in chain_rule_latex(arch, parse_param("W1_11", arch))


def test_too_many_paths_are_elided_with_the_exact_count():
    arch = parse_arch([10] * 31 + [1])
    ref = parse_param("W1_11", arch)
    text = chain_rule_text(arch, ref)
    assert text.endswith("(100,000,000,000,000,000,000,000,000,000 paths)")
    assert text.count(" + ") == 3  # two head terms, the ellipsis, the last term
    assert " + … + " in text
    assert "∂O_30,10/∂O_29,10" in text  # the last path goes through unit 10 everywhere
    latex = chain_rule_latex(arch, ref)
    assert r"\cdots" in latex and _balanced(latex)
    assert r"(100{,}000{,}000{,}000{,}000{,}000{,}000{,}000{,}000{,}000\ \text{paths})" in latex


def test_elided_many_outputs_keep_first_and_last_brackets():
    arch = parse_arch("2-3-3-6")
    text = chain_rule_text(arch, parse_param("W1_11", arch), max_terms=4)
    brackets = re.findall(r"∂L/∂Ŷ_(\d) \[", text)
    assert brackets == ["1", "2", "6"]
    assert text.endswith("(18 paths)")


def test_max_terms_is_validated():
    arch = parse_arch("2-2-2-1")
    with pytest.raises(ValueError, match="max_terms"):
        chain_rule_text(arch, parse_param("W1_11", arch), max_terms=0)


@pytest.mark.parametrize(
    ("arch", "param"),
    [
        ("2-2-2-1", "W1_11"),
        ([10] * 31 + [1], "W1_11"),
        ("2-3-3-6", "b1_2"),
        ([4] * 13 + [10, 1], "W13_3_10"),
        ("2-2-2-1", "O3_1"),
    ],
)
def test_latex_is_accepted_by_a_real_tex_math_parser(arch, param):
    # matplotlib's mathtext implements TeX math syntax: it refuses unbalanced braces, unknown
    # commands and a \left without its \right, so it checks form beyond brace counting.
    from matplotlib.mathtext import MathTextParser

    arch = parse_arch(arch)
    latex = chain_rule_latex(arch, parse_param(param, arch), max_terms=4)
    MathTextParser("path").parse(f"${latex}$")
    without_last_brace = "".join(latex.rsplit("}", 1))
    with pytest.raises(ValueError):
        MathTextParser("path").parse(f"${without_last_brace}$")
