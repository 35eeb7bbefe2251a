"""The explainer's activations are the derivative table's: same forward, same derivative."""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg
from memograd.engine import ops
from memograd.explain.network import ACTIVATIONS, activate, activation_derivative


def test_every_table_activation_is_an_explainer_activation():
    assert set(ops.ACTIVATIONS) | {"identity"} == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ops.ACTIVATIONS))
def test_forward_and_derivative_equal_the_engines(name):
    z = np.linspace(-3, 3, 13)
    x = mg.Tensor(z, requires_grad=True)
    out = getattr(x, name)()
    out.sum().backward()
    np.testing.assert_allclose(activate(name, z), out.data, rtol=1e-15, atol=0)
    np.testing.assert_allclose(activation_derivative(name, z, out.data), x.grad, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(ops.ACTIVATIONS))
def test_the_explainer_runs_every_activation_and_agrees_with_finite_differences(name):
    e = mg.explain.explain("2-3-2-1", "W1_11", seed=0, activation=name)
    assert e.naive_gradient == pytest.approx(e.memo_gradient, rel=1e-9, abs=1e-12)
    assert e.memo_gradient == pytest.approx(e.finite_difference, rel=1e-5, abs=1e-8)
