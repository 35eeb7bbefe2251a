"""Each layer against PyTorch on the same weights: forward values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import nn


def inputs(shape, seed=0, dtype=np.float32):
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    return mg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def test_linear_matches_torch_with_transposed_weight():
    layer = nn.Linear(5, 3, rng=1)
    layer.bias.data[...] = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    reference = torch.nn.Linear(5, 3)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.weight.data.T))  # torch: (out, in)
        reference.bias.copy_(torch.from_numpy(layer.bias.data))
    x, tx = inputs((4, 5))
    upstream = np.random.default_rng(9).normal(size=(4, 3)).astype(np.float32)
    out, tout = layer(x), reference(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out * mg.Tensor(upstream)).sum().backward()
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(
        layer.weight.grad, reference.weight.grad.numpy().T, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.LeakyReLU(), torch.nn.LeakyReLU()),
        (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.GELU(), torch.nn.GELU(approximate="tanh")),
    ],
    ids=["relu", "tanh", "sigmoid", "leaky_relu", "leaky_relu_0.2", "gelu"],
)
def test_activation_forward_and_gradient_match_torch(ours, theirs):
    x, tx = inputs((6, 7), seed=3)
    x.data[0, :3] = tx.data[0, :3] = torch.tensor([0.0, 20.0, -20.0])  # the kink and the tails
    upstream = np.random.default_rng(4).normal(size=(6, 7)).astype(np.float32)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out * mg.Tensor(upstream)).sum().backward()
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_mlp_matches_torch_sequential_end_to_end():
    model = nn.MLP([4, 8, 6, 3], activation="tanh", rng=0)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    torch_layers = []
    for k, layer in enumerate(linears):
        t = torch.nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(layer.weight.data.T))
            t.bias.copy_(torch.from_numpy(layer.bias.data))
        torch_layers.append(t)
        if k < len(linears) - 1:
            torch_layers.append(torch.nn.Tanh())
    reference = torch.nn.Sequential(*torch_layers)
    x, tx = inputs((5, 4), seed=2)
    y = np.array([0, 2, 1, 1, 0])
    loss = nn.functional.cross_entropy(model(x), y)
    tloss = torch.nn.functional.cross_entropy(reference(tx), torch.from_numpy(y))
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    loss.backward()
    tloss.backward()
    for ours, theirs in zip(linears, torch_layers[::2], strict=True):
        np.testing.assert_allclose(
            ours.weight.grad, theirs.weight.grad.numpy().T, rtol=1e-4, atol=1e-6
        )
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_dropout_scales_kept_units_and_is_identity_in_eval():
    layer = nn.Dropout(0.25, rng=0)
    x = mg.Tensor(np.ones((200, 50), dtype=np.float32), requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    assert 0.72 < kept.mean() < 0.78
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)  # gradient flows through kept units only
    layer.eval()
    assert np.array_equal(layer(x).data, x.data)


def test_parameters_default_to_float32_and_inputs_are_cast():
    model = nn.MLP([3, 4, 2])
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    assert model(np.ones((2, 3))).data.dtype == np.float32  # a float64 array is cast
    assert nn.MLP([3, 2], dtype="float64")(np.ones((1, 3))).data.dtype == np.float64


def test_initialisation_follows_the_activation():
    rng = np.random.default_rng(0)
    relu = nn.Linear(1000, 400, init="he", activation="relu", rng=rng).weight.data
    assert relu.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    tanh = nn.Linear(300, 200, init="xavier", activation="tanh", rng=rng).weight.data
    limit = 5 / 3 * np.sqrt(6 / 500)
    assert np.abs(tanh).max() <= limit and np.abs(tanh).max() > 0.98 * limit
    model = nn.MLP([10, 20, 5], activation="sigmoid", rng=0)
    assert model.layers[0].init == "xavier" and model.layers[2].init == "xavier"
    assert nn.MLP([10, 20, 5], activation="leaky_relu", rng=0).layers[0].init == "he"
    assert all(np.all(p.data == 0) for n, p in model.named_parameters() if n.endswith("bias"))


def test_manual_seed_and_explicit_generators_are_bit_for_bit_reproducible():
    mg.manual_seed(123)
    a = nn.MLP([8, 16, 3])
    mg.manual_seed(123)
    b = nn.MLP([8, 16, 3])
    c = nn.MLP([8, 16, 3])
    for (_, p), (_, q), (_, r) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters()
    ):
        assert np.array_equal(p.data, q.data)
    assert not np.array_equal(a.layers[0].weight.data, c.layers[0].weight.data)
    d = nn.MLP([8, 16, 3], rng=np.random.default_rng(5))
    e = nn.MLP([8, 16, 3], rng=5)
    assert np.array_equal(d.layers[0].weight.data, e.layers[0].weight.data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nn.Linear(0, 3), "in_features must be an int >= 1, got 0"),
        (lambda: nn.Linear(2, 3, init="orthogonal"), "unknown initialisation 'orthogonal'"),
        (lambda: nn.MLP([4]), "MLP needs at least an input and an output size"),
        (lambda: nn.MLP([4, 2], activation="swish"), "unknown activation 'swish'"),
        (lambda: nn.Dropout(1.0), "dropout probability p must be in [0, 1), got 1.0"),
        (lambda: nn.Linear(2, 2, dtype="int32"), "parameters must be float32 or float64"),
        (lambda: nn.Sequential(nn.ReLU(), "relu"), "item 1 is a str, not a Module"),
        (lambda: nn.GELU(approximate="none"), "GELU supports approximate='tanh' only"),
    ],
)
def test_bad_layer_arguments_are_named(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert message in str(info.value)


def test_linear_input_width_mismatch_is_named():
    with pytest.raises(
        ValueError, match=r"input of shape \(2, 5\) does not match weight of shape \(4, 3\)"
    ):
        nn.Linear(4, 3)(np.ones((2, 5)))
