"""Module's PyTorch surface against torch.nn.Module: Parameter, traversal, buffers, dtypes,
freezing, state dicts and their keys, and the nested repr."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import nn
from memograd.nn import functional as F


def pair():
    """The same structure in both libraries: nesting, a shared layer, buffers, a None bias."""
    shared = nn.Linear(4, 4, bias=False)
    ours = nn.Sequential(
        nn.Linear(3, 4),
        nn.BatchNorm1d(4),
        nn.Sequential(shared, nn.ReLU(), shared),
        nn.LayerNorm(4, elementwise_affine=False),
        nn.Embedding(5, 4, padding_idx=1),
    )
    tshared = torch.nn.Linear(4, 4, bias=False)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.BatchNorm1d(4),
        torch.nn.Sequential(tshared, torch.nn.ReLU(), tshared),
        torch.nn.LayerNorm(4, elementwise_affine=False),
        torch.nn.Embedding(5, 4, padding_idx=1),
    )
    return ours, theirs


def names(pairs):
    return [name for name, _ in pairs]


def test_traversal_names_and_orders_match_torch():
    ours, theirs = pair()
    assert names(ours.named_modules()) == names(theirs.named_modules())
    assert names(ours.named_modules(remove_duplicate=False)) == names(
        theirs.named_modules(remove_duplicate=False)
    )
    assert names(ours.named_children()) == names(theirs.named_children())
    assert names(ours[2].named_children()) == names(theirs[2].named_children()) == ["0", "1"]
    assert [type(m).__name__ for m in ours.modules()] == [
        type(m).__name__ for m in theirs.modules()
    ]
    assert [type(m).__name__ for m in ours.children()] == [
        type(m).__name__ for m in theirs.children()
    ]
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_parameters(recurse=False)) == []
    assert names(ours[0].named_parameters(prefix="first")) == ["first.weight", "first.bias"]
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    assert list(ours.state_dict()) == list(theirs.state_dict())  # a tied weight under each name
    assert repr(ours) == repr(theirs)


def test_apply_visits_children_first_then_the_module_as_torch():
    ours, theirs = pair()
    seen, tseen = [], []
    assert ours.apply(lambda m: seen.append(type(m).__name__)) is ours
    theirs.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen


def test_apply_initialises_weights_in_the_usual_way():
    def init(module):
        if isinstance(module, nn.Linear):
            module.weight.data[...] = 0.5
            module.bias.data[...] = 0.0

    model = nn.MLP([2, 3, 1], rng=0).apply(init)
    assert all(
        np.all(layer.weight.data == 0.5) for layer in model.layers if hasattr(layer, "weight")
    )


def test_a_user_module_with_parameters_and_buffers_prints_and_names_as_torch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(mg.tensor(np.ones(3)))
            self.frozen = nn.Parameter(mg.tensor(np.zeros(3)), requires_grad=False)
            self.register_buffer("mask", mg.tensor(np.tril(np.ones((3, 3)))))
            self.register_buffer("cache", np.zeros(3), persistent=False)
            self.register_parameter("unused", None)
            self.fc = nn.Linear(3, 2)
            self.plain = mg.tensor(np.ones(2))  # neither: a constant attribute

        def forward(self, x):
            return self.fc((x @ self.mask) * self.scale)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.frozen = torch.nn.Parameter(torch.zeros(3), requires_grad=False)
            self.register_buffer("mask", torch.tril(torch.ones(3, 3)))
            self.register_buffer("cache", torch.zeros(3), persistent=False)
            self.register_parameter("unused", None)
            self.fc = torch.nn.Linear(3, 2)
            self.plain = torch.ones(2)

    ours, theirs = Net(), TorchNet()
    assert repr(ours).replace("Net(", "X(", 1) == repr(theirs).replace("TorchNet(", "X(", 1)
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.unused is None and not ours.frozen.requires_grad
    loss = ours(np.ones((2, 3))).sum()
    loss.backward()
    assert ours.scale.grad is not None and ours.frozen.grad is None


def test_parameter_shares_its_tensor_and_is_an_ordinary_leaf():
    source = mg.tensor(np.arange(3.0))
    p = nn.Parameter(source)
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.parents == ()
    assert p.data is source.data  # shared, as torch.nn.Parameter(t) shares t's storage
    assert repr(p) == "Parameter containing:\n" + repr(
        mg.tensor(np.arange(3.0), requires_grad=True)
    )
    y = p * p
    assert type(y) is mg.Tensor
    source.data = source.data  # a write through the source counts for the parameter too
    with pytest.raises(mg.InPlaceModificationError):
        y.sum().backward()
    copied = nn.Parameter(np.ones(2))
    assert copied.data.dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.array([1, 2]))
    assert nn.Parameter().data.shape == (0,)


def test_register_methods_check_names_and_kinds_as_torch():
    module = nn.Module()
    with pytest.raises(KeyError, match="without"):
        module.register_buffer("a.b", np.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        module.register_parameter("forward", None)
    with pytest.raises(TypeError, match=r"memograd.nn.Parameter or None expected"):
        module.register_parameter("w", mg.tensor(np.ones(1)))
    module.add_module("child", nn.ReLU())
    assert names(module.named_children()) == ["child"]
    with pytest.raises(TypeError, match="is not a Module subclass"):
        module.add_module("x", 3)


def test_to_casts_in_place_so_an_optimizer_keeps_working(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3), nn.Standardize(3))
    weight = model[0].weight
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    assert model.to("float64") is model
    assert model[0].weight is weight and weight.data.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64 and model[2].mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64  # integers are not floats: kept
    x = np.random.default_rng(0).normal(size=(4, 2))
    F.mse_loss(model(x), np.zeros((4, 3))).backward()
    before = weight.data.copy()
    optimizer.step()
    assert not np.array_equal(weight.data, before)
    model.save(tmp_path / "m.npz")
    assert nn.load(tmp_path / "m.npz")[0].weight.data.dtype == np.float64
    assert model.float()[0].weight.data.dtype == np.float32
    assert model.double().to("cpu").cpu()[0].weight.data.dtype == np.float64
    with pytest.raises(ValueError, match="CPU only"):
        model.to("cuda")
    with pytest.raises(TypeError, match="float32 or float64"):
        model.to(np.int32)


def test_requires_grad_zero_grad_and_train_eval():
    model = nn.MLP([3, 4, 2], rng=0)
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    F.cross_entropy(model(np.ones((2, 3))), [0, 1]).backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="expected to be a bool"):
        model.train("no")


def test_load_state_dict_returns_the_keys_torch_returns():
    ours, theirs = pair()
    state = {k: v for k, v in ours.state_dict().items() if not k.startswith("1.")}
    state["extra"] = np.zeros(1)
    tstate = {k: v for k, v in theirs.state_dict().items() if not k.startswith("1.")}
    tstate["extra"] = torch.zeros(1)
    got = ours.load_state_dict(state, strict=False)
    expected = theirs.load_state_dict(tstate, strict=False)
    assert got.missing_keys == expected.missing_keys
    assert got.unexpected_keys == expected.unexpected_keys
    assert repr(ours.load_state_dict(ours.state_dict())) == "<All keys matched successfully>"


def test_loading_weights_after_a_forward_pass_makes_that_graphs_backward_raise():
    """load_state_dict writes in place, so it counts a version: the old graph saved the weight."""
    layer = nn.Linear(2, 2, rng=0)
    out = layer(np.ones((1, 2)))
    layer.load_state_dict(nn.Linear(2, 2, rng=1).state_dict())
    with pytest.raises(mg.InPlaceModificationError, match="modified in place"):
        out.sum().backward()


def test_state_dict_keep_vars_and_prefix():
    layer = nn.Linear(2, 2)
    kept = layer.state_dict(keep_vars=True)
    assert kept["weight"] is layer.weight
    assert list(layer.state_dict(prefix="enc.")) == ["enc.weight", "enc.bias"]
