"""Fitted estimators in memograd's model file: round trips, files of the earlier estimators,
and refusals. The file is the .npz of ``memograd.nn.save`` (JSON header, plain arrays, loaded
with pickling off); these tests are about what the estimators put in it and read back."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import memograd as mg
from memograd.cli import main
from memograd.nn import ModelFileError, load_checkpoint, save
from memograd.nn.estimators.files import FITTED

DATA = Path(__file__).with_name("data")
RNG = np.random.default_rng(5)
X = RNG.normal(size=(80, 3))


def fit(make, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(hidden_layer_sizes=(6, 4), max_iter=20, random_state=0, **kwargs).fit(X, y)


CASES = {
    "text classes": (
        mg.MLPClassifier,
        np.array(["ant", "bee", "cat", "dog"])[RNG.integers(0, 4, 80)],
        {},
    ),
    "binary bools": (mg.MLPClassifier, X[:, 0] > 0, {"activation": "tanh"}),
    "multilabel": (mg.MLPClassifier, RNG.integers(0, 2, (80, 3)), {"activation": "logistic"}),
    "float classes, float32": (
        mg.MLPClassifier,
        np.round(X[:, 1]).clip(-1, 1),
        {"dtype": "float32"},
    ),
    "two targets": (mg.MLPRegressor, X[:, :2] * 3, {"activation": "gelu", "early_stopping": True}),
    "poisson, lbfgs": (mg.MLPRegressor, RNG.poisson(3, 80), {"loss": "poisson", "solver": "lbfgs"}),
    "no stopping rule": (mg.MLPRegressor, X[:, 0], {"n_iter_no_change": np.inf, "dropout": 0.2}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_saved_estimator_loads_as_the_same_estimator(case, tmp_path):
    make, y, kwargs = CASES[case]
    est = fit(make, y, **kwargs)
    est.save(tmp_path / "m.npz", note="kept")
    again = make.load(tmp_path / "m.npz")
    assert again.get_params() == est.get_params()
    outputs = "predict_proba" if make is mg.MLPClassifier else "predict"
    np.testing.assert_array_equal(getattr(again, outputs)(X), getattr(est, outputs)(X))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    for name in (*FITTED, "n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert hasattr(again, name) == hasattr(est, name), name
        if hasattr(est, name):
            assert getattr(again, name) == getattr(est, name), name
    if make is mg.MLPClassifier:
        assert again.classes_.dtype == est.classes_.dtype
        np.testing.assert_array_equal(again.classes_, est.classes_)
    assert load_checkpoint(tmp_path / "m.npz").metadata["note"] == "kept"


def test_dataframe_feature_names_travel_with_the_model(tmp_path):
    frame = pd.DataFrame(X, columns=["height", "width", "depth"])
    est = mg.MLPRegressor(max_iter=5).fit(frame, X[:, 0])
    est.save(tmp_path / "m.npz")
    again = mg.MLPRegressor.load(tmp_path / "m.npz")
    assert again.feature_names_in_.tolist() == ["height", "width", "depth"]
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        again.predict(frame[["width", "height", "depth"]])


def test_the_estimators_own_metadata_keys_cannot_be_overwritten(tmp_path):
    est = fit(mg.MLPClassifier, X[:, 0] > 0)
    with pytest.raises(ValueError, match=r"metadata keys \['classes'\] are the estimator's own"):
        est.save(tmp_path / "m.npz", classes=[1, 2])
    with pytest.raises(ModelFileError, match="holds a MLPClassifier, not a MLPRegressor"):
        est.save(tmp_path / "m.npz")
        mg.MLPRegressor.load(tmp_path / "m.npz")


def rewrite(path, change):
    """Save the file's network again with its metadata edited by ``change``."""
    checkpoint = load_checkpoint(path)
    meta = json.loads(json.dumps(checkpoint.metadata))
    change(meta)
    save(checkpoint.model, path, metadata=meta)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["params"].update(activation="tanh"), "layers do not match activation='tanh'"),
        (lambda m: m["params"].update(hidden_layer_sizes=[6]), "hidden layers of [6, 4] units"),
        (lambda m: m["params"].update(alpha=-1), "The 'alpha' parameter of MLPClassifier"),
        (lambda m: m.update(classes=["a", "b"]), "classes ['a', 'b'] are not of dtype bool"),
        (
            lambda m: m.update(classes=[0, 1, 2], classes_dtype="<i8", label_type="multiclass"),
            "3 classes need a softmax output",
        ),
        (lambda m: m.update(out_activation="softmax"), "2 classes need a logistic output"),
        (lambda m: m.update(n_features=4), "the network takes 3 features, not 4"),
        (lambda m: m.update(classes_dtype="<M8[ns]"), "classes of dtype '<M8[ns]'"),
        (lambda m: m.update(estimator_format=3), "estimator format 3; this memograd reads 2"),
        (lambda m: m.pop("label_type"), "missing 'label_type'"),
    ],
)
def test_an_inconsistent_file_is_refused_naming_it(tmp_path, change, message):
    fit(mg.MLPClassifier, X[:, 0] > 0).save(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", change)
    with pytest.raises(ModelFileError) as error:
        mg.MLPClassifier.load(tmp_path / "m.npz")
    assert str(error.value).startswith(f"{tmp_path / 'm.npz'}: not a usable MLPClassifier (")
    assert message in str(error.value)


# Files written by the estimators before they were scikit-learn's (memograd at commit abd9409,
# `MLPClassifier(hidden=(8,), epochs=15, seed=0).fit(...).save(...)` and so on), with what that
# code predicted for a few probe rows. Loading folds their input standardisation into the first
# layer (and a regressor's target scaling into the last): the same function of the raw inputs.
EXPECTED = np.load(DATA / "legacy_expected.npz")


def test_an_earlier_classifier_file_predicts_what_it_predicted():
    est = mg.MLPClassifier.load(DATA / "legacy_classifier.npz")
    np.testing.assert_allclose(
        est.predict_proba(EXPECTED["probe"]), EXPECTED["classifier_proba"], rtol=1e-5, atol=1e-7
    )
    assert est.classes_.tolist() == ["ant", "bee", "cat"]
    assert (est.hidden_layer_sizes, est.max_iter, est.batch_size, est.random_state) == (
        (8,),
        15,
        32,
        0,
    )
    assert est.out_activation_ == "softmax" and est.n_features_in_ == 2


def test_an_earlier_two_class_file_becomes_one_logistic_unit():
    est = mg.MLPClassifier.load(DATA / "legacy_binary.npz")
    assert (est.out_activation_, est.n_outputs_, est.activation) == ("logistic", 1, "logistic")
    np.testing.assert_allclose(
        est.predict_proba(EXPECTED["probe"]), EXPECTED["binary_proba"], rtol=1e-5, atol=1e-7
    )


def test_an_earlier_regressor_file_predicts_in_the_targets_units():
    est = mg.MLPRegressor.load(DATA / "legacy_regressor.npz")
    np.testing.assert_allclose(
        est.predict(EXPECTED["probe3"]), EXPECTED["regressor_predict"], rtol=1e-5, atol=1e-5
    )
    assert est.activation == "gelu" and est.n_outputs_ == 2


def test_memograd_predict_reads_an_earlier_train_file(capsys, tmp_path):
    probe = EXPECTED["probe"]
    rows = "\n".join(f"{b},{a}" for a, b in probe)  # columns by name, in another order
    (tmp_path / "new.csv").write_text("v,u\n" + rows + "\n")
    model = str(DATA / "legacy_classifier.npz")
    status = main(["predict", "--model", model, "--data", str(tmp_path / "new.csv"), "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    result = json.loads(out)
    expected = np.array(["ant", "bee", "cat"])[EXPECTED["classifier_proba"].argmax(axis=1)]
    assert result["predictions"] == expected.tolist()
    np.testing.assert_allclose(result["probabilities"], EXPECTED["classifier_proba"], rtol=1e-5)
