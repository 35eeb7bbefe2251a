"""Saving and loading: bit-exact round trips, and refusal of evil, truncated and foreign files."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tracemalloc
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


# ---- headers that ask for more than the file holds, or that break a naive reader ----------------


def header_only_file(path, header):
    """A model file holding only the JSON header (no weights), as a hostile user would write."""
    data = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(path, __memograd__=data)


def linear_header(n, arrays=None):
    return {
        "format": "memograd-model",
        "version": 1,
        "architecture": {"type": "Linear", "config": {"in_features": n, "out_features": n}},
        "arrays": arrays or {},
        "metadata": {},
    }


def peak_while(call):
    tracemalloc.start()
    try:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - returned for the caller to inspect
            return exc, tracemalloc.get_traced_memory()[1]
        return None, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n", [10**4, 30_000])
def test_a_tiny_file_announcing_a_huge_layer_is_refused_before_building_it(tmp_path, n):
    header_only_file(tmp_path / "huge.npz", linear_header(n))
    assert (tmp_path / "huge.npz").stat().st_size < 500
    error, peak = peak_while(lambda: nn.load(tmp_path / "huge.npz"))
    assert isinstance(error, ModelFileError)
    assert str(error).startswith(
        f"{tmp_path / 'huge.npz'}: weights do not fit the architecture: 'weight' (float32 "
        f"({n}, {n}), from architecture.config.in_features/out_features) is not in the file"
    )
    assert peak < 2**20  # before: 1.2 GB (and 18 GB for 30000)


def test_announced_arrays_that_are_absent_allocate_nothing(tmp_path):
    n = 30_000
    arrays = {"weight": {"shape": [n, n], "dtype": "<f4"}, "bias": {"shape": [n], "dtype": "<f4"}}
    header_only_file(tmp_path / "huge.npz", linear_header(n, arrays))
    error, peak = peak_while(lambda: nn.load(tmp_path / "huge.npz"))
    assert "the header lists 'weight' but the archive lacks it" in str(error)
    assert peak < 2**20


def test_weights_beyond_the_budget_are_refused_before_reading_them(tmp_path):
    nn.MLP([64, 64], rng=0).save(tmp_path / "m.npz")  # 16,640 bytes of weights
    with pytest.raises(ModelFileError, match=r"m\.npz: its 2 weight arrays would take 33 kB"):
        nn.load(tmp_path / "m.npz", budget=10_000)
    assert nn.load(tmp_path / "m.npz", budget=10_000, force=True).sizes == [64, 64]


def good_header(tmp_path):
    nn.MLP([2, 3, 2], rng=0).save(tmp_path / "good.npz", metadata={"classes": ["a", "b"]})
    return header_of(tmp_path / "good.npz")


def nested(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def swap(old, new):
    """An edit of the header's JSON text: ``old`` replaced by ``new``."""
    return lambda header: json.dumps(header).replace(old, new)


def deep_json(header, depth):
    """The header's JSON with metadata.deep nested ``depth`` levels (json.dumps would recurse)."""
    text = json.dumps(header)
    return text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            swap('"sizes": [2, 3, 2]', '"sizes": [2, ' + "9" * 5000 + ", 2]"),
            "header field architecture.config.sizes[1] is a 5000-digit integer (at most 19 digits)",
        ),
        (
            swap('"sizes": [2, 3, 2]', '"sizes": [2, "3", 2]'),
            "header field architecture.config.sizes[1] is '3'; expected a whole number from 1 to",
        ),
        (
            swap('"sizes": [2, 3, 2]', '"sizes": [2, 0, 2]'),
            "header field architecture.config.sizes[1] is 0; expected a whole number from 1 to",
        ),
        (
            swap('"dropout": 0.0', '"dropout": "0.1"'),
            "header field architecture.config.dropout is '0.1'; expected a number in [0, 1)",
        ),
        (
            swap('"activation": "relu"', '"activation": 7'),
            "header field architecture.config.activation is 7; expected one of 'relu'",
        ),
        (
            swap('"dropout": 0.0', '"dropout": NaN'),
            "damaged header (not JSON: NaN is not a JSON number)",
        ),
        (
            swap('"version": 1', '"version": 1, "version": 1'),
            "damaged header (not JSON: duplicate key 'version')",
        ),
        (lambda h: deep_json(h, 10_000), "header field deep is nested 10001 levels deep"),
        (lambda h: deep_json(h, 64), "header field deep is nested 65 levels deep (at most 64)"),
        (
            lambda h: json.dumps({**h, "architecture": {"type": "Sequential", "config": {}}}),
            "header field architecture.config.modules is missing (bad config for Sequential)",
        ),
        (
            lambda h: json.dumps(
                {**h, "arrays": {**h["arrays"], "x": {"shape": [1], "dtype": "O"}}}
            ),
            "header field arrays['x'].dtype is 'O'; expected a numeric dtype",
        ),
        (
            lambda h: json.dumps(
                {**h, "arrays": {**h["arrays"], "x": {"shape": [-1], "dtype": "<f4"}}}
            ),
            "header field arrays['x'].shape[0] is -1; expected a whole number from 0 to",
        ),
    ],
    ids=[
        "5000-digits",
        "string-size",
        "zero-size",
        "string-dropout",
        "number-activation",
        "nan",
        "duplicate-key",
        "nested-10000",
        "nested-65",
        "missing-setting",
        "object-dtype",
        "negative-dim",
    ],
)
def test_hostile_headers_are_refused_naming_file_and_field(tmp_path, edit, message):
    header = good_header(tmp_path)
    raw = np.frombuffer(edit(header).encode(), dtype=np.uint8)
    rewrite(
        tmp_path / "good.npz", tmp_path / "bad.npz", replace={"__memograd__.npy": npy_bytes(raw)}
    )
    with pytest.raises(ModelFileError) as info:
        nn.load(tmp_path / "bad.npz")
    assert str(info.value).startswith(f"{tmp_path / 'bad.npz'}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_expected_state_matches_what_every_builtin_module_really_holds():
    from memograd.nn.model_header import expected_state

    models = [
        nn.MLP([3, 5, 4, 2], activation="tanh", dropout=0.2, rng=0),
        nn.MLP([3, 2], bias=False, dtype="float64", rng=0),
        nn.Sequential(
            nn.Standardize(3),
            nn.Linear(3, 4, rng=0),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.1),
            nn.GELU(),
            nn.Sequential(nn.Linear(4, 2, bias=False, rng=0), nn.Sigmoid()),
            nn.ReLU(),
            nn.Tanh(),
        ),
    ]
    for model in models:
        expected, opaque = expected_state(model.describe(), "m.npz")
        state = model.state_dict()
        assert opaque == []
        assert {k: (s, d) for k, (s, d, _) in expected.items()} == {
            k: (v.shape, v.dtype) for k, v in state.items()
        }


def test_a_saved_model_with_nan_weights_is_refused_at_load_and_never_written(tmp_path):
    model = nn.MLP([2, 2], rng=0)
    model.save(tmp_path / "m.npz")
    model.layers[0].weight.data[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"state entry 'layers.0.weight' holds NaN at \[1, 0\]"):
        model.save(tmp_path / "nan.npz")
    assert not (tmp_path / "nan.npz").exists()
    state = {"state/layers.0.weight.npy": npy_bytes(model.layers[0].weight.data)}
    rewrite(tmp_path / "m.npz", tmp_path / "nan.npz", replace=state)
    with pytest.raises(ModelFileError, match=r"nan\.npz: weight 'layers.0.weight' holds NaN at"):
        nn.load(tmp_path / "nan.npz")


# ---- writing: permissions, symlinks, a killed writer, a full disk -------------------------------


def test_overwriting_keeps_the_permission_bits_of_the_old_file(tmp_path):
    target = tmp_path / "private.npz"
    nn.MLP([2, 2], rng=0).save(target)
    os.chmod(target, 0o600)
    nn.MLP([2, 3], rng=0).save(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert nn.load(target).sizes == [2, 3]
    os.chmod(target, 0o640)
    nn.MLP([2, 2], rng=0).save(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_file_gets_the_mode_open_would_give(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    nn.MLP([2, 2], rng=0).save(tmp_path / "new.npz")
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o666 & ~mask


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "real.npz"
    nn.MLP([2, 2], rng=0).save(real)
    os.chmod(real, 0o600)
    (tmp_path / "link.npz").symlink_to(real)
    nn.MLP([2, 5], rng=0).save(tmp_path / "link.npz")
    assert (tmp_path / "link.npz").is_symlink()
    assert nn.load(real).sizes == [2, 5]
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "models" / "later.npz")
    nn.MLP([2, 4], rng=0).save(tmp_path / "dangling.npz")
    assert (tmp_path / "dangling.npz").is_symlink()
    assert nn.load(tmp_path / "models" / "later.npz").sizes == [2, 4]
    assert sorted(os.listdir(tmp_path / "models")) == ["later.npz", "real.npz"]


KILLED_WRITER = """
import os, sys, time
import numpy as np
import memograd as mg

def stalled(handle, **entries):  # write part of the archive, then hang until killed
    handle.write(b"PK\\x03\\x04" + bytes(1000))
    handle.flush()
    os.fsync(handle.fileno())
    print("writing", flush=True)
    time.sleep(120)

np.savez_compressed = stalled
mg.nn.MLP([3, 3], rng=0).save(sys.argv[1])
"""


def test_a_save_killed_with_sigkill_leaves_the_old_file_and_a_temporary_the_next_save_removes(
    tmp_path,
):
    target = tmp_path / "m.npz"
    nn.MLP([2, 2], rng=0).save(target)
    before = target.read_bytes()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout.readline() == b"writing\n"
    finally:
        child.kill()  # SIGKILL: no cleanup code can run
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert target.read_bytes() == before
    leftovers = [name for name in os.listdir(tmp_path) if name != "m.npz"]
    assert len(leftovers) == 1
    assert re.fullmatch(rf"\.m\.npz\.memograd-[0-9a-f]{{8}}-{child.pid}-\w+\.tmp", leftovers[0])
    # A live writer's temporary (this process's pid) is left alone; the dead one's is removed.
    live = tmp_path / leftovers[0].replace(f"-{child.pid}-", f"-{os.getpid()}-")
    live.write_bytes(b"in progress")
    nn.MLP([2, 3], rng=0).save(target)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", live.name])
    assert nn.load(target).sizes == [2, 3]


def test_a_full_disk_keeps_the_old_file_and_names_the_target(tmp_path, monkeypatch):
    target = tmp_path / "m.npz"
    nn.MLP([2, 2], rng=0).save(target)
    before = target.read_bytes()

    def full_disk(handle, **entries):
        handle.write(b"PK\x03\x04" + bytes(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    with pytest.raises(OSError) as info:
        nn.MLP([2, 3], rng=0).save(target)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert "No space left on device" in info.value.strerror
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]
