"""Each loss against PyTorch: values and gradients, both reductions, and its target checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memograd as mg
from memograd.nn import functional as F


def pair(shape, seed, scale=1.0):
    x = (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)
    return mg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("as_type", [np.asarray, list, mg.Tensor])
def test_cross_entropy_matches_torch(reduction, as_type):
    x, tx = pair((6, 4), 0)
    targets = np.array([0, 3, 1, 2, 3, 0])
    loss = F.cross_entropy(x, as_type(targets), reduction=reduction)
    tloss = torch.nn.functional.cross_entropy(tx, torch.from_numpy(targets), reduction=reduction)
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-6)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_cross_entropy_is_finite_for_huge_logits_with_softmax_minus_onehot_gradient():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    x = mg.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, [1, 0], reduction="sum")
    tloss = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor([1, 0]), reduction="sum"
    )
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(tloss.item(), rel=1e-6)
    loss.backward()
    expected = np.array([[1.0, -1.0, 0.0], [-1.0, 0.5, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(x.grad, expected, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_binary_cross_entropy_with_logits_matches_torch(reduction):
    x, tx = pair((5, 3), 1, scale=4.0)
    x.data[0, 0] = tx.data[0, 0] = 0.0  # the exact midpoint: gradient must be sigmoid(0) - t
    x.data[0, 1] = tx.data[0, 1] = 80.0  # e^80 overflows float32 unless handled
    t = np.random.default_rng(2).uniform(size=(5, 3)).astype(np.float32)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
    tloss = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.from_numpy(t), reduction=reduction
    )
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_matches_torch(reduction):
    x, tx = pair((7, 2), 3)
    t = np.random.default_rng(4).normal(size=(7, 2)).astype(np.float32)
    loss = F.mse_loss(x, t, reduction=reduction)
    tloss = torch.nn.functional.mse_loss(tx, torch.from_numpy(t), reduction=reduction)
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-6)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hinge_matches_the_clamped_margin_in_torch(reduction):
    x, tx = pair((9,), 5, scale=2.0)
    y = np.array([1, -1, 1, 1, -1, -1, 1, -1, 1], dtype=np.float32)
    loss = F.hinge_loss(x, y, reduction=reduction)
    per_point = torch.clamp(1 - torch.from_numpy(y) * tx, min=0)
    tloss = per_point.mean() if reduction == "mean" else per_point.sum()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-6)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_hinge_equals_micrograds_formula_on_values():
    scores = np.array([0.3, -2.0, 1.5])
    y = np.array([1, 1, -1])
    expected = np.mean([max(0.0, 1 - yi * si) for yi, si in zip(y, scores)])
    assert F.hinge_loss(mg.Tensor(scores), y).item() == pytest.approx(expected)


def test_reduction_none_gives_one_loss_per_row():
    x = mg.Tensor(np.zeros((3, 2), np.float32))
    np.testing.assert_allclose(F.cross_entropy(x, [0, 1, 0], reduction="none").data, np.log(2))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x: F.cross_entropy(x, [0, 1, 9]),
            "targets[2] = 9 is not a class index for 4 classes (0..3)",
        ),
        (lambda x: F.cross_entropy(x, [0, 1, -1]), "targets[2] = -1 is not a class index"),
        (lambda x: F.cross_entropy(x, [0.0, 1.5, 2.0]), "targets must be integer class indices"),
        (lambda x: F.cross_entropy(x, [0, 1]), "2 targets for 3 rows of logits"),
        (lambda x: F.cross_entropy(x, ["a", "b", "c"]), "targets must be numbers, got dtype <U1"),
        (
            lambda x: F.cross_entropy(x, [0, 1, 2], reduction="avg"),
            "reduction must be one of mean, sum, none",
        ),
        (
            lambda x: F.mse_loss(x, np.ones((3, 3))),
            "targets of shape (3, 3) do not match predictions of shape (3, 4)",
        ),
        (lambda x: F.mse_loss(x, np.full((3, 4), np.nan)), "targets[0, 0] is not finite"),
        (lambda x: F.hinge_loss(x[:, 0], [1, 0, -1]), "targets[1] = 0.0; labels must be -1 or +1"),
        (
            lambda x: F.binary_cross_entropy_with_logits(x[:, 0], [1, 2, 0]),
            "targets[1] = 2.0 is outside [0, 1]",
        ),
    ],
)
def test_bad_targets_are_named_by_position(call, message):
    with pytest.raises((ValueError, TypeError)) as info:
        call(mg.Tensor(np.zeros((3, 4), np.float32)))
    assert message in str(info.value)
