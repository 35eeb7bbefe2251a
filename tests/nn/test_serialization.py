"""Saving and loading: bit-exact round trips, and refusal of evil, truncated and foreign files."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

from memograd import nn
from memograd.nn import ModelFileError


def trained_like_model():
    model = nn.Sequential(
        nn.Standardize.fitted(np.array([1.0, -2.0, 0.5]), np.array([2.0, 1.0, 3.0])),
        nn.MLP([3, 8, 4], activation="leaky_relu", dropout=0.1, rng=0),
        nn.Tanh(),
    )
    for p in model.parameters():
        p.data[...] = np.random.default_rng(p.data.size).normal(size=p.data.shape)
    return model


def test_round_trip_is_bit_exact_and_rebuilds_the_architecture(tmp_path):
    model = trained_like_model()
    model.save(tmp_path / "m.npz", metadata={"note": "hello", "classes": [0, 1, 2, 3]})
    checkpoint = nn.load_checkpoint(tmp_path / "m.npz")
    loaded = checkpoint.model
    assert checkpoint.metadata == {"note": "hello", "classes": [0, 1, 2, 3]}
    assert repr(loaded) == repr(model)
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(original) == list(restored)
    for name in original:
        assert restored[name].dtype == original[name].dtype
        assert restored[name].tobytes() == original[name].tobytes(), name
    x = np.random.default_rng(1).normal(size=(5, 3))
    assert np.array_equal(model.eval()(x).data, loaded.eval()(x).data)


def test_float64_models_round_trip_too(tmp_path):
    model = nn.MLP([2, 3, 1], activation="gelu", dtype="float64", rng=3)
    nn.save(model, tmp_path / "d.npz")
    loaded = nn.load(tmp_path / "d.npz")
    assert loaded.layers[0].weight.data.dtype == np.float64
    assert loaded.layers[0].weight.data.tobytes() == model.layers[0].weight.data.tobytes()


def test_save_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"old")
    nn.MLP([2, 2], rng=0).save(target)
    assert os.listdir(tmp_path) == ["m.npz"]
    assert nn.load(target).sizes == [2, 2]


def test_a_failed_save_keeps_the_old_file(tmp_path):
    target = tmp_path / "m.npz"
    nn.MLP([2, 2], rng=0).save(target)
    before = target.read_bytes()
    with pytest.raises(TypeError, match="not plain JSON"):
        nn.MLP([2, 2], rng=0).save(target, metadata={"bad": object()})
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


class Marker:
    """Unpickling this writes a file: the proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def rewrite(source, target, replace=None, add=None):
    """Copy an .npz, replacing or adding members (name -> .npy bytes)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if replace and item.filename in replace:
                data = replace[item.filename]
            zout.writestr(item.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_pickled_object_in_place_of_a_weight_is_refused_and_never_runs(tmp_path):
    good = tmp_path / "good.npz"
    nn.MLP([2, 2], rng=0).save(good)
    marker = tmp_path / "pwned"
    evil = np.array([Marker(str(marker))], dtype=object)
    rewrite(
        good,
        tmp_path / "evil.npz",
        replace={"state/layers.0.weight.npy": npy_bytes(evil, allow_pickle=True)},
    )
    with pytest.raises(ModelFileError) as info:
        nn.load(tmp_path / "evil.npz")
    assert "evil.npz" in str(info.value) and "holds Python objects" in str(info.value)
    assert not marker.exists()


def test_extra_pickled_entry_is_refused_and_never_runs(tmp_path):
    good = tmp_path / "good.npz"
    nn.MLP([2, 2], rng=0).save(good)
    marker = tmp_path / "pwned"
    payload = npy_bytes(np.array([Marker(str(marker))], dtype=object), allow_pickle=True)
    rewrite(good, tmp_path / "evil.npz", add={"payload.npy": payload})
    with pytest.raises(ModelFileError, match="entries the header does not list"):
        nn.load(tmp_path / "evil.npz")
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_refused_with_the_file_named(tmp_path, keep):
    good = tmp_path / "good.npz"
    nn.MLP([16, 32, 4], rng=0).save(good)
    raw = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(ModelFileError, match=r"cut\.npz: truncated or corrupted"):
        nn.load(cut)


def test_corrupted_weight_bytes_are_caught_by_the_archive_checksum(tmp_path):
    good = tmp_path / "good.npz"
    nn.MLP([16, 32, 4], rng=0).save(good)
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("state/layers.0.weight.npy")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[middle] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(
        ModelFileError, match=r"bad\.npz: entry 'state/layers\.0\.weight' is corrupted"
    ):
        nn.load(tmp_path / "bad.npz")


def write_through_handle(save, **arrays):
    # np.save/np.savez append a suffix to bare names; writing through a handle keeps the name.
    def make(path):
        with open(path, "wb") as handle:
            save(handle, **arrays)

    return make


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (
            lambda p: p.write_text("layer,weight\n1,2\n"),
            "not a memograd model (not an .npz archive)",
        ),
        (
            write_through_handle(np.save, arr=np.ones(3)),
            "not a memograd model (not an .npz archive)",
        ),
        (
            write_through_handle(np.savez, X=np.ones(3)),
            "an .npz without a '__memograd__' header; it holds X",
        ),
    ],
    ids=["empty", "csv", "npy", "foreign-npz"],
)
def test_foreign_files_are_refused(tmp_path, make, message):
    path = tmp_path / "model.npz"
    make(path)
    with pytest.raises(ModelFileError) as info:
        nn.load(path)
    assert str(path) in str(info.value) and message in str(info.value)


def header_of(path):
    with np.load(path) as archive:
        return json.loads(archive["__memograd__"].tobytes())


def with_header(source, target, header):
    data = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    rewrite(source, target, replace={"__memograd__.npy": npy_bytes(data)})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h.update(version=99), "model format version 99; this memograd reads version 1"),
        (lambda h: h.update(format="other"), "header format is not 'memograd-model'"),
        (lambda h: h["architecture"].update(type="os.system"), "unknown module type 'os.system'"),
        (
            lambda h: h["architecture"]["config"].update(sizes=[2, 3]),
            "weights do not fit the architecture",
        ),
        (lambda h: h["arrays"]["layers.0.weight"].update(shape=[9, 9]), "but the header says"),
        (lambda h: h["architecture"]["config"].update(evil=1), "bad config for MLP"),
    ],
)
def test_tampered_headers_are_refused(tmp_path, edit, message):
    good = tmp_path / "good.npz"
    nn.MLP([2, 2], rng=0).save(good)
    header = header_of(good)
    edit(header)
    with_header(good, tmp_path / "bad.npz", header)
    with pytest.raises(ModelFileError) as info:
        nn.load(tmp_path / "bad.npz")
    assert "bad.npz" in str(info.value) and message in str(info.value)


def test_missing_model_file_is_a_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "absent.npz")


def test_an_entry_that_inflates_far_beyond_its_header_is_refused_before_unpacking(tmp_path):
    good = tmp_path / "good.npz"
    nn.MLP([2, 2], rng=0).save(good)
    bomb = npy_bytes(np.zeros((2000, 2000), dtype=np.float32))  # 16 MB of zeros, tiny zipped
    with (
        zipfile.ZipFile(good) as zin,
        zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            data = bomb if item.filename == "state/layers.0.weight.npy" else zin.read(item.filename)
            zout.writestr(item.filename, data)
    assert (tmp_path / "bomb.npz").stat().st_size < 100_000
    with pytest.raises(ModelFileError, match=r"unpacks to 16000128 bytes, far more than the 16"):
        nn.load(tmp_path / "bomb.npz")
