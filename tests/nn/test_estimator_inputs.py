"""Inputs and fitted state as scikit-learn's MLP has them: each case is run on both estimators.

DataFrames (feature names kept and checked), object arrays of numbers, sparse matrices of every
format, a continuous target given to a classifier, partial_fit and warm starts: memograd's
estimator must succeed where scikit-learn's does, fail where it fails with the same exception
and message, warn the same warnings, and set the same fitted attributes.
"""

from __future__ import annotations

import io
import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.neural_network import MLPRegressor as SklearnRegressor

import memograd as mg

CLASSIFIERS = {"memograd": mg.MLPClassifier, "sklearn": SklearnClassifier}
REGRESSORS = {"memograd": mg.MLPRegressor, "sklearn": SklearnRegressor}
RNG = np.random.default_rng(3)
X = RNG.normal(size=(60, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
SMALL = {"hidden_layer_sizes": (8,), "max_iter": 30, "random_state": 0}


def outcome(make, action):
    """(value, (exception type, message) or None, warnings other than ConvergenceWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value, error = action(make), None
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            value, error = None, (type(exc), str(exc))
    seen = sorted(
        {(w.category.__name__, str(w.message)) for w in caught}
        - {(ConvergenceWarning.__name__, str(w.message)) for w in caught}
    )
    return value, error, seen


def same_outcome(pair, action):
    """Run ``action(cls)`` on both; the errors and warnings must be identical."""
    ours = outcome(pair["memograd"], action)
    theirs = outcome(pair["sklearn"], action)
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    return ours[0], theirs[0]


def test_dataframes_keep_and_check_feature_names():
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    fitted = same_outcome(CLASSIFIERS, lambda cls: cls(**SMALL).fit(frame, Y))
    ours, theirs = fitted
    assert ours.feature_names_in_.tolist() == theirs.feature_names_in_.tolist() == list("abcd")
    assert ours.feature_names_in_.dtype == theirs.feature_names_in_.dtype == object
    same_outcome(
        {"memograd": ours, "sklearn": theirs}, lambda est: est.predict(frame[list("badc")])
    )  # reordered columns: the same ValueError naming them
    same_outcome({"memograd": ours, "sklearn": theirs}, lambda est: est.predict(X))  # warns
    np.testing.assert_array_equal(ours.predict(frame), ours.predict(X))
    numbered = pd.DataFrame(X)  # non-string column names: none kept, as scikit-learn does
    ours, theirs = same_outcome(REGRESSORS, lambda cls: cls(**SMALL).fit(numbered, X[:, 0]))
    assert not hasattr(ours, "feature_names_in_") and not hasattr(theirs, "feature_names_in_")


def test_object_arrays_of_numbers_train_as_the_numbers():
    same_outcome(CLASSIFIERS, lambda cls: cls(**SMALL).fit(X.astype(object), Y))
    from_objects = mg.MLPClassifier(**SMALL).fit(X.astype(object), Y)
    from_floats = mg.MLPClassifier(**SMALL).fit(X, Y)
    for a, b in zip(from_objects.coefs_, from_floats.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    bad = X.astype(object)
    bad[3, 2] = "seven"
    same_outcome(CLASSIFIERS, lambda cls: cls(**SMALL).fit(bad, Y))


@pytest.mark.parametrize("kind", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "lil"])
def test_sparse_input_trains_as_its_dense_copy(kind):
    dense = np.where(np.abs(X) > 0.8, X, 0.0)
    matrix = getattr(sparse, kind)(dense) if kind != "lil" else sparse.lil_matrix(dense)
    same_outcome(CLASSIFIERS, lambda cls: cls(**SMALL).fit(matrix, Y).predict(matrix))
    from_sparse = mg.MLPClassifier(**SMALL).fit(matrix, Y)
    from_dense = mg.MLPClassifier(**SMALL).fit(dense, Y)
    for a, b in zip(from_sparse.coefs_, from_dense.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)  # each mini-batch is densified: the same numbers
    probabilities = from_sparse.predict_proba(matrix)
    np.testing.assert_array_equal(probabilities, from_dense.predict_proba(dense))


def test_sparse_input_with_lbfgs_is_densified_chunk_by_chunk(monkeypatch):
    import memograd.nn.estimators.base as base

    dense = np.where(np.abs(X) > 0.8, X, 0.0)
    kwargs = {**SMALL, "solver": "lbfgs"}
    whole = mg.MLPRegressor(**kwargs).fit(dense, X[:, 0])
    monkeypatch.setattr(base, "CHUNK_BYTES", 8 * 8 * 7)  # 7 rows of the 8-unit layer at a time
    chunked = mg.MLPRegressor(**kwargs).fit(sparse.csr_matrix(dense), X[:, 0])
    np.testing.assert_allclose(chunked.predict(dense), whole.predict(dense), rtol=1e-10)
    assert chunked.loss_ == pytest.approx(whole.loss_, rel=1e-10)


def test_a_continuous_target_is_refused_by_the_classifier_as_sklearn_refuses_it():
    same_outcome(CLASSIFIERS, lambda cls: cls(**SMALL).fit(X, X[:, 0]))
    _, (kind, message), _ = outcome(mg.MLPClassifier, lambda cls: cls().fit(X, X[:, 0]))
    assert kind is ValueError and message.startswith("Unknown label type: ")
    # Text targets for the regressor: scikit-learn's crashes inside NumPy; memograd's says why.
    with pytest.raises(ValueError, match="needs numeric targets, got y of dtype <U1"):
        mg.MLPRegressor(**SMALL).fit(X, np.array(["a", "b"] * 30))


@pytest.mark.parametrize(
    "action",
    [
        lambda cls: cls(**SMALL).fit(X, Y.reshape(-1, 1)),  # a column: DataConversionWarning
        lambda cls: cls(**SMALL, batch_size=500).fit(X, Y),  # clipped, with a warning
        lambda cls: cls(**SMALL).fit(X[:, :0], Y),  # no features
        lambda cls: cls(**SMALL).fit(np.where(X > 2, np.nan, X), Y),  # NaN
        lambda cls: cls(**SMALL).fit(X, Y).predict(X[:, :3]),  # wrong number of features
        lambda cls: cls(**SMALL).predict(X),  # not fitted
        lambda cls: cls(**SMALL, early_stopping=True, validation_fraction=0.01).fit(X, Y),
        lambda cls: cls(**SMALL).partial_fit(X, Y),  # first partial_fit without classes
        lambda cls: cls(**SMALL).partial_fit(X, Y, classes=[0, 1]),  # y has a class too many
        lambda cls: cls(**SMALL, early_stopping=True).partial_fit(X, Y, classes=[0, 1, 2]),
        lambda cls: cls(**SMALL, solver="lbfgs").partial_fit(X, Y, classes=[0, 1, 2]),
        lambda cls: cls(**SMALL, warm_start=True).fit(X, Y).fit(X, Y % 2),  # classes changed
    ],
)
def test_errors_and_warnings_are_sklearns(action):
    same_outcome(CLASSIFIERS, action)


SETTINGS = [
    {},
    {"early_stopping": True},
    {"solver": "sgd", "learning_rate": "adaptive"},
    {"solver": "lbfgs"},
]


def public_state(est):
    return {name for name in vars(est) if name.endswith("_") and not name.startswith("_")}


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_fitted_attributes_are_sklearns(settings, task):
    pair = CLASSIFIERS if task == "classifier" else REGRESSORS
    y = Y if task == "classifier" else X @ [1.0, -2.0, 0.5, 0.0]
    ours, theirs = same_outcome(pair, lambda cls: cls(**SMALL, **settings).fit(X, y))
    assert public_state(ours) == public_state(theirs)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_", "t_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype == np.float64
    if task == "classifier":
        assert ours.classes_.tolist() == theirs.classes_.tolist()
    if settings.get("solver") == "lbfgs":
        return
    assert len(ours.loss_curve_) == ours.n_iter_
    assert ours.loss_ == ours.loss_curve_[-1]
    if settings.get("early_stopping"):
        assert ours.best_loss_ is None and len(ours.validation_scores_) == ours.n_iter_
        assert ours.best_validation_score_ == max(ours.validation_scores_)
    else:
        assert ours.validation_scores_ is None and ours.best_validation_score_ is None
        assert ours.best_loss_ == min(ours.loss_curve_)


def test_partial_fit_and_warm_start_count_as_sklearn_counts():
    for make in CLASSIFIERS.values():
        est = make(**SMALL)
        for part in np.array_split(np.arange(60), 3):
            est.partial_fit(X[part], Y[part], classes=[0, 1, 2])
        assert (est.n_iter_, est.t_, len(est.loss_curve_)) == (1, 60, 3)
        warm = make(**{**SMALL, "max_iter": 4}, warm_start=True, n_iter_no_change=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warm.fit(X, Y).fit(X, Y)
        assert (warm.n_iter_, warm.t_, len(warm.loss_curve_)) == (4, 480, 8)


def test_float32_input_trains_in_float32_and_the_dtype_keyword_chooses():
    for make in CLASSIFIERS.values():
        assert make(**SMALL).fit(X.astype(np.float32), Y).coefs_[0].dtype == np.float32
    est = mg.MLPClassifier(**SMALL, dtype="float32").fit(X, Y)
    assert est.coefs_[0].dtype == np.float32 and est.predict_proba(X).dtype == np.float32
    assert mg.MLPClassifier(**SMALL, dtype=np.float64).fit(X.astype(np.float32), Y).coefs_[
        0
    ].dtype == np.dtype(np.float64)


def test_verbose_prints_sklearns_lines(capsys):
    mg.MLPClassifier(**{**SMALL, "max_iter": 3}, verbose=True, early_stopping=True).fit(X, Y)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Iteration 1, loss = \d+\.\d{8}", lines[0])
    assert re.fullmatch(r"Validation score: \d\.\d{6}", lines[1])
    assert len(lines) == 6


def test_predict_log_proba_is_the_log_of_predict_proba():
    for y in (Y, Y % 2):
        est = mg.MLPClassifier(**SMALL).fit(X, y)
        np.testing.assert_allclose(est.predict_log_proba(X), np.log(est.predict_proba(X)))
        assert est.predict_proba(X).shape == (60, len(np.unique(y)))


def test_a_user_who_replaces_coefs_is_heard():
    est = mg.MLPRegressor(**SMALL).fit(X, X[:, 0])
    est.coefs_ = [np.zeros_like(c) for c in est.coefs_]
    np.testing.assert_allclose(est.predict(X), est.intercepts_[-1][0])


def test_a_warm_start_that_never_improves_keeps_the_best_weights():
    # scikit-learn's MLP restores its "best" list, which is the very list the warm start then
    # trains in place: when the second fit never beats the best score it returns the last
    # weights instead. memograd restores copies.
    rng = np.random.default_rng(3)
    X_easy = rng.normal(size=(200, 4))
    y_easy = (X_easy[:, 0] > 0).astype(int)
    X_easy[:, 0] *= 5
    est = mg.MLPClassifier(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        warm_start=True,
        random_state=0,
        max_iter=100,
        n_iter_no_change=3,
        learning_rate_init=0.02,
    ).fit(X_easy, y_easy)
    best, score = [c.copy() for c in est.coefs_], est.best_validation_score_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(learning_rate_init=5.0, max_iter=3).fit(X_easy, y_easy)
    assert est.best_validation_score_ == score > max(est.validation_scores_[-3:])
    for kept, expected in zip(est.coefs_, best, strict=True):
        np.testing.assert_array_equal(kept, expected)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("progress_bar", [True, False])
def test_progress_bar_draws_on_a_terminal_only_when_asked(monkeypatch, progress_bar):
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mg.MLPClassifier(**{**SMALL, "max_iter": 3}, progress_bar=progress_bar).fit(X, Y)
    drawn = screen.getvalue()
    if progress_bar:
        assert "epoch 3" in drawn and "loss" in drawn
    else:
        assert drawn == ""


def test_mini_batches_whose_weights_are_all_zero_are_skipped_not_divided_by():
    # scikit-learn's MLP divides by the batch's weight sum, 0 here, and ends in NaN weights.
    weights = np.where(np.arange(60) % 2 == 0, 0.0, 1.0)  # every other row has weight 0
    kwargs = {**SMALL, "batch_size": 1, "shuffle": False, "max_iter": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = mg.MLPClassifier(**kwargs).fit(X, Y, sample_weight=weights)
        odd_rows = mg.MLPClassifier(**kwargs).fit(X[1::2], Y[1::2])
    assert set(Y[1::2]) == set(Y)  # the same classes, so the same network
    for a, b in zip(weighted.coefs_, odd_rows.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)  # exactly the steps of the weighted rows
    # the epoch's mean loss is over all 60 rows, the skipped ones counting 0
    np.testing.assert_allclose(weighted.loss_curve_, np.array(odd_rows.loss_curve_) / 2)
