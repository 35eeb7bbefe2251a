"""The estimators among scikit-learn's tools: clone, pipelines, cross-validation, grid search,
and a script written for scikit-learn's MLP, run as it is and with only its import changed."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import memograd as mg

SCRIPT = Path(__file__).with_name("sklearn_mlp_script.py")
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"


def digits(n=600):
    X, y = mg.data.load_digits()
    return X[:n].astype(np.float64), y[:n]


def test_clone_keeps_every_parameter_and_no_fitted_state():
    X, y = digits(200)
    original = mg.MLPClassifier(hidden_layer_sizes=(7, 3), alpha=0.5, dropout=0.1, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original.fit(X, y)
    copy = clone(original)
    assert copy.get_params() == original.get_params()
    assert not hasattr(copy, "coefs_")
    assert copy.set_params(hidden_layer_sizes=(4,)).hidden_layer_sizes == (4,)


def test_pipeline_with_a_scaler_scores_as_sklearns_does():
    X, y = digits()
    scores = []
    for make in (mg.MLPClassifier, SklearnClassifier):
        pipe = make_pipeline(StandardScaler(), make(max_iter=80, random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # both stop at max_iter
            scores.append(pipe.fit(X[:450], y[:450]).score(X[450:], y[450:]))
    assert scores[0] == pytest.approx(scores[1], abs=0.04)
    assert min(scores) > 0.85


def test_cross_val_score_and_grid_search_run_on_memograd():
    X, y = digits(400)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(mg.MLPClassifier(max_iter=60, random_state=0), X, y, cv=folds)
    assert scores.shape == (3,) and scores.min() > 0.85
    search = GridSearchCV(
        mg.MLPClassifier(max_iter=60, random_state=0),
        {"hidden_layer_sizes": [(2,), (50,)], "alpha": [1e-4]},
        cv=folds,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] == (50,)  # two units cannot tell 10 digits
    assert search.best_estimator_.coefs_[0].shape == (64, 50)


def run_script(on_memograd: bool) -> dict:
    source = SCRIPT.read_text()
    assert source.count(IMPORT) == 1
    if on_memograd:
        source = source.replace(IMPORT, "from memograd import MLPClassifier, MLPRegressor\n")
    namespace: dict = {"__name__": "sklearn_mlp_script"}
    exec(compile(source, str(SCRIPT), "exec"), namespace)  # noqa: S102 - running it is the test
    with warnings.catch_warnings():
        result = namespace["run"]()
    assert namespace["MLPClassifier"].__module__.startswith(
        "memograd" if on_memograd else "sklearn"
    )
    return result


def test_a_script_written_for_sklearn_runs_on_memograd_with_only_its_import_changed():
    theirs = run_script(on_memograd=False)
    ours = run_script(on_memograd=True)
    # Structure: exactly scikit-learn's.
    for key in ("shapes", "structure", "curves", "proba", "log_proba"):
        assert ours["early_stopping"][key] == theirs["early_stopping"][key], key
    for key in ("structure", "no_curve"):
        assert ours["lbfgs"][key] == theirs["lbfgs"][key], key
    assert ours["partial_fit"]["counts"] == theirs["partial_fit"]["counts"] == (225, 5, 1)
    assert ours["grid"]["candidates"] == theirs["grid"]["candidates"] == 4
    assert ours["warm_start"] == theirs["warm_start"] == (5, 3375, 15)
    # Quality: within a few points of scikit-learn's (different initial draws, same method).
    for a, b in [
        (ours["early_stopping"]["accuracy"], theirs["early_stopping"]["accuracy"]),
        (ours["lbfgs"]["train_accuracy"], theirs["lbfgs"]["train_accuracy"]),
        (ours["partial_fit"]["accuracy"], theirs["partial_fit"]["accuracy"]),
        (ours["grid"]["best_score"], theirs["grid"]["best_score"]),
        (ours["grid"]["refit_accuracy"], theirs["grid"]["refit_accuracy"]),
        (ours["cross_val"], theirs["cross_val"]),
    ]:
        assert a == pytest.approx(b, abs=0.08)
    assert ours["pipeline_r2"] > 0.95 and theirs["pipeline_r2"] > 0.95
