"""Module bookkeeping: names, state dicts and their errors, modes, repr, custom modules."""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg
from memograd import nn


def test_named_parameters_use_dotted_paths_in_order():
    model = nn.MLP([3, 4, 2], rng=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert [p.data.shape for p in model.parameters()] == [(3, 4), (4,), (4, 2), (2,)]
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_state_dict_round_trip_and_copies():
    a, b = nn.MLP([3, 5, 2], rng=0), nn.MLP([3, 5, 2], rng=1)
    state = a.state_dict()
    state["layers.0.weight"][0, 0] = 99.0  # a copy: the model is untouched
    assert a.layers[0].weight.data[0, 0] != 99.0
    weight = b.layers[0].weight.data
    b.load_state_dict(a.state_dict())
    assert b.layers[0].weight.data is weight  # loaded in place
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.data, q.data)


def test_load_state_dict_names_every_mismatch_and_changes_nothing():
    model = nn.MLP([3, 5, 2], rng=0)
    before = model.state_dict()
    state = nn.MLP([3, 4, 2], rng=0).state_dict()
    state["extra.weight"] = np.zeros(1)
    del state["layers.2.bias"]
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing layers.2.bias" in message
    assert "unexpected extra.weight" in message
    assert "layers.0.weight: expected shape (3, 5), got (3, 4)" in message
    assert "layers.2.weight: expected shape (5, 2), got (4, 2)" in message
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_train_and_eval_reach_every_submodule():
    model = nn.MLP([3, 4, 2], dropout=0.5)
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_gradients():
    model = nn.MLP([3, 2], rng=0)
    nn.functional.cross_entropy(model(np.ones((2, 3))), [0, 1]).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_nests_settings_and_children_as_pytorch_does():
    assert repr(nn.MLP([64, 32, 10], rng=0)) == (
        "MLP(\n"
        "  sizes=[64, 32, 10], activation='relu'\n"
        "  (layers): Sequential(\n"
        "    (0): Linear(in_features=64, out_features=32, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=32, out_features=10, bias=True)\n"
        "  )\n"
        ")"
    )


def test_buffers_are_state_but_not_parameters():
    layer = nn.Standardize.fitted(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    assert layer.parameters() == []
    assert sorted(layer.state_dict()) == ["mean", "scale"]
    np.testing.assert_allclose(layer(np.array([[3.0, 6.0]])).data, [[1.0, 1.0]])


@nn.register_module
class Scaled(nn.Module):
    """A custom module: a learned per-feature scale."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.gain = mg.Tensor(np.ones(n, dtype=np.float32), requires_grad=True)

    def forward(self, x):
        return nn.module.as_tensor(x, np.float32) * self.gain

    def config(self):
        return {"n": self.n}


def test_custom_registered_module_trains_saves_and_loads(tmp_path):
    model = nn.Sequential(Scaled(3), nn.Linear(3, 2, rng=0))
    assert [n for n, _ in model.named_parameters()] == ["0.gain", "1.weight", "1.bias"]
    model[0].gain.data[...] = [1.0, 2.0, 3.0]
    model.save(tmp_path / "m.npz")
    loaded = nn.load(tmp_path / "m.npz")
    x = np.ones((1, 3), dtype=np.float32)
    assert np.array_equal(loaded(x).data, model(x).data)


def test_unsaveable_module_says_how_to_fix_it(tmp_path):
    class Wrapper(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    with pytest.raises(TypeError) as info:
        nn.save(Wrapper(nn.Linear(2, 2)), tmp_path / "p.npz")
    assert "argument 'inner' is a Linear, not a plain value" in str(info.value)
    assert "implement config() and from_config()" in str(info.value)
    assert not (tmp_path / "p.npz").exists()


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.w = 1

    with pytest.raises(AttributeError, match=r"must call super\(\).__init__\(\)"):
        Broken()
