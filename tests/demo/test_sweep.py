"""The step-by-step backward sweep agrees with the explainer's memo table and the engine."""

from __future__ import annotations

import pytest

import memograd as mg
from memograd.demo.sweep import backward_sweep


@pytest.mark.parametrize(
    ("arch", "param"), [("2-2-2-1", "W1_11"), ("3-4-2-2", "W1_32"), ("2-3-3-1", "b2_2")]
)
def test_sweep_values_are_the_engine_adjoints_and_the_explainer_gradient(arch, param):
    explanation = mg.explain.explain(arch, param, seed=5)
    network, ref = explanation.network, explanation.ref
    steps = backward_sweep(network, ref)
    graph = mg.explain.build_value_graph(network)
    graph.loss.backward()
    for step in steps[:-1]:
        layer, unit = step.key
        assert step.value == pytest.approx(graph.units[layer][unit - 1].grad, rel=1e-12)
        if step.computes in explanation.memo.adjoints:
            assert step.value == pytest.approx(explanation.memo.adjoints[step.computes])
    assert steps[-1].value == pytest.approx(explanation.memo_gradient, rel=1e-12)
    assert steps[-1].value == pytest.approx(explanation.finite_difference, rel=1e-5)


def test_each_step_reads_only_stored_adjoints_and_every_unit_once():
    explanation = mg.explain.explain("2-2-2-1", "W1_11", seed=0)
    steps = backward_sweep(explanation.network, explanation.ref)
    assert [s.computes for s in steps] == ["Ŷ", "O_21", "O_22", "O_11", "O_12", "W^1_11"]
    stored: set = set()
    for step in steps:
        assert set(step.reads) <= stored
        assert step.key not in stored
        stored.add(step.key)
    assert steps[3].formula == "∂L/∂O_11 = ∂L/∂O_21 × ∂O_21/∂O_11 + ∂L/∂O_22 × ∂O_22/∂O_11"
    assert [t.adjoint_of for t in steps[3].terms] == ["O_21", "O_22"]
    term = steps[3].terms[0]
    assert term.factor_value == explanation.network.unit_to_unit(2, 1, 1)
