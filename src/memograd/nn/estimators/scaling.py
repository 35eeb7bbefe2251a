"""Standardisation folded into the weights, and the fit ``memograd train`` runs with it.

A network trained on ``(x - mean) / scale`` is, after :func:`fold_input_scaling`, the same
function of the raw ``x``: ``W' = W / scale`` (row by row), ``b' = b - (mean / scale) @ W``.
Likewise :func:`fold_output_scaling` makes a network trained on standardised targets predict in
the targets' own units. So a model trained on scaled data is saved as a plain estimator over raw
features, which ``memograd predict`` (or ``MLPRegressor.load(path).predict``) uses as it is.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

from memograd.data.split import Standardizer


def fold_input_scaling(
    coefs: list[np.ndarray], intercepts: list[np.ndarray], mean: Any, scale: Any
) -> None:
    """Rewrite the first layer in place so that it takes raw inputs instead of standardised."""
    weight = coefs[0].astype(np.float64)
    mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    intercepts[0][...] = intercepts[0] - (mean / scale) @ weight
    coefs[0][...] = weight / scale[:, None]


def fold_output_scaling(
    coefs: list[np.ndarray], intercepts: list[np.ndarray], mean: Any, scale: Any
) -> None:
    """Rewrite the last layer in place so that its outputs are ``outputs * scale + mean``."""
    mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    coefs[-1][...] = coefs[-1] * scale[None, :]
    intercepts[-1][...] = intercepts[-1] * scale + mean


def fit_standardized(estimator: Any, X: np.ndarray, y: np.ndarray) -> list[float | None]:
    """Fit ``estimator`` on standardised features (and targets, for a regressor), then fold the
    scaling back into its weights; returns the training accuracy after each epoch (None for a
    regressor).

    This is ``memograd train``'s fit: input scaling that travels inside the saved model (what
    ``make_pipeline(StandardScaler(), ...)`` does in scikit-learn, without a second object in
    the file), targets on the scale of the initial weights whatever their units, and the
    accuracy curve its report prints. A recipe's epochs are its plan, not a failure to
    converge: reaching ``max_iter`` does not warn here.
    """
    inputs = Standardizer().fit(X)
    X_scaled = inputs.transform(X)
    classifies = is_classifier(estimator)
    accuracy: list[float | None] = []
    if classifies:
        targets = y

        labels = np.asarray(y)

        def record(est: Any) -> None:  # plain NumPy: accuracy_score's checks cost more here
            accuracy.append(float(np.mean(est._predict(X_scaled, check_input=False) == labels)))

    else:
        columns = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        outputs = Standardizer().fit(columns)
        targets = outputs.transform(columns).reshape(np.shape(y))

        def record(est: Any) -> None:
            accuracy.append(None)

    estimator._validate_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator._fit(X_scaled, targets, on_epoch=record)
    fold_input_scaling(estimator.coefs_, estimator.intercepts_, inputs.mean_, inputs.scale_)
    if not classifies:
        fold_output_scaling(estimator.coefs_, estimator.intercepts_, outputs.mean_, outputs.scale_)
    return accuracy
