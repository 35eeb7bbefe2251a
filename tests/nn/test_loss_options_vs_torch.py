"""Every loss module and every option against PyTorch: values and gradients, float32 and float64.

Each case builds the memograd loss module and torch's with the same arguments, calls both on
the same input and target, and compares the loss and the input's gradient (and the target's,
where the target requires grad).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import nn
from memograd.nn import functional as F

DTYPES = [(np.float32, 2e-6), (np.float64, 1e-12)]
IDS = ["float32", "float64"]
REDUCTIONS = ["mean", "sum", "none"]
RNG = np.random.default_rng(0)
CLASS_WEIGHT = np.array([0.3, 1.0, 2.5, 0.7])


def compare(ours, theirs, x, target, dtype, tol, target_grad=False):
    mx = mg.tensor(x.astype(dtype), requires_grad=True)
    tx = torch.tensor(x.astype(dtype), requires_grad=True)
    if target_grad:
        mt = mg.tensor(target.astype(dtype), requires_grad=True)
        tt = torch.tensor(target.astype(dtype), requires_grad=True)
    else:
        if target.dtype.kind == "f":
            target = target.astype(dtype)
        mt, tt = target, torch.from_numpy(target)
    loss, tloss = ours(mx, mt), theirs(tx, tt)
    assert loss.data.dtype == dtype
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=tol, atol=tol)
    upstream = np.random.default_rng(5).normal(size=loss.data.shape).astype(dtype)
    (loss * mg.tensor(upstream)).sum().backward()
    tloss.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    if target_grad:
        np.testing.assert_allclose(mt.grad, tt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def torch_options(options):
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}


CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": CLASS_WEIGHT},
    "ignore": {"ignore_index": -100},
    "ignore-a-class": {"ignore_index": 2},
    "smoothing": {"label_smoothing": 0.15},
    "all": {"weight": CLASS_WEIGHT, "ignore_index": 1, "label_smoothing": 0.2},
}
CE_SHAPES = {
    "2d": ((6, 4), [0, 3, -100, 1, 2, 2]),
    "1d": ((4,), 3),
    "k-dim": ((3, 4, 2, 2), [[[0, 1], [2, -100]], [[3, 3], [1, 0]], [[2, 2], [2, 1]]]),
}


@pytest.mark.parametrize(("dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS.values(), ids=CE_OPTIONS.keys())
@pytest.mark.parametrize("shape", CE_SHAPES.values(), ids=CE_SHAPES.keys())
def test_cross_entropy_loss_with_class_indices(dtype, tol, reduction, options, shape):
    input_shape, target = shape
    target = np.where(np.array(target) == -100, options.get("ignore_index", 0), target)
    target = target.astype(np.int64)
    x = RNG.normal(size=input_shape) * 2
    ours = nn.CrossEntropyLoss(reduction=reduction, **options)
    theirs = torch.nn.CrossEntropyLoss(reduction=reduction, **torch_options(options))
    if "weight" in options:
        theirs.weight = theirs.weight.to(torch.float64 if dtype == np.float64 else torch.float32)
    compare(ours, theirs, x, target, dtype, tol)


@pytest.mark.parametrize(("dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight": CLASS_WEIGHT},
        {"label_smoothing": 0.1},
        {"weight": CLASS_WEIGHT, "label_smoothing": 0.3},
    ],
    ids=["plain", "weight", "smoothing", "both"],
)
@pytest.mark.parametrize("input_shape", [(5, 4), (2, 4, 3)], ids=["2d", "k-dim"])
@pytest.mark.parametrize("target_grad", [False, True], ids=["constant", "target-grad"])
def test_cross_entropy_loss_with_class_probabilities(
    dtype, tol, reduction, options, input_shape, target_grad
):
    x = RNG.normal(size=input_shape)
    probabilities = torch.softmax(torch.from_numpy(RNG.normal(size=input_shape)), dim=1).numpy()
    ours = nn.CrossEntropyLoss(reduction=reduction, **options)
    theirs = torch.nn.CrossEntropyLoss(reduction=reduction, **torch_options(options))
    if "weight" in options:
        theirs.weight = theirs.weight.to(torch.float64 if dtype == np.float64 else torch.float32)
    compare(ours, theirs, x, probabilities, dtype, tol, target_grad=target_grad)


@pytest.mark.parametrize(("dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight": CLASS_WEIGHT},
        {"ignore_index": 0},
        {"weight": CLASS_WEIGHT, "ignore_index": 3},
    ],
    ids=["plain", "weight", "ignore", "both"],
)
@pytest.mark.parametrize("shape", [CE_SHAPES["2d"], CE_SHAPES["k-dim"]], ids=["2d", "k-dim"])
def test_nll_loss_of_log_softmax(dtype, tol, reduction, options, shape):
    input_shape, target = shape
    target = np.where(np.array(target) == -100, 1, target).astype(np.int64)
    x = torch.log_softmax(torch.from_numpy(RNG.normal(size=input_shape)), dim=1).numpy()
    ours = nn.NLLLoss(reduction=reduction, **options)
    theirs = torch.nn.NLLLoss(reduction=reduction, **torch_options(options))
    if "weight" in options:
        theirs.weight = theirs.weight.to(torch.float64 if dtype == np.float64 else torch.float32)
    compare(ours, theirs, x, target, dtype, tol)


@pytest.mark.parametrize(("dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"pos_weight": np.array([0.5, 2.0, 3.0])},
        {"weight": np.array([[1.0], [0.5], [2.0], [0.0]])},
        {"weight": np.array([1.0, 2.0, 0.5]), "pos_weight": np.array([4.0, 1.0, 0.25])},
    ],
    ids=["plain", "pos_weight", "weight", "both"],
)
@pytest.mark.parametrize("target_grad", [False, True], ids=["constant", "target-grad"])
def test_bce_with_logits_loss(dtype, tol, reduction, options, target_grad):
    x = RNG.normal(size=(4, 3)) * 4
    x[0, 0] = 0.0  # the kink of softplus
    x[1, 1] = 40.0  # far tails: no overflow
    x[2, 2] = -40.0
    target = RNG.uniform(size=(4, 3))
    target[0] = [0.0, 1.0, 1.0]
    ours = nn.BCEWithLogitsLoss(reduction=reduction, **options)
    theirs = torch.nn.BCEWithLogitsLoss(
        reduction=reduction,
        **{
            k: torch.tensor(v, dtype=torch.float64 if dtype == np.float64 else torch.float32)
            for k, v in options.items()
        },
    )
    compare(ours, theirs, x, target, dtype, tol, target_grad=target_grad)


@pytest.mark.parametrize(("dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.MSELoss, torch.nn.MSELoss),
        (nn.L1Loss, torch.nn.L1Loss),
        (nn.HuberLoss, torch.nn.HuberLoss),
        (lambda **k: nn.HuberLoss(delta=0.3, **k), lambda **k: torch.nn.HuberLoss(delta=0.3, **k)),
        (lambda **k: nn.HuberLoss(delta=2.5, **k), lambda **k: torch.nn.HuberLoss(delta=2.5, **k)),
    ],
    ids=["mse", "l1", "huber", "huber-0.3", "huber-2.5"],
)
@pytest.mark.parametrize("target_grad", [False, True], ids=["constant", "target-grad"])
def test_regression_losses(dtype, tol, reduction, ours, theirs, target_grad):
    x = RNG.normal(size=(5, 3)) * 2
    target = RNG.normal(size=(5, 3)) * 2
    target[0, 0] = x[0, 0]  # d = 0: the kink of |d|
    target[1, 1] = x[1, 1] - 0.3  # |d| = delta for huber-0.3 (torch takes the linear piece)
    compare(
        ours(reduction=reduction), theirs(reduction=reduction), x, target, dtype, tol, target_grad
    )


def test_the_fused_cross_entropy_and_the_composed_one_agree():
    """Plain targets take the engine's fused op, options the composition: same numbers."""
    x = RNG.normal(size=(7, 5))
    t = RNG.integers(0, 5, size=7)
    for reduction in REDUCTIONS:
        fused = F.cross_entropy(mg.tensor(x, requires_grad=True), t, reduction=reduction)
        assert fused.op == "cross_entropy"
        logits = mg.tensor(x, requires_grad=True)
        composed = F.cross_entropy(logits, t, np.ones(5), reduction=reduction)
        assert composed.op != "cross_entropy"
        np.testing.assert_allclose(composed.data, fused.data, rtol=1e-13)


def test_loss_modules_print_save_and_describe_their_weights_as_pytorch(tmp_path):
    ours = nn.CrossEntropyLoss(weight=CLASS_WEIGHT, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(CLASS_WEIGHT), label_smoothing=0.1)
    assert repr(ours) == repr(theirs) == "CrossEntropyLoss()"
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    bce = nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0])
    assert list(bce.state_dict()) == list(
        torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)).state_dict()
    )
    ours.save(tmp_path / "loss.npz")
    loaded = nn.load(tmp_path / "loss.npz")
    np.testing.assert_array_equal(loaded.weight, CLASS_WEIGHT)
    assert loaded.label_smoothing == 0.1 and loaded.ignore_index == -100


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: F.cross_entropy(np.ones((3, 4)), [2, 1, 4], ignore_index=2),
            r"targets\[2\] = 4 is not a class index for 4 classes \(0..3\) nor ignore_index \(2\)",
        ),
        (
            lambda: F.cross_entropy(np.ones((3, 4)), [0, -100, 9]),
            r"targets\[2\] = 9 is not a class index",
        ),
        (
            lambda: F.cross_entropy(np.ones((3, 4)), [0, 1, 2], np.ones(3)),
            r"one entry per class \(4,\)",
        ),
        (
            lambda: nn.CrossEntropyLoss(label_smoothing=1.5),
            r"label_smoothing must be a number in \[0, 1\]",
        ),
        (lambda: nn.CrossEntropyLoss(reduction="avg"), "reduction must be one of mean, sum, none"),
        (lambda: nn.HuberLoss(delta=0), "delta must be a number > 0"),
        (
            lambda: F.cross_entropy(np.ones((2, 4, 3)), np.zeros((2, 4), dtype=int)),
            r"targets of shape \(2, 4\) do not match input of shape \(2, 4, 3\) \(expected",
        ),
        (
            lambda: F.binary_cross_entropy_with_logits(
                np.ones((2, 3)), np.ones((2, 3)), pos_weight=np.ones(2)
            ),
            r"pos_weight of shape \(2,\) does not broadcast to the input \(2, 3\)",
        ),
        (lambda: F.mse_loss(np.ones((2, 3)), np.ones(3)), r"targets of shape \(3,\) do not match"),
        (lambda: F.l1_loss(np.ones(3), [1.0, np.inf, 0.0]), r"targets\[1\] is not finite"),
    ],
)
def test_bad_loss_arguments_are_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_every_target_ignored_gives_nan_as_in_pytorch():
    x = RNG.normal(size=(2, 3))
    t = np.array([-100, -100])
    ours = F.cross_entropy(x, t)
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
    assert np.isnan(ours.item()) and np.isnan(theirs.item())
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
