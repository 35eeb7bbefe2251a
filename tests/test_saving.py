"""mg.save / mg.load: what round-trips (checked against torch.save / torch.load), what is
refused when saving, and every way a file can be damaged or hostile when loading."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch

import memograd as mg
from memograd.nn import ModelFileError, npz_archive


def round_trip(obj, tmp_path, name="obj.pt"):
    path = tmp_path / name
    mg.save(obj, path)
    return mg.load(path)


def same(loaded, original, where="obj"):
    """Equal values of equal types, Tensors and arrays with their dtype, shape and flags."""
    assert type(loaded) is type(original) or (
        isinstance(original, dict) and type(loaded) is dict
    ), f"{where}: {type(loaded).__name__} for {type(original).__name__}"
    if isinstance(original, mg.Tensor):
        assert loaded.dtype == original.dtype and loaded.shape == original.shape, where
        assert loaded.requires_grad == original.requires_grad, where
        np.testing.assert_array_equal(loaded.data, original.data, err_msg=where)
    elif isinstance(original, np.ndarray | np.generic):
        assert loaded.dtype == original.dtype and np.shape(loaded) == np.shape(original), where
        np.testing.assert_array_equal(loaded, original, err_msg=where)
    elif isinstance(original, dict):
        assert list(loaded) == list(original), where
        for key in original:
            assert type(next(k for k in loaded if k == key)) is type(key), f"{where} key {key!r}"
            same(loaded[key], original[key], f"{where}[{key!r}]")
    elif isinstance(original, list | tuple):
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original, strict=True)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(original, float) and math.isnan(original):
        assert math.isnan(loaded), where
    else:
        assert loaded == original, where


VALUES = {
    "float32 tensor": mg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "leaf that requires grad": mg.Tensor(np.linspace(0, 1, 5), requires_grad=True),
    "0-d tensor": mg.tensor(3.5),
    "int tensor": mg.tensor([[1, -2], [3, 4]]),
    "bool tensor": mg.tensor([True, False]),
    "float16 array": np.array([1.5, -2.25], dtype=np.float16),
    "uint8 image": np.arange(64, dtype=np.uint8).reshape(8, 8),
    "empty array": np.zeros((0, 3)),
    "big-endian array": np.arange(4, dtype=">f8"),
    "strided view": np.arange(20.0).reshape(4, 5)[::2, 1::2],
    "numpy scalars": [np.float32(1.25), np.int8(-3), np.bool_(True), np.float64(0.1)],
    "numbers": [0, -(10**18), 2**63 - 1, 1.5, -0.0, math.inf, -math.inf, math.nan],
    "text and flags": ["", "ünï ☃", None, True, False],
    "nesting": {"a": [1, (2, [3, {"b": ()}])], "c": {}},
    "keys of every kind": {0: "int", "0": "str", 1.5: "float", None: "none", True: "bool"},
    "ordered dict, as torch's state_dict": OrderedDict(b=np.ones(1), a=2),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_values_round_trip_with_their_types(tmp_path, name):
    same(round_trip(VALUES[name], tmp_path), VALUES[name])


def test_a_whole_checkpoint_round_trips_and_training_resumes_exactly(tmp_path):
    mg.manual_seed(0)
    model = mg.nn.MLP([4, 8, 3])
    opt = mg.optim.AdamW(model.parameters(), lr=0.01)
    schedule = mg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    X = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    y = np.arange(16) % 3

    def epoch(model, opt, schedule):
        loss = mg.nn.functional.cross_entropy(model(mg.tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        return loss.item()

    for _ in range(3):
        epoch(model, opt, schedule)
    checkpoint = {
        "epoch": 3,
        "loss": np.float32(0.25),
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": schedule.state_dict(),
    }
    loaded = round_trip(checkpoint, tmp_path, "checkpoint.tar")
    same(loaded, checkpoint)
    model2 = mg.nn.MLP([4, 8, 3])
    opt2 = mg.optim.AdamW(model2.parameters(), lr=0.5)
    schedule2 = mg.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    model2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["optimizer"])
    schedule2.load_state_dict(loaded["scheduler"])
    for _ in range(4):
        assert epoch(model2, opt2, schedule2) == epoch(model, opt, schedule)
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_structure_comes_back_as_torch_load_gives_torchs(tmp_path):
    """torch as the oracle of what a round trip keeps: key types, tuples, lists, nesting."""
    torch_params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    ours_params = [mg.Tensor(np.zeros(2, np.float32), requires_grad=True) for _ in range(2)]
    topt = torch.optim.Adam(
        [{"params": torch_params[:1]}, {"params": torch_params[1:], "lr": 0.1}], betas=(0.8, 0.9)
    )
    opt = mg.optim.Adam(
        [{"params": ours_params[:1]}, {"params": ours_params[1:], "lr": 0.1}], betas=(0.8, 0.9)
    )
    for p in torch_params:
        p.grad = torch.ones_like(p)
    for p in ours_params:
        p.grad = np.ones_like(p.data)
    topt.step()
    opt.step()
    torch.save({"opt": topt.state_dict(), "meta": (1, [2.0, "x"])}, tmp_path / "t.pt")
    theirs = torch.load(tmp_path / "t.pt", weights_only=True)
    ours = round_trip({"opt": opt.state_dict(), "meta": (1, [2.0, "x"])}, tmp_path)
    assert ours["meta"] == theirs["meta"] and type(ours["meta"]) is type(theirs["meta"])
    assert list(ours["opt"]["state"]) == list(theirs["opt"]["state"]) == [0, 1]
    for group, tgroup in zip(ours["opt"]["param_groups"], theirs["opt"]["param_groups"]):
        assert type(group["betas"]) is type(tgroup["betas"]) is tuple
        assert group["params"] == tgroup["params"]


def test_one_object_saved_twice_comes_back_as_one_object(tmp_path):
    weight = mg.Tensor(np.ones(3), requires_grad=True)
    array = np.zeros(2)
    loaded = round_trip({"a": weight, "b": [weight], "x": array, "y": array}, tmp_path)
    assert loaded["a"] is loaded["b"][0] and loaded["x"] is loaded["y"]
    with zipfile.ZipFile(tmp_path / "obj.pt") as archive:
        assert sorted(archive.namelist()) == ["__memograd__.npy", "array/0.npy", "array/1.npy"]


def test_loaded_tensors_are_leaves_that_train(tmp_path):
    w = round_trip(mg.Tensor(np.array([1.0, 2.0]), requires_grad=True), tmp_path)
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_a_model_saved_whole_loads_as_the_model(tmp_path):
    mg.manual_seed(2)
    model = mg.nn.MLP([3, 5, 2], activation="tanh")
    mg.save(model, tmp_path / "model.pth")
    loaded = mg.load(tmp_path / "model.pth", weights_only=False)
    x = mg.tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    model.save(tmp_path / "other.npz")  # the model files of model.save load too
    assert isinstance(mg.load(tmp_path / "other.npz"), mg.nn.MLP)


def test_a_module_of_ones_own_saves_whole_and_one_it_cannot_describe_is_refused(tmp_path):
    class TwoLayer(mg.nn.Module):
        def __init__(self, hidden=3):
            super().__init__()
            self.first = mg.nn.Linear(2, hidden)

        def forward(self, x):
            return self.first(x)

    model = TwoLayer(hidden=4)
    mg.save(model, tmp_path / "two.pt")
    loaded = mg.load(tmp_path / "two.pt")
    x = mg.tensor(np.arange(6.0).reshape(3, 2))
    assert type(loaded) is TwoLayer and loaded.first.out_features == 4
    np.testing.assert_array_equal(loaded(x).data, model(x).data)

    class Holder(mg.nn.Module):
        def __init__(self, rng):
            super().__init__()

    with pytest.raises(TypeError, match="argument 'rng' is a Generator"):
        mg.save(Holder(np.random.default_rng(0)), tmp_path / "holder.pt")
    assert sorted(os.listdir(tmp_path)) == ["two.pt"]


def test_the_file_is_written_under_the_name_given(tmp_path):
    mg.save({"a": 1}, tmp_path / "weights.pth")
    assert os.listdir(tmp_path) == ["weights.pth"]


def test_a_refused_object_leaves_the_old_file_as_it_was(tmp_path):
    path = tmp_path / "state.pt"
    mg.save({"a": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        mg.save({"a": np.ones(2), "f": print}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["state.pt"]


Point = namedtuple("Point", "x y")


def cycle():
    loop = []
    loop.append({"self": loop})
    return loop


def deep(levels):
    value = 1
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("obj", "error", "message"),
    [
        ({"fn": print}, TypeError, r"obj\['fn'\] is a builtin_function_or_method; memograd saves"),
        ([1, object()], TypeError, r"obj\[1\] is a object"),
        ({"m": mg.nn.Linear(2, 2)}, TypeError, r"obj\['m'\] is a Linear module; store its"),
        (Point(1, 2), TypeError, r"obj is a named tuple \(Point\)"),
        (cycle(), ValueError, r"obj\[0\]\['self'\] contains itself"),
        (deep(30), ValueError, r"is nested too deeply"),
        (np.array([object()]), TypeError, r"obj has dtype object; only arrays of numbers"),
        (np.array(["a"]), TypeError, r"obj has dtype <U1"),
        (np.ones(2, complex), TypeError, r"obj has dtype complex128"),
        ({"n": 10**30}, ValueError, r"obj\['n'\] is an integer of 31 digits"),
        ({(1, 2): 3}, TypeError, r"obj has the key \(1, 2\) \(tuple\)"),
        ({"h": list(range(300))}, ValueError, r"its header would take .* store long lists"),
    ],
)
def test_what_cannot_be_saved_is_refused_naming_where_it_is(
    tmp_path, monkeypatch, obj, error, message
):
    monkeypatch.setattr(npz_archive, "MAX_HEADER_BYTES", 1000)  # what a reader accepts
    with pytest.raises(error, match=message):
        mg.save(obj, tmp_path / "x.pt")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("leaf", [1, {}, [], np.ones(1)], ids=["int", "dict", "list", "array"])
@pytest.mark.parametrize("container", ["dict", "list"])
def test_the_deepest_structure_save_accepts_loads(tmp_path, container, leaf):
    def nested(levels):
        value = leaf
        for _ in range(levels):
            value = {"k": value} if container == "dict" else [value]
        return value

    levels = 18  # every structure up to this depth saves; search from here for the limit
    while True:
        try:
            mg.save(nested(levels + 1), tmp_path / "deep.pt")
        except ValueError as exc:
            assert "nested too deeply" in str(exc)
            break
        levels += 1
    assert levels >= 19  # a checkpoint is rarely deeper than 6
    mg.save(nested(levels), tmp_path / "deep.pt")
    same(mg.load(tmp_path / "deep.pt"), nested(levels))


def test_file_objects_are_refused_with_the_reason(tmp_path):
    with pytest.raises(TypeError, match="expected a file path .* got BytesIO"):
        mg.save({}, io.BytesIO())
    with pytest.raises(TypeError, match="expected a file path"):
        mg.load(io.BytesIO())


def test_map_location_other_than_the_cpu_is_refused(tmp_path):
    mg.save(1, tmp_path / "one.pt")
    assert mg.load(tmp_path / "one.pt", map_location="cpu", weights_only=True) == 1
    with pytest.raises(ValueError, match="map_location='cuda:0'; memograd runs on the CPU"):
        mg.load(tmp_path / "one.pt", map_location="cuda:0")


# ---- hostile and damaged files ---------------------------------------------------------------


def saved(tmp_path, obj=None):
    path = tmp_path / "good.pt"
    mg.save(
        {"w": mg.Tensor(np.ones((2, 2)), requires_grad=True), "n": 3} if obj is None else obj, path
    )
    return path


def header_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(archive["__memograd__"].tobytes())


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def rewrite(source, target, replace=None, add=None, drop=()):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            if item.filename in drop:
                continue
            data = (replace or {}).get(item.filename, zin.read(item.filename))
            zout.writestr(item.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return target


def with_header(tmp_path, change):
    good = saved(tmp_path)
    header = header_of(good)
    change(header)
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return rewrite(good, tmp_path / "bad.pt", replace={"__memograd__.npy": npy_bytes(raw)})


class Marker:
    """Unpickling this writes a file: the proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_entry_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = npy_bytes(np.array([Marker(str(marker))], dtype=object), allow_pickle=True)
    bad = rewrite(saved(tmp_path), tmp_path / "evil.pt", replace={"array/0.npy": evil})
    with pytest.raises(ModelFileError, match=r"evil\.pt\['array/0'\]: holds Python objects"):
        mg.load(bad)
    assert not marker.exists()


def test_a_pytorch_file_is_named_as_such_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"w": torch.ones(2), "evil": Marker(str(marker))}, tmp_path / "model.pt")
    with pytest.raises(ModelFileError, match=r"model\.pt: a PyTorch file .* never unpickles"):
        mg.load(tmp_path / "model.pt")
    assert not marker.exists()


def damaged(tmp_path):
    good = saved(tmp_path)
    raw = good.read_bytes()
    cases = {
        "empty": (b"", r"the file is empty"),
        "text": (b"epoch,loss\n1,0.5\n", r"not a memograd file \(not an \.npz archive\)"),
        "truncated": (raw[: len(raw) // 2], r"truncated or corrupted"),
    }
    return cases


@pytest.mark.parametrize("case", ["empty", "text", "truncated"])
def test_damaged_files_are_refused_in_one_line_naming_the_file(tmp_path, case):
    content, message = damaged(tmp_path)[case]
    path = tmp_path / f"{case}.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as info:
        mg.load(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


HEADER_CASES = [
    (lambda h: h.update(format="other-tool"), r"not a memograd file \(header format is 'other"),
    (lambda h: h.update(version=2), r"file format version 2; this memograd reads version 1"),
    (lambda h: h.update(extra=1), r"unknown fields \['extra'\]"),
    (lambda h: h.pop("object"), r"'object' or 'arrays' missing"),
    (
        lambda h: h["object"]["items"][0].__setitem__(1, {"type": "pickle", "array": "0"}),
        r"object\['w'\] is not a node memograd writes",
    ),
    (
        lambda h: h["object"]["items"][0][1].update(array="7"),
        r"object\['w'\] names array '7', which the header does not list",
    ),
    (
        lambda h: h["object"]["items"][0][1].update(requires_grad="yes"),
        r"has requires_grad 'yes'",
    ),
    (
        lambda h: h["object"]["items"].append(["w", 1]),
        r"object.items\[2\] repeats the key 'w'",
    ),
    (lambda h: h["object"].update(type="set"), r"header field object is not a node"),
    (
        lambda h: h["object"]["items"].append(["s", {"type": "float", "value": "1e999"}]),
        r"has value '1e999'; expected nan, inf or -inf",
    ),
    (
        lambda h: h["arrays"].update({"0": {"shape": [3, 3], "dtype": "<f8"}}),
        r"'0' is <f8 of shape \(2, 2\), but the header says <f8 of shape \(3, 3\)",
    ),
    (
        lambda h: h["arrays"].update({"0": {"shape": [2, 2], "dtype": "|O"}}),
        r"header field arrays\['0'\].dtype is '\|O'; expected a numeric dtype",
    ),
    (
        lambda h: h["object"]["items"][0].__setitem__(1, {"type": "scalar", "array": "0"}),
        r"is a scalar but array '0' has shape \(2, 2\)",
    ),
]


@pytest.mark.parametrize(("change", "message"), HEADER_CASES)
def test_a_header_that_lies_is_refused_before_any_array_is_read(tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message) as info:
        mg.load(with_header(tmp_path, change))
    assert str(info.value).startswith(str(tmp_path / "bad.pt")) and "\n" not in str(info.value)


def test_arrays_the_header_does_not_list_or_never_uses_are_refused(tmp_path):
    good = saved(tmp_path)
    extra = rewrite(good, tmp_path / "extra.pt", add={"array/9.npy": npy_bytes(np.ones(2))})
    with pytest.raises(ModelFileError, match=r"holds entries the header does not list \(array/9"):
        mg.load(extra)

    def unused(h):
        h["arrays"]["5"] = {"shape": [1], "dtype": "<f8"}

    with pytest.raises(ModelFileError, match=r"lists arrays the object never uses \(5\)"):
        mg.load(with_header(tmp_path, unused))
    missing = rewrite(good, tmp_path / "missing.pt", drop=("array/0.npy",))
    with pytest.raises(ModelFileError, match=r"the header lists '0' but the archive lacks it"):
        mg.load(missing)


def test_an_entry_that_would_unpack_to_more_than_announced_is_refused_unread(tmp_path):
    good = saved(tmp_path, {"w": np.zeros(2)})
    bomb = npy_bytes(np.zeros(2_000_000))
    path = rewrite(good, tmp_path / "bomb.pt", replace={"array/0.npy": bomb})
    with pytest.raises(ModelFileError, match=r"unpacks to 16000128 bytes, far more than the 16"):
        mg.load(path)


def test_arrays_past_the_memory_budget_are_refused_before_reading(tmp_path):
    path = saved(tmp_path, {"w": np.zeros(1000)})
    with pytest.raises(ModelFileError, match=r"good\.pt: its 1 arrays would take 8 kB"):
        mg.load(path, budget=1000)
    assert mg.load(path, budget=1000, force=True)["w"].shape == (1000,)


def test_a_deeply_nested_header_is_refused_before_parsing(tmp_path):
    def nest(h):
        node = 1
        for _ in range(200):
            node = {"type": "list", "items": [node]}
        h["object"] = node

    with pytest.raises(ModelFileError, match=r"nested \d+ levels deep \(at most 64\)"):
        mg.load(with_header(tmp_path, nest))


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError):
        mg.load(tmp_path)
