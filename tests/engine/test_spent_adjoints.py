"""A unary op's VJP writes into its incoming adjoint when nothing else holds that array.

The sweep decides by reference count (``graph._SPENT_REFS``). These tests check the three
things that matter: the gradients are the out-of-place ones bit for bit, an adjoint that is
also somebody's gradient (or another node's adjoint) is never overwritten, and the saving is
real (one array less at the peak of a backward pass, per op, counted with tracemalloc).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import memograd as mg
from memograd.engine import graph


@pytest.fixture
def out_of_place(monkeypatch):
    """Run a backward pass with the in-place VJPs switched off (the reference)."""

    def run(fn):
        monkeypatch.setattr(graph, "_SPENT_REFS", None)
        try:
            return fn()
        finally:
            monkeypatch.undo()

    return run


def _chain_grads(x0: np.ndarray, w0: np.ndarray) -> list[bytes]:
    x = mg.tensor(x0, requires_grad=True)
    w = mg.tensor(w0, requires_grad=True)
    h = (x @ w).relu()
    h = (h @ w).tanh()
    h = (h @ w).sigmoid().exp()
    (h * h).sum().backward()
    return [x.grad.tobytes(), w.grad.tobytes()]


def test_gradients_equal_the_out_of_place_ones_bit_for_bit(out_of_place):
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(16, 8)).astype(np.float32)
    w0 = rng.normal(size=(8, 8)).astype(np.float32)
    assert _chain_grads(x0, w0) == out_of_place(lambda: _chain_grads(x0, w0))


def test_an_adjoint_that_is_also_a_leaf_gradient_is_not_overwritten():
    # add hands the same adjoint array to both inputs: x keeps it as its gradient, and the
    # relu below y must not multiply its mask into it, whichever of the two the sweep visits
    # first.
    x = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    u = mg.tensor(-np.ones((4, 3), np.float32), requires_grad=True)
    (x + u.relu()).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((4, 3)))
    np.testing.assert_array_equal(u.grad, np.zeros((4, 3)))
    u2 = mg.tensor(-np.ones((4, 3), np.float32), requires_grad=True)
    x2 = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    (u2.relu() + x2).sum().backward()
    np.testing.assert_array_equal(x2.grad, np.ones((4, 3)))


def test_a_gradient_given_by_the_caller_is_not_overwritten():
    x = mg.tensor(-np.ones(5), requires_grad=True)
    seed = np.full(5, 2.0)
    x.relu().backward(seed)
    np.testing.assert_array_equal(seed, np.full(5, 2.0))
    np.testing.assert_array_equal(x.grad, np.zeros(5))


def test_a_view_of_an_adjoint_is_not_written_through():
    # reshape's VJP returns a view of its adjoint, which the add also hands to x's other
    # path: writing the relu's mask into the view would change x's gradient.
    x = mg.tensor(-np.ones((2, 3)), requires_grad=True)
    y = x.reshape(6)
    (x.reshape(6) + y.relu()).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def _backward_peak(n: int, depth: int) -> int:
    x = mg.tensor(np.linspace(-1, 1, n), requires_grad=True)
    h = x
    for _ in range(depth):
        h = h.relu()
    loss = h.sum()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_the_spent_adjoint_saves_an_array_per_op(out_of_place):
    n, depth = 1 << 16, 6  # 512 kB per float64 array
    in_place = _backward_peak(n, depth)
    reference = out_of_place(lambda: _backward_peak(n, depth))
    array = n * 8
    # Out of place, each relu VJP holds g, its mask and g * mask at once; in place, the
    # product goes into g: one whole array less at the peak.
    assert reference - in_place >= 0.95 * array  # (less a few bytes of Python objects)
