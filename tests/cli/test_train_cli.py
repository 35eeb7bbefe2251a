"""``memograd train``: accuracy targets with the defaults, JSON, reproducibility, bad arguments."""

from __future__ import annotations

import gzip
import json
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
    assert result["seconds"] < 60
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
