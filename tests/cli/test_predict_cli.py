"""``memograd predict``: per-row predictions from a saved model, accuracy, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

import memograd as mg


@pytest.fixture
def blob_model(run, tmp_path):
    X, y = mg.data.blobs(n_samples=200, centers=3, seed=2)
    rows = "\n".join(f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(X, y))
    (tmp_path / "train.csv").write_text("u,v,label\n" + rows + "\n")
    status, _, err = run(
        "train",
        "--data",
        str(tmp_path / "train.csv"),
        "--epochs",
        "20",
        "--out",
        str(tmp_path / "m.npz"),
    )
    assert status == 0, err
    return tmp_path / "m.npz", X, y


def test_predictions_match_the_estimator_row_by_row(run, tmp_path, blob_model):
    model, X, _ = blob_model
    (tmp_path / "new.csv").write_text("v,u\n" + "\n".join(f"{b},{a}" for a, b in X[:5]) + "\n")
    status, out, err = run(
        "predict", "--model", str(model), "--data", str(tmp_path / "new.csv"), "--json"
    )
    assert status == 0, err
    result = json.loads(out)
    expected = mg.MLPClassifier.load(model).predict(X[:5])  # columns matched by name, not order
    assert result["predictions"] == expected.tolist()
    assert result["rows"] == 5 and result["accuracy"] is None
    np.testing.assert_allclose(np.sum(result["probabilities"], axis=1), 1.0)


def test_text_output_is_one_row_per_line_with_accuracy_on_stderr(run, blob_model):
    model, _, y = blob_model
    training_file = model.parent / "train.csv"
    status, out, err = run("predict", "--model", str(model), "--data", str(training_file))
    assert status == 0
    lines = out.strip().splitlines()
    assert lines[0] == "row\tprediction\tconfidence" and len(lines) == 1 + len(y)
    assert lines[1].split("\t")[0] == "0"
    accuracy = float(err.split()[1])
    assert accuracy > 0.9 and "on 200 rows" in err


def test_npy_features_are_predicted(run, tmp_path, blob_model):
    model, X, _ = blob_model
    np.save(tmp_path / "x.npy", X[:7])
    status, out, _ = run(
        "predict", "--model", str(model), "--data", str(tmp_path / "x.npy"), "--json"
    )
    assert status == 0 and len(json.loads(out)["predictions"]) == 7


def test_regressor_predictions(run, tmp_path):
    x = np.linspace(0, 1, 100)
    (tmp_path / "r.csv").write_text("x,y\n" + "\n".join(f"{a},{3 * a - 1}" for a in x) + "\n")
    status, _, err = run(
        "train",
        "--data",
        str(tmp_path / "r.csv"),
        "--epochs",
        "60",
        "--out",
        str(tmp_path / "r.npz"),
    )
    assert status == 0, err
    (tmp_path / "q.csv").write_text("x\n0.5\n")
    status, out, _ = run(
        "predict",
        "--model",
        str(tmp_path / "r.npz"),
        "--data",
        str(tmp_path / "q.csv"),
        "--json",
    )
    assert json.loads(out)["predictions"][0] == pytest.approx(0.5, abs=0.1)


def test_unknown_label_in_the_file_is_named_by_line(run, tmp_path, blob_model):
    model, _, _ = blob_model
    (tmp_path / "odd.csv").write_text("u,v,label\n0,0,1\n0,0,7\n")
    status, out, err = run("predict", "--model", str(model), "--data", str(tmp_path / "odd.csv"))
    assert status == 2 and out == ""
    assert "odd.csv: target, line 3: label 7 is not one of the model's classes [0, 1, 2]" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("u\n1\n", "rows have 1 features, the model expects 2; missing columns: v"),
        ("u,v\n1,inf\n", "line 2, column 2 ('v') is infinite"),
    ],
)
def test_bad_prediction_files_exit_2(run, tmp_path, blob_model, content, message):
    model, _, _ = blob_model
    (tmp_path / "x.csv").write_text(content)
    status, _, err = run("predict", "--model", str(model), "--data", str(tmp_path / "x.csv"))
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_non_model_files_are_refused(run, tmp_path):
    (tmp_path / "x.csv").write_text("u,v\n1,2\n")
    status, _, err = run(
        "predict", "--model", str(tmp_path / "x.csv"), "--data", str(tmp_path / "x.csv")
    )
    assert status == 2 and "not a memograd model" in err
    mg.nn.MLP([2, 2], rng=0).save(tmp_path / "plain.npz")
    status, _, err = run(
        "predict", "--model", str(tmp_path / "plain.npz"), "--data", str(tmp_path / "x.csv")
    )
    assert status == 2 and "a plain saved network" in err
    status, _, err = run(
        "predict",
        "--model",
        str(tmp_path / "absent.npz"),
        "--data",
        str(tmp_path / "x.csv"),
    )
    assert status == 2 and "absent.npz: No such file or directory" in err
