"""Embedding, LayerNorm and BatchNorm1d against PyTorch: outputs, gradients, running statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import nn

DTYPES = [(np.float32, torch.float32, 1e-5), (np.float64, torch.float64, 1e-10)]
IDS = ["float32", "float64"]


def same_parameters(ours, theirs):
    """Copy memograd's parameters and buffers into the torch module (same names, same layout)."""
    with torch.no_grad():
        for name, value in ours.state_dict().items():
            theirs.state_dict()[name].copy_(torch.from_numpy(value))


def backward_both(out, tout, seed=7):
    upstream = np.random.default_rng(seed).normal(size=out.data.shape).astype(out.data.dtype)
    (out * mg.tensor(upstream)).sum().backward()
    tout.backward(torch.from_numpy(upstream))


@pytest.mark.parametrize(("np_dtype", "torch_dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_rows_and_accumulated_gradients_match_torch(
    np_dtype, torch_dtype, tol, padding_idx
):
    ours = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=np.dtype(np_dtype).name, rng=0)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=torch_dtype)
    if padding_idx is not None:
        assert np.all(ours.weight.data[padding_idx] == 0)
        ours.weight.data[padding_idx] = 0.5  # a padding row still reads its value
    same_parameters(ours, theirs)
    indices = np.array([[1, 2, 2], [5, 1, 0], [2, 2, 2]])  # repeats: gradients add up
    out, tout = ours(indices), theirs(torch.from_numpy(indices))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    backward_both(out, tout)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=tol, atol=tol)
    assert repr(ours) == repr(theirs)


def test_embedding_refuses_indices_numpy_would_wrap_or_that_are_not_integers():
    table = nn.Embedding(4, 2, rng=0)
    with pytest.raises(IndexError, match=r"index\[1, 0\] = -1 is out of range for 4 embeddings"):
        table(np.array([[0, 1], [-1, 2]]))
    with pytest.raises(IndexError, match=r"index\[2\] = 4 is out of range"):
        table([0, 1, 4])
    with pytest.raises(TypeError, match="expected integer indices, got dtype float64"):
        table(np.array([0.0, 1.0]))
    for option in ({"max_norm": 1.0}, {"sparse": True}, {"scale_grad_by_freq": True}):
        with pytest.raises(ValueError, match="is not supported by memograd"):
            nn.Embedding(4, 2, **option)


def test_embedding_from_pretrained_is_frozen_by_default_as_in_torch():
    table = np.arange(6.0).reshape(3, 2)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.weight.dtype == np.float64
    assert frozen.parameters() == [frozen.weight]  # still a parameter, as in torch
    np.testing.assert_array_equal(frozen(np.array([2, 0])).data, [[4.0, 5.0], [0.0, 1.0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


@pytest.mark.parametrize(("np_dtype", "torch_dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize(
    ("shape", "normalized", "options"),
    [
        ((4, 5), 5, {}),
        ((2, 3, 4), (3, 4), {}),
        ((3, 6), 6, {"elementwise_affine": False}),
        ((3, 6), [6], {"bias": False, "eps": 1e-3}),
    ],
    ids=["last-axis", "two-axes", "no-affine", "no-bias"],
)
def test_layer_norm_matches_torch(np_dtype, torch_dtype, tol, shape, normalized, options):
    ours = nn.LayerNorm(normalized, dtype=np.dtype(np_dtype).name, **options)
    theirs = torch.nn.LayerNorm(normalized, dtype=torch_dtype, **options)
    rng = np.random.default_rng(1)
    for p in ours.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, size=p.data.shape)
    same_parameters(ours, theirs)
    x = (rng.normal(size=shape) * 3 + 1).astype(np_dtype)
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(mx), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    backward_both(out, tout)
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(("np_dtype", "torch_dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize(
    ("shape", "options"),
    [
        ((8, 4), {}),
        ((5, 4, 3), {}),
        ((8, 4), {"momentum": None}),
        ((8, 4), {"momentum": 0.3, "eps": 1e-3}),
        ((8, 4), {"affine": False}),
        ((6, 4), {"bias": False}),
        ((8, 4), {"track_running_stats": False}),
    ],
    ids=["2d", "3d", "cumulative", "momentum", "no-affine", "no-bias", "untracked"],
)
def test_batch_norm_matches_torch_in_training_and_evaluation(
    np_dtype, torch_dtype, tol, shape, options
):
    """Three training steps (outputs, gradients, running statistics after each), then eval."""
    ours = nn.BatchNorm1d(4, dtype=np.dtype(np_dtype).name, **options)
    theirs = torch.nn.BatchNorm1d(4, dtype=torch_dtype, **options)
    rng = np.random.default_rng(2)
    for p in ours.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, size=p.data.shape)
    same_parameters(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for step in range(3):
        x = (rng.normal(size=shape) * (step + 1) + step).astype(np_dtype)
        mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = ours(mx), theirs(tx)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
        backward_both(out, tout, seed=step)
        np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=tol * 10, atol=tol * 10)
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=tol * 10, atol=tol * 10)
            p.grad = None
        theirs.zero_grad()
        for name, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=tol, atol=tol)
    ours.eval()
    theirs.eval()
    x = rng.normal(size=shape).astype(np_dtype)
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(mx), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    backward_both(out, tout)
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    before = ours.state_dict()
    ours(x)  # evaluation never moves the statistics
    assert all(np.array_equal(before[k], v) for k, v in ours.state_dict().items())


def test_batch_norm_buffers_are_tensors_and_its_errors_are_torchs():
    layer = nn.BatchNorm1d(3)
    assert [n for n, _ in layer.named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert isinstance(layer.running_mean, mg.Tensor) and layer.num_batches_tracked.dtype == np.int64
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match="has 4 channels .* num_features=3"):
        layer(np.ones((2, 4)))
    with pytest.raises(ValueError, match="expected 2-D .* or 3-D"):
        layer(np.ones((2, 3, 4, 5)))
    layer.eval()
    np.testing.assert_allclose(layer(np.ones((1, 3))).data, 1 / np.sqrt(1 + 1e-5), rtol=1e-6)
