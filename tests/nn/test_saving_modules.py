"""Saving a user's own Module subclass without registration, and every built-in layer's file.

A subclass records the plain arguments it was built with; loading finds the class by its
qualified name among the classes the program has defined, and never imports anything a file
names. The built-in layers' headers are checked setting by setting before anything is built.
"""

from __future__ import annotations

import json
import sys
import tracemalloc

import numpy as np
import pytest

import memograd as mg
from memograd import nn
from memograd.nn import ModelFileError
from memograd.nn import functional as F
from memograd.nn.model_header import expected_state


class TwoLayer(nn.Module):
    """What a PyTorch user writes: no config(), no decorator."""

    def __init__(self, n_in, hidden=(8,), n_out=3, *, activation="relu", dtype=np.float32):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden[0], dtype=dtype)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(hidden[0], n_out, dtype=dtype)
        self.activation = activation

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


class Wide(TwoLayer):
    """A subclass calling super().__init__ with its own arguments: its own are recorded."""

    def __init__(self, width):
        super().__init__(4, hidden=[width], n_out=2)


class Scaled(nn.Linear):
    """A subclass of a built-in with its own constructor: Linear's config would not fit it."""

    def __init__(self, n):
        super().__init__(n, n)


class Squared(nn.Module):
    """No __init__ at all."""

    def forward(self, x):
        return x * x


def round_trip(model, path):
    model.save(path)
    return nn.load(path)


def test_a_user_module_saves_and_loads_with_no_boilerplate(tmp_path):
    model = TwoLayer(5, hidden=(6,), activation="tanh", dtype=np.float64).eval()
    assert model.describe() == {
        "type": f"{__name__}:TwoLayer",
        "config": {
            "n_in": 5,
            "hidden": [6],
            "n_out": 3,
            "activation": "tanh",
            "dtype": "float64",
        },
    }
    loaded = round_trip(model, tmp_path / "m.npz").eval()
    assert type(loaded) is TwoLayer and loaded.activation == "tanh"
    x = np.random.default_rng(0).normal(size=(2, 5))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)


@pytest.mark.parametrize(
    ("model", "config"),
    [
        (Wide(7), {"width": 7}),
        (Scaled(3), {"n": 3}),
        (Squared(), {}),
        (nn.Sequential(Wide(2), Squared()), None),
    ],
    ids=["super-call", "builtin-subclass", "no-init", "inside-sequential"],
)
def test_the_outermost_constructor_is_what_is_recorded(tmp_path, model, config):
    if config is not None:
        assert model.describe()["config"] == config
    loaded = round_trip(model, tmp_path / "m.npz")
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)


def test_a_class_saved_under_another_module_name_is_found_by_its_qualified_name(tmp_path):
    """A script saves __main__:TwoLayer; the program that imports that script loads it."""
    TwoLayer(3).save(tmp_path / "m.npz")
    header = header_of(tmp_path / "m.npz")
    header["architecture"]["type"] = "__main__:TwoLayer"
    rewrite_header(tmp_path / "m.npz", tmp_path / "moved.npz", header)
    assert type(nn.load(tmp_path / "moved.npz")) is TwoLayer


def test_two_defined_classes_of_one_name_are_refused_as_ambiguous(tmp_path):
    def make(module):
        return type("Twin", (nn.Module,), {"__module__": module, "forward": lambda s, x: x})

    first, second = make("pkg_a.models"), make("pkg_b.models")
    first().save(tmp_path / "m.npz")
    assert type(nn.load(tmp_path / "m.npz")) is first  # the exact name wins
    header = header_of(tmp_path / "m.npz")
    header["architecture"]["type"] = "pkg_c.models:Twin"
    rewrite_header(tmp_path / "m.npz", tmp_path / "twin.npz", header)
    with pytest.raises(ModelFileError, match="ambiguous: this program defines pkg_a.models:Twin"):
        nn.load(tmp_path / "twin.npz")
    del second


def test_a_file_never_imports_the_module_it_names(tmp_path, monkeypatch):
    canary = tmp_path / "canary_models.py"
    marker = tmp_path / "imported"
    canary.write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "import memograd as mg\n"
        "class Evil(mg.nn.Module):\n"
        "    def forward(self, x):\n        return x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    Squared().save(tmp_path / "m.npz")
    header = header_of(tmp_path / "m.npz")
    header["architecture"]["type"] = "canary_models:Evil"
    rewrite_header(tmp_path / "m.npz", tmp_path / "evil.npz", header)
    with pytest.raises(ModelFileError) as info:
        nn.load(tmp_path / "evil.npz")
    assert "has not defined a Module class 'Evil'" in str(info.value)
    assert "never imports code" in str(info.value)
    assert not marker.exists() and "canary_models" not in sys.modules


def test_the_explicit_registration_still_names_a_class_by_its_bare_name(tmp_path):
    @nn.register_module
    class Gain(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.gain = nn.Parameter(np.ones(n, dtype=np.float32))

        def forward(self, x):
            return x * self.gain

    assert Gain(2).describe() == {"type": "Gain", "config": {"n": 2}}
    assert type(round_trip(Gain(2), tmp_path / "g.npz")) is Gain


def test_arguments_that_are_not_plain_values_are_named_when_saving(tmp_path):
    class Holder(nn.Module):
        def __init__(self, table, rng=None):
            super().__init__()
            self.register_buffer("table", np.asarray(table))

    with pytest.raises(TypeError, match=r"argument 'table' is a ndarray, not a plain value"):
        Holder(np.ones(3)).save(tmp_path / "h.npz")
    with pytest.raises(TypeError, match=r"argument 'rng' is a Generator"):
        Holder([1.0], rng=np.random.default_rng(0)).save(tmp_path / "h.npz")
    with pytest.raises(TypeError, match=r"argument 'table'\[0\] is nan, which JSON cannot hold"):
        Holder([float("nan")]).save(tmp_path / "h.npz")
    saved = Holder((1.0, 2.0))
    assert saved.describe()["config"] == {"table": [1.0, 2.0], "rng": None}
    assert not (tmp_path / "h.npz").exists()


def test_a_user_module_trains_saves_and_resumes(tmp_path):
    mg.manual_seed(0)
    model = TwoLayer(4)
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-2)
    x = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    y = np.arange(16) % 3
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(5):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    model.eval()
    model.save(tmp_path / "m.npz")
    loaded = nn.load(tmp_path / "m.npz").eval()
    assert loss_fn(loaded(x), y).item() == loss_fn(model(x), y).item()


# ---- the built-in layers' files ----------------------------------------------------------------


def every_builtin_layer():
    return nn.Sequential(
        nn.Embedding(7, 3, padding_idx=0),
        nn.Flatten(),
        nn.Linear(6, 5, dtype="float64"),
        nn.BatchNorm1d(5, momentum=None, dtype="float64"),
        nn.LayerNorm([5], eps=1e-3, bias=False, dtype="float64"),
        nn.BatchNorm1d(5, affine=False, track_running_stats=False),
        nn.Identity(),
        nn.ReLU(),
        nn.Sequential({"drop": nn.Dropout(0.1), "soft": nn.LogSoftmax(dim=1)}),
        nn.Softmax(dim=-1),
        nn.CrossEntropyLoss(weight=[1.0, 2.0], label_smoothing=0.1, ignore_index=3),
        nn.NLLLoss(),
        nn.BCEWithLogitsLoss(pos_weight=[[2.0]]),
        nn.MSELoss(reduction="sum"),
        nn.L1Loss(),
        nn.HuberLoss(delta=0.5),
    )


def test_expected_state_matches_what_every_new_builtin_really_holds():
    model = every_builtin_layer()
    expected, opaque = expected_state(model.describe(), "m.npz")
    assert opaque == []
    assert {k: (s, d) for k, (s, d, _) in expected.items()} == {
        k: (v.shape, v.dtype) for k, v in model.state_dict().items()
    }


def test_every_builtin_layer_round_trips_bit_for_bit(tmp_path):
    model = every_builtin_layer()
    model[:10](np.array([[1, 2], [3, 0], [6, 6]]))  # moves the batch norm's statistics
    model.eval()
    loaded = round_trip(model, tmp_path / "m.npz").eval()
    assert repr(loaded) == repr(model)
    assert list(loaded.state_dict()) == list(model.state_dict())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value, err_msg=name)
        assert loaded.state_dict()[name].dtype == value.dtype
    indices = np.array([[1, 2], [5, 4]])
    np.testing.assert_array_equal(loaded[:10](indices).data, model[:10](indices).data)


def test_a_tiny_file_announcing_a_huge_embedding_is_refused_before_building_it(tmp_path):
    header = {
        "format": "memograd-model",
        "version": 1,
        "architecture": {
            "type": "Embedding",
            "config": {"num_embeddings": 10**6, "embedding_dim": 4096},
        },
        "arrays": {},
        "metadata": {},
    }
    data = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(tmp_path / "huge.npz", __memograd__=data)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"'weight' \(float32 \(1000000, 4096\)"):
            nn.load(tmp_path / "huge.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


@pytest.mark.parametrize(
    ("layer", "edit", "message"),
    [
        (
            nn.BatchNorm1d(3),
            {"momentum": "0.1"},
            "config.momentum is '0.1'; expected null or a number",
        ),
        (nn.BatchNorm1d(3), {"affine": 1}, "config.affine is 1; expected true or false"),
        (nn.LayerNorm(3), {"normalized_shape": [3, 0]}, "normalized_shape[1] is 0"),
        (
            nn.Embedding(4, 2),
            {"padding_idx": 9},
            "config.padding_idx is 9; expected a whole number from 0 to 3",
        ),
        (nn.Flatten(), {"start_dim": "1"}, "config.start_dim is '1'"),
        (nn.Softmax(dim=1), {"dim": None}, "config.dim is None"),
        (nn.CrossEntropyLoss(), {"reduction": "avg"}, "config.reduction is 'avg'"),
        (nn.HuberLoss(), {"delta": -1}, "config.delta is -1"),
        (nn.Sequential(nn.ReLU()), {"names": ["a.b"]}, "config.names is ['a.b']"),
        (nn.ReLU(), {"inplace": True}, "unknown setting 'inplace'"),
    ],
)
def test_hostile_settings_of_the_new_layers_are_named(tmp_path, layer, edit, message):
    layer.save(tmp_path / "good.npz")
    header = header_of(tmp_path / "good.npz")
    header["architecture"]["config"].update(edit)
    rewrite_header(tmp_path / "good.npz", tmp_path / "bad.npz", header)
    with pytest.raises(ModelFileError) as info:
        nn.load(tmp_path / "bad.npz")
    assert message in str(info.value)


# ---- helpers -------------------------------------------------------------------------------------


def header_of(path):
    with np.load(path) as archive:
        return json.loads(archive["__memograd__"].tobytes())


def rewrite_header(source, target, header):
    with np.load(source) as archive:
        entries = {name: archive[name] for name in archive.files}
    entries["__memograd__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(target, **entries)
