"""A script written for scikit-learn's MLP. The tests run it as it is, and again with its one
import line pointed at memograd (``from memograd import MLPClassifier, MLPRegressor``), and
compare what ``run()`` returns. Nothing below may know which of the two it runs on.
"""

import warnings

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def run():
    warnings.simplefilter("ignore", ConvergenceWarning)
    out = {}
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

    clf = MLPClassifier(
        hidden_layer_sizes=(32, 16),
        max_iter=300,
        random_state=1,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
    )
    clf.fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    out["early_stopping"] = {
        "accuracy": clf.score(X_test, y_test),
        "shapes": [c.shape for c in clf.coefs_],
        "structure": (clf.n_layers_, clf.n_outputs_, clf.out_activation_, clf.classes_.tolist()),
        "curves": (
            len(clf.loss_curve_) == clf.n_iter_,
            len(clf.validation_scores_) == clf.n_iter_,
            clf.best_validation_score_ == max(clf.validation_scores_),
            clf.best_loss_ is None,
        ),
        "proba": (proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))),
        "log_proba": bool(np.allclose(clf.predict_log_proba(X_test), np.log(proba))),
    }

    Xb, yb = make_classification(n_samples=200, random_state=2)
    lbfgs = MLPClassifier(solver="lbfgs", alpha=1e-3, hidden_layer_sizes=(10,), random_state=0)
    lbfgs.fit(Xb, yb)
    out["lbfgs"] = {
        "train_accuracy": lbfgs.score(Xb, yb),
        "structure": (lbfgs.out_activation_, lbfgs.n_outputs_, lbfgs.predict_proba(Xb).shape),
        "no_curve": not hasattr(lbfgs, "loss_curve_"),
    }

    sgd = MLPClassifier(
        solver="sgd", learning_rate="invscaling", learning_rate_init=0.05, random_state=0
    )
    for part in np.array_split(np.arange(len(X_train)), 5):
        sgd.partial_fit(X_train[part], y_train[part], classes=np.unique(y))
    out["partial_fit"] = {
        "counts": (sgd.t_, len(sgd.loss_curve_), sgd.n_iter_),
        "accuracy": sgd.score(X_test, y_test),
    }

    Xr, yr = make_regression(n_samples=300, n_features=5, noise=5, random_state=0)
    reg = make_pipeline(
        StandardScaler(), MLPRegressor(hidden_layer_sizes=(50,), max_iter=1000, random_state=0)
    )
    reg.fit(Xr[:200], yr[:200] / 100)
    out["pipeline_r2"] = reg.score(Xr[200:], yr[200:] / 100)

    search = GridSearchCV(
        MLPClassifier(max_iter=150, random_state=0),
        {"alpha": [1e-4, 1.0], "hidden_layer_sizes": [(5,), (40,)]},
        cv=3,
    )
    search.fit(X_train, y_train)
    out["grid"] = {
        "candidates": len(search.cv_results_["params"]),
        "best_score": search.best_score_,
        "refit_accuracy": search.score(X_test, y_test),
    }
    out["cross_val"] = cross_val_score(
        MLPClassifier(max_iter=200, random_state=0), X, y, cv=3
    ).mean()

    warm = MLPClassifier(max_iter=5, warm_start=True, random_state=0, n_iter_no_change=50)
    for _ in range(3):
        warm.fit(X_train, y_train)
    out["warm_start"] = (warm.n_iter_, warm.t_, len(warm.loss_curve_))
    return out
