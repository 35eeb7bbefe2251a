"""mg.nn.utils.clip_grad_norm_ and clip_grad_value_ against torch.nn.utils."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import memograd as mg
from memograd.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = ((4, 3), (5,), (2, 2, 2), (1,))


def twins(dtype, seed=0, scale=1.0, missing=(3,)):
    """Parameters with the same gradients in both libraries (those in ``missing`` have none)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(SHAPES):
        grad = (scale * rng.normal(size=shape)).astype(dtype)
        p = mg.Tensor(np.zeros(shape, dtype), requires_grad=True)
        t = torch.zeros(shape, dtype=torch.float32 if dtype == np.float32 else torch.float64)
        t.requires_grad_(True)
        if i not in missing:
            p.grad, t.grad = grad.copy(), torch.from_numpy(grad.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.5, 0.5, -math.inf, 0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_equals_torch(dtype, norm_type, max_norm):
    ours, theirs = twins(dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(
        theirs, max_norm, norm_type=float(norm_type) if norm_type == "inf" else norm_type
    )
    assert isinstance(total, mg.Tensor) and total.shape == () and total.dtype == dtype
    tolerance = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(total.item(), expected.item(), rtol=tolerance)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=tolerance, atol=1e-30)


def test_the_gradients_are_scaled_in_place_to_the_largest_norm_allowed():
    ours, _ = twins(np.float64, scale=10.0)
    arrays = [p.grad for p in ours if p.grad is not None]
    before = clip_grad_norm_(ours, 2.0).item()
    assert before > 2.0
    after = clip_grad_norm_(ours, 2.0).item()
    assert after == pytest.approx(2.0, rel=1e-6)
    assert all(p.grad is a for p, a in zip([p for p in ours if p.grad is not None], arrays))


def test_a_model_and_a_generator_of_parameters_are_accepted_like_torch():
    mg.manual_seed(0)
    model = mg.nn.MLP([3, 4, 2])
    loss = model(mg.tensor(np.ones((2, 3), np.float32))).sum()
    loss.backward()
    norm = math.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in model.parameters()))
    total = mg.nn.utils.clip_grad_norm_(iter(model.parameters()), max_norm=1.0)
    assert total.item() == pytest.approx(norm, rel=1e-6)
    single = model.parameters()[0]
    assert clip_grad_norm_(single, 1e9).item() > 0


def test_no_gradients_give_a_zero_norm_and_an_empty_generator_warns_like_torch():
    p = mg.Tensor(np.ones(2), requires_grad=True)
    total = clip_grad_norm_([p], 1.0)
    expected = torch.nn.utils.clip_grad_norm_([torch.ones(2, requires_grad=True)], 1.0)
    assert total.item() == expected.item() == 0.0 and total.dtype == np.float32
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((q for q in []), 1.0)


def test_a_non_finite_norm_raises_only_when_asked_like_torch():
    ours, theirs = twins(np.float32)
    ours[0].grad[0, 0] = np.inf
    theirs[0].grad[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.item() == expected.item() == math.inf
    np.testing.assert_array_equal(ours[1].grad, theirs[1].grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", [0.0, 0.3, 5.0])
def test_clip_grad_value_equals_torch(dtype, clip):
    ours, theirs = twins(dtype)
    assert clip_grad_value_(ours, clip) is None
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is not None:
            np.testing.assert_array_equal(p.grad, t.grad.numpy())


def test_clipping_between_backward_and_step_trains_as_in_torch():
    """The habitual loop: backward, clip, step; 30 steps of SGD with momentum, float32."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(32, 4)).astype(np.float32)
    y = (X @ rng.normal(size=4) * 5).astype(np.float32)
    w = mg.Tensor(np.zeros(4, np.float32), requires_grad=True)
    tw = torch.zeros(4, requires_grad=True)
    opt = mg.optim.SGD([w], lr=0.05, momentum=0.9)
    topt = torch.optim.SGD([tw], lr=0.05, momentum=0.9)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(30):
        opt.zero_grad()
        topt.zero_grad()
        ((X @ w - y) ** 2).mean().backward()
        ((tX @ tw - ty) ** 2).mean().backward()
        norm = clip_grad_norm_([w], 1.0)
        tnorm = torch.nn.utils.clip_grad_norm_([tw], 1.0)
        assert norm.item() == pytest.approx(tnorm.item(), rel=1e-5)
        opt.step()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: clip_grad_norm_(p, -1.0), "max_norm must be a number >= 0, got -1.0"),
        (lambda p: clip_grad_norm_(p, "1"), "max_norm must be a number, got '1'"),
        (lambda p: clip_grad_norm_(p, 1.0, norm_type=-2), "norm_type must be >= 0, inf or -inf"),
        (lambda p: clip_grad_norm_(p, 1.0, foreach="yes"), "foreach must be None, True or False"),
        (lambda p: clip_grad_norm_(3.0, 1.0), "expected a parameter or an iterable of them"),
        (lambda p: clip_grad_norm_([p, 3.0], 1.0), "parameter 1 is a float, which has no .grad"),
        (lambda p: clip_grad_value_(p, float("nan")), "clip_value must be a number >= 0, got nan"),
    ],
)
def test_bad_arguments_are_named(call, message):
    p = mg.Tensor(np.ones(2), requires_grad=True)
    p.grad = np.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((TypeError, ValueError)) as info:
            call(p)
    assert message in str(info.value)
