"""``MLPRegressor``: scikit-learn's MLP regressor, trained by memograd's engine."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from memograd.nn.estimators.base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multilayer-perceptron regressor: ``sklearn.neural_network.MLPRegressor`` on memograd.

    Same parameters, defaults, meanings and fitted attributes as scikit-learn's (``loss`` is
    'squared_error', identity output, or 'poisson', exponential output on half Poisson
    deviance); memograd's ``dropout``, ``dtype``, ``progress_bar`` and ``fuse`` keywords come
    last, as in :class:`MLPClassifier`. ``y`` is used in its own units: put a scaler in front of
    the network (or ``TransformedTargetRegressor`` around it) when the units are large, as with
    scikit-learn's.
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    # scikit-learn reads an estimator's parameters from its __init__ signature, so the regressor
    # spells them all out again, with ``loss`` first, exactly as scikit-learn's MLPRegressor.
    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        dtype=None,
        progress_bar=False,
        fuse=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            dtype=dtype,
            progress_bar=progress_bar,
            fuse=fuse,
        )
        self.loss = loss

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=self._input_dtype(),
            reset=reset,
        )
        if y.dtype.kind not in "biuf":  # scikit-learn's MLP crashes later, in a NumPy ufunc
            raise ValueError(
                f"MLPRegressor needs numeric targets, got y of dtype {y.dtype} "
                f"(first value {y.flat[0]!r})"
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _validation_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y

    @available_if(lambda est: est._stochastic_only())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        """Predicted targets: shape (n,) for one target, (n, n_outputs) for several."""
        outputs = self._forward(X, check_input=check_input)
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return self._score_with(X, y, sample_weight, r2_score)
