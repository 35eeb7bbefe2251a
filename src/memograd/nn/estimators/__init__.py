"""scikit-learn estimators trained by memograd's engine: ``MLPClassifier`` and ``MLPRegressor``.

They take the constructor of ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` (same
parameters, defaults and meanings) and set the same fitted attributes, so a script written for
scikit-learn's MLP runs when only its import changes, and ``clone``, pipelines, grid searches
and ``check_estimator`` treat them as their own. What differs is underneath: every gradient
comes from memograd's backward sweep and every update from ``memograd.optim``.

This package is the only part of memograd that imports scikit-learn (an optional extra: ``pip
install 'memograd[sklearn]'``); ``import memograd`` does not load it, ``mg.MLPClassifier`` does,
on first use.
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401  (the extra's presence, checked once, before anything else)
except ModuleNotFoundError:
    raise ModuleNotFoundError(
        "memograd's MLPClassifier and MLPRegressor are scikit-learn estimators and need "
        "scikit-learn: pip install 'memograd[sklearn]'",
        name="sklearn",
    ) from None

from memograd.nn.estimators.base import expected_failed_checks  # noqa: E402
from memograd.nn.estimators.classifier import MLPClassifier  # noqa: E402
from memograd.nn.estimators.regressor import MLPRegressor  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor", "expected_failed_checks"]
