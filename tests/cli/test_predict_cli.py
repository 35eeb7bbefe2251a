"""``memograd predict``: per-row predictions from a saved model, accuracy, refusals."""

from __future__ import annotations

import io
import json
import zipfile

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


def with_metadata(source, target, edit):
    """Copy a model file, changing its header's JSON text with ``edit``."""
    with np.load(source) as archive:
        header = archive["__memograd__"].tobytes().decode()
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(edit(header).encode(), dtype=np.uint8))
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item.filename, buffer.getvalue() if "memograd" in item.filename else data)


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    import warnings

    folder = tmp_path_factory.mktemp("models")
    X, y = mg.data.blobs(n_samples=60, centers=3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: sklearn's ConvergenceWarning
        clf = mg.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
        reg = mg.MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
        reg.fit(X, X[:, 0] * 2)
    clf.save(folder / "clf.npz", feature_names=["u", "v"], target_name="label")
    reg.save(folder / "reg.npz", feature_names=["u", "v"])
    (folder / "x.csv").write_text("u,v\n0.5,1.5\n")
    return folder


def meta_edit(key, value):
    def edit(header):
        document = json.loads(header)
        if value is KeyError:
            del document["metadata"][key]
        else:
            document["metadata"][key] = value
        return json.dumps(document)

    return edit


def params_edit(**changes):
    def edit(header):
        document = json.loads(header)
        document["metadata"]["params"].update(changes)
        return json.dumps(document)

    return edit


@pytest.mark.parametrize(
    ("model", "edit", "message"),
    [
        ("clf", meta_edit("classes", [0, 1]), "classes [0, 1] do not make 'multiclass' labels"),
        ("clf", meta_edit("classes", [0, 0, 1]), "classes [0, 0, 1] do not make"),
        ("clf", meta_edit("classes", KeyError), "missing 'classes'"),
        ("clf", meta_edit("n_features", KeyError), "missing 'n_features'"),
        ("clf", meta_edit("n_features", "2"), "'n_features'"),
        ("clf", meta_edit("n_features", 3), "the network takes 2 features, not 3"),
        ("clf", meta_edit("feature_names", ["u"]), "'feature_names'"),
        ("clf", meta_edit("feature_names", 5), "'feature_names'"),
        ("clf", meta_edit("params", KeyError), "missing 'params'"),
        ("clf", params_edit(hidden_layer_sizes=[0]), "hidden_layer_sizes"),
        ("clf", params_edit(colour=1), "colour"),
        (
            "clf",
            meta_edit("target_name", 7),
            "metadata field 'target_name' is 7; expected a column",
        ),
        ("reg", meta_edit("n_outputs", 2), "1 outputs in the network, 2 stated"),
        ("reg", meta_edit("out_activation", "softmax"), "output activation 'softmax'"),
        (
            "clf",
            lambda h: h.replace('"n_features": 2', '"n_features": ' + "2" * 5000),
            "header field metadata.n_features is a 5000-digit integer",
        ),
        (
            "clf",
            lambda h: h[:-1] + ', "x": ' + "[" * 10_000 + "]" * 10_000 + "}",
            "header field x is nested 10001 levels deep",
        ),
    ],
)
def test_a_damaged_model_file_is_one_line_naming_the_field_never_an_internal_error(
    run, small_models, tmp_path, model, edit, message
):
    with_metadata(small_models / f"{model}.npz", tmp_path / "bad.npz", edit)
    status, out, err = run(
        "predict", "--model", str(tmp_path / "bad.npz"), "--data", str(small_models / "x.csv")
    )
    assert status == 2 and out == "", err
    assert err.startswith(f"memograd: error: {tmp_path / 'bad.npz'}: ")
    assert message in err and len(err.strip().splitlines()) == 1


def test_the_untouched_small_models_predict(run, small_models):
    for model in ("clf", "reg"):
        status, out, err = run(
            "predict",
            "--model",
            str(small_models / f"{model}.npz"),
            "--data",
            str(small_models / "x.csv"),
        )
        assert status == 0, err


def test_text_labels_with_tabs_and_line_breaks_stay_one_tsv_cell(run, tmp_path):
    X = np.array([[0.0], [0.1], [5.0], [5.1]] * 5)
    y = np.array(["a\tb", "a\tb", "line\nbreak", "line\nbreak"] * 5)
    clf = mg.MLPClassifier(
        hidden_layer_sizes=(4,), max_iter=300, learning_rate_init=0.05, random_state=0
    ).fit(X, y)
    clf.save(tmp_path / "m.npz", feature_names=["x"])
    (tmp_path / "x.csv").write_text("x\n0.05\n5.05\n")
    status, out, _ = run(
        "predict", "--model", str(tmp_path / "m.npz"), "--data", str(tmp_path / "x.csv")
    )
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    assert [line.split("\t")[1] for line in lines[1:]] == ["a\\tb", "line\\nbreak"]
