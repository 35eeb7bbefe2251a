"""memograd.nn.functional's activations, shapes, dropout and one_hot against torch's, and the
layers built on them (Flatten, Identity, Softmax, LogSoftmax)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import memograd as mg
from memograd import nn
from memograd.nn import functional as F

DTYPES = [(np.float32, 1e-6), (np.float64, 1e-12)]
IDS = ["float32", "float64"]


def both(shape, dtype, seed=0):
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype) * 3
    return mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def check(ours, theirs, shape, dtype, tol):
    x, tx = both(shape, dtype)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    upstream = np.random.default_rng(1).normal(size=out.data.shape).astype(dtype)
    (out * mg.tensor(upstream)).sum().backward()
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize(("dtype", "tol"), DTYPES, ids=IDS)
@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (F.relu, TF.relu, (4, 5)),
        (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), (4, 5)),
        (F.sigmoid, torch.sigmoid, (4, 5)),
        (F.tanh, torch.tanh, (4, 5)),
        (lambda x: F.softmax(x, dim=1), lambda x: TF.softmax(x, dim=1), (3, 4, 2)),
        (lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1), (3, 4)),
        (lambda x: F.log_softmax(x, dim=0), lambda x: TF.log_softmax(x, dim=0), (3, 4)),
        (lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1), (2, 3, 4)),
        (F.flatten, torch.flatten, (2, 3, 4)),
        (lambda x: F.flatten(x, 1, 2), lambda x: torch.flatten(x, 1, 2), (2, 3, 4, 5)),
        (nn.Flatten(), torch.nn.Flatten(), (2, 3, 4)),
        (nn.Flatten(0, -2), torch.nn.Flatten(0, -2), (2, 3, 4)),
        (nn.Identity(3, bias=True), torch.nn.Identity(3, bias=True), (2, 3)),
        (nn.Softmax(dim=1), torch.nn.Softmax(dim=1), (3, 4)),
        (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1), (3, 4)),
    ],
    ids=[
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "softmax-dim1-3d",
        "softmax-last",
        "log_softmax-dim0",
        "log_softmax-3d",
        "flatten",
        "flatten-1-2",
        "Flatten",
        "Flatten-0--2",
        "Identity",
        "Softmax",
        "LogSoftmax",
    ],
)
def test_functions_and_shape_layers_match_torch(dtype, tol, ours, theirs, shape):
    check(ours, theirs, shape, dtype, tol)
    if isinstance(ours, nn.Module):
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_without_dim_takes_torchs_implicit_axis_with_its_warning(ndim):
    shape = (2, 3, 4, 5)[:ndim]
    x, tx = both(shape, np.float64)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        ours = F.softmax(x)
    with pytest.warns(UserWarning):
        theirs = TF.softmax(tx)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)


def test_softmax_dtype_casts_a_constant_input_and_refuses_one_in_a_graph():
    x = mg.tensor(np.ones((2, 3), dtype=np.float32))
    assert F.softmax(x, dim=1, dtype=np.float64).data.dtype == np.float64
    with pytest.raises(TypeError, match="cast a tensor that requires grad"):
        F.softmax(x.requires_grad_(), dim=1, dtype=np.float64)


@pytest.mark.parametrize(
    ("indices", "classes"),
    [([0, 2, 1], -1), ([[0, 1], [3, 3]], 5), (np.array(2), 3), ([], 4)],
    ids=["inferred", "2-d", "0-d", "empty"],
)
def test_one_hot_matches_torch(indices, classes):
    ours = F.one_hot(np.array(indices, dtype=np.int64), classes)
    theirs = TF.one_hot(torch.tensor(indices, dtype=torch.int64), classes)
    assert ours.data.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: F.one_hot([0, 3], 3), r"index\[1\] = 3 is not a class index for 3 classes"),
        (lambda: F.one_hot([0, -1]), r"index\[1\] = -1 is not a class index"),
        (lambda: F.one_hot(np.array([0.0, 1.0])), "expected integer indices"),
        (lambda: F.one_hot(np.array([], dtype=int)), "cannot infer the number of classes"),
        (lambda: F.relu(np.ones(2), inplace=True), r"relu\(inplace=True\) is not supported"),
        (lambda: nn.ReLU(inplace=True), r"ReLU\(inplace=True\) is not supported"),
        (lambda: nn.Dropout(0.2, inplace=True), r"Dropout\(inplace=True\) is not supported"),
        (lambda: F.dropout(np.ones(2), p=1.0), r"p must be in \[0, 1\), got 1.0"),
        (lambda: nn.Softmax(), "Softmax needs dim="),
        (lambda: F.flatten(np.ones((2, 3)), 0, 2), "end_dim=2 is out of range"),
        (lambda: F.flatten(np.ones((2, 3)), 1, 0), r"start_dim \(1\) comes after end_dim \(0\)"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises((ValueError, TypeError, IndexError), match=message):
        call()


def test_dropout_masks_follow_the_global_generator_at_call_time():
    """As torch.manual_seed decides the masks of a model built earlier, so does mg.manual_seed."""
    layer = nn.Dropout(0.5)
    x = np.ones((4, 50))
    mg.manual_seed(11)
    first = layer(x).data
    mg.manual_seed(11)
    again = layer(x).data
    np.testing.assert_array_equal(first, again)
    expected = (np.random.default_rng(11).random((4, 50)) >= 0.5) / 0.5
    np.testing.assert_array_equal(first, expected)
    mg.manual_seed(11)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, expected)
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).data, x)
