"""``BaseMLP``: the parameters, checks, fitting and forward pass both estimators share.

Everything a user can observe follows ``sklearn.neural_network``: the parameter names,
defaults and constraints (scikit-learn's own validation machinery checks them, with its
messages), the input checks (``validate_data``: DataFrames keep their column names, object
arrays of numbers are converted, NaN, complex and empty input are refused, sparse matrices are
accepted), the fitted attributes and when each is set, the stopping rule, the warnings. What
runs underneath is memograd: the network is a ``memograd.nn.Sequential`` over ``coefs_``, the
gradients come from the engine's backward sweep, the updates from ``memograd.optim``.

Four keyword arguments are memograd's own, after scikit-learn's: ``dropout`` (after every
hidden activation, stochastic solvers only), ``dtype`` (None: float32 input trains in float32
and anything else in float64, as scikit-learn does; "float32" makes float32 the rule, for
speed), ``progress_bar`` (a rich bar on a terminal; ``verbose`` keeps printing
scikit-learn's lines) and ``fuse`` (stochastic solvers: each mini-batch step compiled with
``mg.compile(fuse=True)`` and the optimizer's update fused too; needs numba, the
``memograd[fused]`` extra; the fit then equals the default one to float rounding, not bit for
bit, because cross-entropy's fused kernel computes ``exp`` and ``log`` another way).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import chain
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from memograd.engine import no_grad
from memograd.nn.estimators import network
from memograd.nn.estimators.lbfgs import fit_lbfgs
from memograd.nn.estimators.network import CHUNK_BYTES
from memograd.nn.estimators.stochastic import fit_stochastic

STOCHASTIC_SOLVERS = ("sgd", "adam")

# Fitted attributes that only the stochastic solvers set (L-BFGS leaves them unset).
STOCHASTIC_ATTRIBUTES = (
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
)


class BaseMLP(BaseEstimator):
    """The shared machinery; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(network.HIDDEN_LAYERS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dtype": [
            None,
            StrOptions({"float32", "float64"}),
            Options(type, {np.float32, np.float64}),
        ],
        "progress_bar": ["boolean"],
        "fuse": ["boolean"],
    }

    def __init__(
        self,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype
        self.progress_bar = progress_bar
        self.fuse = fuse

    # ---- what the subclasses define ----------------------------------------------------------

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[Any, Any]:
        raise NotImplementedError

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        raise NotImplementedError

    def _score(self, X: Any, y: Any, sample_weight: np.ndarray | None) -> float:
        raise NotImplementedError

    # ---- fitting -----------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None):
        """Fit the network to ``X`` (rows of features) and ``y`` (labels or targets)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def predict(self, X: Any) -> np.ndarray:
        """The predictions for the rows of ``X`` (classes, or targets)."""
        check_is_fitted(self)
        return self._predict(X)

    def _input_dtype(self) -> Any:
        """What ``validate_data`` converts X to: scikit-learn's rule, or the chosen dtype."""
        if self.dtype is None:
            return (np.float64, np.float32)
        return np.dtype(self.dtype).type

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        incremental: bool = False,
        on_epoch: Callable[[Any], None] | None = None,
    ):
        """Fit (or, ``incremental``, run one epoch of) the network; ``on_epoch(self)`` is called
        after every epoch of a stochastic solver (``memograd train`` records accuracy there)."""
        sizes = self.hidden_layer_sizes
        hidden = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        if self.dropout > 0 and self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError(
                f"dropout={self.dropout} needs a stochastic solver ('adam' or 'sgd'): "
                f"{self.solver!r} needs a loss that is the same at every evaluation"
            )
        if self.fuse and self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError(
                "fuse=True compiles the mini-batch step of a stochastic solver ('adam' or "
                f"'sgd'); {self.solver!r} takes no mini-batch steps"
            )
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not first_pass:  # keep training in the dtype the network has
            X = X.astype(self.coefs_[0].dtype, copy=False)
        self.n_outputs_ = Y.shape[1]
        layer_units = [X.shape[1], *(int(h) for h in hidden), self.n_outputs_]
        random_state = check_random_state(self.random_state)
        # memograd draws from NumPy Generators; this one is seeded from the RandomState, so an
        # int random_state repeats runs exactly and None follows NumPy's global state.
        rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max, size=4))
        if first_pass:
            self._initialize(layer_units, X.dtype, rng)
        else:
            self._check_layer_units(layer_units)
        if sparse.issparse(X):
            X = X.tocsr()  # mini-batches take rows
        if self.solver in STOCHASTIC_SOLVERS:
            fit_stochastic(self, X, Y, sample_weight, random_state, rng, incremental, on_epoch)
        else:
            fit_lbfgs(self, X, Y, sample_weight)
        if not all(np.isfinite(w).all() for w in chain(self.coefs_, self.intercepts_)):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        return self

    def _initialize(self, layer_units: list[int], dtype: np.dtype, rng: np.random.Generator):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self.coefs_, self.intercepts_ = network.initial_parameters(
            layer_units, self.activation, dtype, rng
        )
        self._optimizer_state = None
        for name in STOCHASTIC_ATTRIBUTES:  # a refit with another solver leaves nothing stale
            self.__dict__.pop(name, None)
        if self.solver in STOCHASTIC_SOLVERS:
            self._start_stochastic_bookkeeping()

    def _start_stochastic_bookkeeping(self) -> None:
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _check_layer_units(self, layer_units: list[int]) -> None:
        have = [self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)]
        if have != layer_units:
            raise ValueError(
                f"the fitted network has layer sizes {have} but this call needs {layer_units}; "
                "a warm start or partial_fit keeps hidden_layer_sizes, the features and outputs"
            )

    def _stochastic_only(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    # ---- the forward pass --------------------------------------------------------------------

    def _forward(self, X: Any, check_input: bool = True, raw: bool = False) -> np.ndarray:
        """The output layer's activations for every row of X (``raw``: before the activation)."""
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        if sparse.issparse(X):
            X = X.tocsr()
        net = network.build(self.coefs_, self.intercepts_, self.activation).eval()
        widest = max(X.shape[1], *(c.shape[1] for c in self.coefs_))
        step = max(1, CHUNK_BYTES // (widest * self.coefs_[0].dtype.itemsize))
        parts = []
        with no_grad():
            for start in range(0, X.shape[0], step):
                rows = X[start : start + step]
                outputs = net(rows.toarray() if sparse.issparse(rows) else rows)
                if not raw:
                    outputs = network.output_activation(outputs, self.out_activation_)
                parts.append(outputs.data)
        if not parts:  # zero rows: validate_data refuses them, but check_input=False may not
            return np.empty((0, self.n_outputs_), dtype=self.coefs_[0].dtype)
        return np.concatenate(parts)

    def _score_with(self, X: Any, y: Any, sample_weight: Any, score_function) -> float:
        """``score_function(y, predictions)`` without re-checking X (it keeps feature names)."""
        predicted = self._predict(X, check_input=False)
        if np.issubdtype(predicted.dtype, np.floating) and not np.isfinite(predicted).all():
            return np.nan
        return score_function(y, predicted, sample_weight=sample_weight)

    # ---- memograd's own: tags, saving --------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def save(self, path: str | os.PathLike[str], **metadata: Any) -> None:
        """Write the fitted estimator to one .npz file (no pickle); ``metadata`` travels along."""
        from memograd.nn.estimators.files import save_estimator

        check_is_fitted(self)
        save_estimator(self, path, metadata)

    @classmethod
    def load(cls, path: str | os.PathLike[str]):
        """A fitted estimator from a file written by :meth:`save` or by ``memograd train``."""
        from memograd.nn.estimators.files import load_estimator

        return load_estimator(cls, path)


def expected_failed_checks(estimator: BaseMLP) -> dict[str, str]:
    """The scikit-learn estimator checks this configuration fails by design, with the reason.

    Empty for scikit-learn's own settings: every check passes. Pass the function to
    ``parametrize_with_checks(..., expected_failed_checks=expected_failed_checks)`` or its
    result to ``check_estimator(est, expected_failed_checks=...)``.
    """
    reasons = []
    if estimator.dropout > 0:
        reasons.append(
            "dropout draws a mask per row, so a row repeated twice trains with two masks where "
            "a row of weight 2 trains with one"
        )
    if estimator.solver == "sgd" and estimator.learning_rate == "invscaling":
        reasons.append(
            "learning_rate='invscaling' decays with the number of samples seen (t_), and "
            "repeated rows are more samples than weighted ones (scikit-learn's MLP fails this "
            "check the same way)"
        )
    if estimator.dtype is not None and np.dtype(estimator.dtype) == np.float32:
        reasons.append(
            "float32 training: the weighted and the repeated fits agree to float32 rounding "
            "(about 1e-6), not to the check's rtol of 1e-7"
        )
    if not reasons:
        return {}
    reason = "; ".join(reasons)
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }
