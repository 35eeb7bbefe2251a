"""``memograd train``: accuracy targets with the defaults, JSON, reproducibility, bad arguments."""

from __future__ import annotations

import errno
import gzip
import json
import os
import struct

import numpy as np
import pytest

from memograd.nn import load_checkpoint


def train_json(run, tmp_path, *argv, name="m.npz"):
    status, out, err = run("train", "--json", "--out", str(tmp_path / name), *argv)
    assert status == 0, err
    return json.loads(out)


def test_digits_defaults_reach_097_and_save_a_loadable_model(run, tmp_path):
    result = train_json(run, tmp_path, "--dataset", "digits")
    assert result["test_accuracy"] >= 0.97
    assert result["epochs"] == len(result["train_loss"]) == 40
    assert result["train_loss"][-1] < result["train_loss"][0]
    assert result["rows_train"] + result["rows_test"] == 1797
    assert result["seconds"] > 0  # reported; its size is the machine's, not a test's business
    assert result["model_path"] == str(tmp_path / "m.npz")
    checkpoint = load_checkpoint(result["model_path"])
    assert checkpoint.metadata["classes"] == list(range(10))
    assert checkpoint.metadata["test_accuracy"] == result["test_accuracy"]


def test_moons_defaults_reach_099(run, tmp_path):
    result = train_json(run, tmp_path, "--dataset", "moons")
    assert result["test_accuracy"] >= 0.99
    assert result["sizes"] == [2, 64, 64, 1]  # two classes: one logistic output unit


def test_same_seed_same_model_bytes_and_losses(run, tmp_path):
    argv = ("--dataset", "circles", "--epochs", "3", "--seed", "4")
    a = train_json(run, tmp_path, *argv, name="a.npz")
    b = train_json(run, tmp_path, *argv, name="b.npz")
    assert a["train_loss"] == b["train_loss"]
    sa, sb = load_checkpoint(tmp_path / "a.npz").model, load_checkpoint(tmp_path / "b.npz").model
    assert all(
        sa.state_dict()[k].tobytes() == sb.state_dict()[k].tobytes() for k in sa.state_dict()
    )
    c = train_json(run, tmp_path, "--dataset", "circles", "--epochs", "3", "--seed", "5")
    assert c["train_loss"] != a["train_loss"]


def test_flags_override_the_recipe(run, tmp_path):
    result = train_json(
        run,
        tmp_path,
        "--dataset",
        "spirals",
        "--hidden",
        "16,8",
        "--activation",
        "tanh",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--lr",
        "0.01",
        "--optimizer",
        "sgd",
    )
    assert result["sizes"] == [2, 16, 8, 3]
    assert (result["activation"], result["optimizer"], result["lr"]) == ("tanh", "sgd", 0.01)
    assert result["epochs"] == 2 and result["batch_size"] == 64


def test_text_output_reports_accuracy_and_path(run, tmp_path):
    status, out, err = run(
        "train", "--dataset", "blobs", "--epochs", "2", "--out", str(tmp_path / "b.npz")
    )
    assert status == 0 and err == ""
    assert "test accuracy" in out and str(tmp_path / "b.npz") in out


def test_csv_file_with_text_labels(run, tmp_path):
    rng = np.random.default_rng(0)
    lines = ["width,kind,height"]
    for _ in range(200):
        kind = rng.integers(0, 2)
        lines.append(
            f"{rng.normal(3 * kind, 0.5):.4f},{['small', 'large'][kind]},{rng.normal():.4f}"
        )
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    result = train_json(
        run, tmp_path, "--data", str(tmp_path / "t.csv"), "--target", "kind", "--epochs", "30"
    )
    assert result["classes"] == ["large", "small"]
    assert result["test_accuracy"] >= 0.95
    assert load_checkpoint(tmp_path / "m.npz").metadata["feature_names"] == ["width", "height"]


def test_csv_with_fractional_target_trains_a_regressor(run, tmp_path):
    x = np.linspace(-1, 1, 200)
    rows = "\n".join(f"{a:.5f},{2 * a + 1:.5f}" for a in x)
    (tmp_path / "r.csv").write_text("x,y\n" + rows + "\n")
    result = train_json(run, tmp_path, "--data", str(tmp_path / "r.csv"), "--epochs", "40")
    assert result["task"] == "regression" and result["test_accuracy"] is None
    assert result["test_r2"] > 0.99


def idx(array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_mnist_style_idx_files_train_by_pointing_at_the_images(run, tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=300)
    images = rng.integers(0, 60, size=(300, 4, 4))
    images[labels == 1, :2, :] += 150  # class 1: bright top half
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(idx(images))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(idx(labels))
    result = train_json(
        run, tmp_path, "--data", str(tmp_path / "train-images-idx3-ubyte.gz"), "--epochs", "5"
    )
    assert result["features"] == 16 and result["test_accuracy"] >= 0.95


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "-3"], "argument --epochs: expected a whole number >= 1, got -3"),
        (["--epochs", "x"], "argument --epochs: expected a whole number, got 'x'"),
        (["--batch-size", "0"], "argument --batch-size: expected a whole number >= 1, got 0"),
        (["--lr", "-1"], "argument --lr: expected a finite number > 0"),
        (["--dataset", "mnist"], "argument --dataset: invalid choice: 'mnist'"),
        (["--hidden", "64,,32"], "expected comma-separated layer sizes"),
        (["--hidden", "0"], "every hidden size must be >= 1"),
        (["--dropout", "1.5"], "expected a probability in [0, 1), got 1.5"),
        (["--test-size", "1"], "expected a fraction between 0 and 1, got 1"),
        (["--dataset", "moons", "--data", "x.csv"], "not allowed with argument"),
        (["--target", "y"], "--target needs --data FILE"),
        (["--data", "no-such-file.csv"], "no-such-file.csv: No such file or directory"),
        (["--out", "/no/such/dir/m.npz"], "directory '/no/such/dir' does not exist"),
        (["--task", "guess"], "argument --task: invalid choice: 'guess'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(run, argv, message):
    status, out, err = run("train", *argv)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,y\n1,nan,0\n2,3,1\n", "line 2, column 2 ('b') is NaN"),
        ("a,b,y\n1,2,0\n3,4\n", "line 3 has 2 cells but the header has 3 (ragged row)"),
        ("a,b,y\n1,x,0\n", "line 2, column 2 ('b'): 'x' is not a number"),
        ("", "the file is empty"),
    ],
)
def test_bad_csv_exits_2_naming_file_line_and_column(run, tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    status, out, err = run("train", "--data", str(path), "--out", str(tmp_path / "m.npz"))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err and message in err
    assert not (tmp_path / "m.npz").exists()


def test_missing_target_column_is_named(run, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    status, _, err = run("train", "--data", str(path), "--target", "label")
    assert status == 2
    assert "no target column named 'label'; the columns are 'a', 'b'" in err


def test_diverged_training_exits_2_with_one_line_and_saves_nothing(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "model.npz"
    code = "import sys; from memograd.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["train", "--dataset", "moons", "--lr", "1e30", "--epochs", "2", "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no NumPy RuntimeWarning, no traceback
    assert "diverged in epoch 1" in lines[0] and "--lr" in lines[0]
    assert not out.exists()


def _no_training(*args, **kwargs):
    raise AssertionError("training started past the memory budget")


def test_a_model_past_the_memory_budget_is_refused_before_any_weight(run, tmp_path, monkeypatch):
    # --hidden 5000000 used to allocate about 4 GB and then exit 1; 1000000 would take 7 GB.
    from memograd.nn import estimators

    monkeypatch.setattr(estimators.MLPClassifier, "fit", _no_training)
    out_file = tmp_path / "m.npz"
    status, out, err = run(
        "train", "--dataset", "moons", "--hidden", "1000000", "--out", str(out_file)
    )
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert line == (
        "memograd: error: training the 2-1000000-1 model (4,000,001 parameters) would take "
        "about 7 GB of memory, over the budget of 1 GB; --force runs it anyway, or use "
        "smaller --hidden or --batch-size"
    )
    assert not out_file.exists()


def test_force_lifts_the_budget_but_never_the_machines_memory(run, tmp_path, monkeypatch):
    from memograd import _budget

    monkeypatch.setattr(_budget, "DEFAULT_MEMORY_BUDGET", 1000)
    argv = ("--dataset", "moons", "--hidden", "8", "--epochs", "1")
    status, _, err = run("train", *argv, "--out", str(tmp_path / "a.npz"))
    assert status == 2 and "over the budget of 1 kB" in err
    assert train_json(run, tmp_path, *argv, "--force")["epochs"] == 1
    monkeypatch.setattr(_budget, "available_memory", lambda: 1000)
    status, _, err = run("train", *argv, "--force", "--out", str(tmp_path / "b.npz"))
    assert status == 2 and "available on this machine (--force does not lift this)" in err


def test_the_memory_estimate_bounds_the_measured_peak(run, tmp_path):
    import tracemalloc

    from memograd import _budget

    estimates = []
    real_check = _budget.check

    def recording_check(estimate, budget, **kwargs):
        estimates.append(estimate.bytes)
        return real_check(estimate, budget, **kwargs)

    argv = ("--dataset", "digits", "--hidden", "600,600", "--epochs", "1", "--batch-size", "256")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_budget, "check", recording_check)
        tracemalloc.start()
        try:
            train_json(run, tmp_path, *argv)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    (estimate,) = estimates
    assert peak <= estimate <= 2 * peak


def two_blobs_csv(path, label_text):
    rng = np.random.default_rng(0)
    lines = ["a,b,y"]
    for i in range(120):
        k = i % 2
        lines.append(f"{rng.normal(3 * k, 0.5):.4f},{rng.normal():.4f},{label_text[k]}")
    path.write_text("\n".join(lines) + "\n")


def test_labels_written_as_0_0_and_1_0_train_a_classifier_and_say_so(run, tmp_path):
    two_blobs_csv(tmp_path / "f.csv", ["0.0", "1.0"])
    result = train_json(run, tmp_path, "--data", str(tmp_path / "f.csv"), "--epochs", "10")
    assert result["task"] == "classification" and result["classes"] == [0, 1]
    assert result["task_reason"].startswith("classification: 2 classes [0, 1] (whole numbers;")
    assert result["test_accuracy"] >= 0.95
    status, out, _ = run(
        "train",
        "--data",
        str(tmp_path / "f.csv"),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "t.npz"),
    )
    assert status == 0
    assert out.splitlines()[1] == (
        "target read as classification: 2 classes [0, 1] (whole numbers; --task regression "
        "reads them as values)"
    )


def test_task_flag_overrides_the_reading_and_refuses_the_impossible(run, tmp_path):
    two_blobs_csv(tmp_path / "f.csv", ["0.0", "1.0"])
    result = train_json(
        run, tmp_path, "--data", str(tmp_path / "f.csv"), "--epochs", "2", "--task", "regression"
    )
    assert result["task"] == "regression" and result["test_accuracy"] is None
    assert result["task_reason"] == "regression (--task): values from 0 to 1"
    two_blobs_csv(tmp_path / "g.csv", ["0.5", "1.0"])
    status, _, err = run(
        "train", "--data", str(tmp_path / "g.csv"), "--task", "classification", "--epochs", "1"
    )
    assert status == 2
    assert f"{tmp_path / 'g.csv'}: target[0] = 0.5 is not a whole number, so it cannot" in err


def test_a_read_only_output_directory_is_refused_before_loading_or_training(
    run, tmp_path, monkeypatch
):
    import memograd.data

    def no_loading(*args, **kwargs):
        raise AssertionError("the data was loaded before --out was checked")

    monkeypatch.setattr(memograd.data, "load_file", no_loading)
    monkeypatch.setattr(memograd.data, "load_digits", no_loading)
    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if p == locked else real_access(p, mode, **kw)
    )
    status, out, err = run("train", "--out", str(locked / "m.npz"))
    assert status == 2 and out == ""
    assert err == (
        f"memograd: error: --out {locked / 'm.npz'}: {locked}: directory is not writable "
        "(nothing was done)\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_a_really_read_only_directory_is_refused_before_training(run, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _, err = run("train", "--dataset", "moons", "--out", str(locked / "m.npz"))
    finally:
        locked.chmod(0o700)
    assert status == 2 and "directory is not writable (nothing was done)" in err


def test_a_full_disk_while_saving_is_one_line_and_leaves_no_file(run, tmp_path, monkeypatch):
    def full_disk(handle, **entries):
        handle.write(b"PK\x03\x04")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    status, out, err = run(
        "train", "--dataset", "blobs", "--epochs", "1", "--out", str(tmp_path / "m.npz")
    )
    assert status == 2
    assert err == (
        f"memograd: error: {tmp_path / 'm.npz'}: No space left on device (while writing; nothing "
        "was replaced)\n"
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_at_once(run, tmp_path):
    status, _, err = run("train", "--data", "/dev/zero", "--out", str(tmp_path / "m.npz"))
    assert status == 2
    assert err.startswith("memograd: error: /dev/zero: is a character device, not a regular file")


def test_a_latin_1_csv_names_the_line_and_byte(run, tmp_path):
    (tmp_path / "l.csv").write_bytes("a,y\n1,0\n2,\u00e9t\u00e9\n".encode("latin-1"))
    status, _, err = run("train", "--data", str(tmp_path / "l.csv"), "--out", str(tmp_path / "m"))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert f"{tmp_path / 'l.csv'}: line 3, byte 10: not a UTF-8 text file (byte 0xe9" in err
