"""The estimators' numbers against scikit-learn's own: losses, gradients, one step of each solver.

scikit-learn's MLP computes its loss and gradient by hand (``_backprop``); memograd's come from
the engine's backward sweep over the same network. Given the same weights and data they must
agree to rounding, for every output activation (softmax, logistic, multilabel, identity,
exponential), with the L2 term and with sample weights. Then one full-batch step of SGD and of
Adam must move the weights exactly as the update rule says, and memograd's own activations
(leaky_relu, gelu) are checked against central finite differences.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.neural_network import MLPRegressor as SklearnRegressor

import memograd as mg
from memograd.nn.estimators.lbfgs import FullBatchObjective

RNG = np.random.default_rng(7)
X = RNG.normal(size=(40, 5))
TARGETS = {
    "multiclass": RNG.integers(0, 3, size=40),
    "binary": RNG.integers(0, 2, size=40),
    "multilabel": RNG.integers(0, 2, size=(40, 3)),
    "regression": RNG.normal(size=40),
    "two_outputs": RNG.normal(size=(40, 2)),
    "poisson": RNG.poisson(2.0, size=40).astype(float),
}
EXPECTED_OUTPUT = {
    "multiclass": "softmax",
    "binary": "logistic",
    "multilabel": "logistic",
    "regression": "identity",
    "two_outputs": "identity",
    "poisson": "exp",
}


def fitted(kind, activation, alpha, **extra):
    """A memograd estimator fitted one epoch (weights to compare at), and the 2-D targets."""
    y = TARGETS[kind]
    classifies = kind in ("multiclass", "binary", "multilabel")
    cls = mg.MLPClassifier if classifies else mg.MLPRegressor
    if kind == "poisson":
        extra["loss"] = "poisson"
    est = cls(hidden_layer_sizes=(6, 4), activation=activation, alpha=alpha, max_iter=1, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y, sample_weight=extra.get("sample_weight"))
    Y = est._label_binarizer.transform(y) if classifies else y.reshape(len(y), -1)
    return est, Y.astype(float)


def sklearn_loss_and_gradient(est, Y, sample_weight):
    """scikit-learn's ``_backprop`` on memograd's weights: its loss and packed gradient."""
    if isinstance(est, mg.MLPClassifier):
        sk = SklearnClassifier(activation=est.activation, alpha=est.alpha)
    else:
        sk = SklearnRegressor(loss=est.loss, activation=est.activation, alpha=est.alpha)
    sk.coefs_ = [c.copy() for c in est.coefs_]
    sk.intercepts_ = [b.copy() for b in est.intercepts_]
    sk.n_layers_ = est.n_layers_
    sk.out_activation_ = est.out_activation_
    layers = len(sk.coefs_)
    coef_grads = [np.empty_like(c) for c in sk.coefs_]
    intercept_grads = [np.empty_like(b) for b in sk.intercepts_]
    activations = [X] + [None] * layers
    loss, coef_grads, intercept_grads = sk._backprop(
        X, Y, sample_weight, activations, [None] * layers, coef_grads, intercept_grads
    )
    return loss, np.concatenate([g.ravel() for g in coef_grads + intercept_grads])


@pytest.mark.parametrize("kind", list(TARGETS))
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradient_equal_sklearns(kind, activation, weighted):
    sample_weight = RNG.uniform(0.2, 3.0, size=40) if weighted else None
    est, Y = fitted(kind, activation, alpha=0.3)
    assert est.out_activation_ == EXPECTED_OUTPUT[kind]
    objective = FullBatchObjective(est, X, Y, sample_weight)
    loss, gradient = objective(objective.start())
    expected_loss, expected_gradient = sklearn_loss_and_gradient(est, Y, sample_weight)
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu"])
def test_memograds_own_activations_have_finite_difference_gradients(activation):
    est, Y = fitted("multiclass", activation, alpha=0.1)
    objective = FullBatchObjective(est, X, Y, None)
    start = objective.start()
    _, gradient = objective(start.copy())
    h = 1e-6
    for i in RNG.choice(start.size, size=25, replace=False):
        plus, minus = start.copy(), start.copy()
        plus[i] += h
        minus[i] -= h
        numeric = (objective(plus)[0] - objective(minus)[0]) / (2 * h)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def one_full_batch_epoch(est, y):
    """Warm-start one more full-batch epoch; returns the weights before and after, packed."""
    before = np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])
    est.set_params(warm_start=True, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    after = np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])
    return before, after


@pytest.mark.parametrize(("momentum", "factor"), [(0.0, 1.0), (0.9, 1.9)])
def test_one_sgd_step_is_minus_the_rate_times_sklearns_gradient(momentum, factor):
    y = TARGETS["two_outputs"]
    est, Y = fitted(
        "two_outputs",
        "tanh",
        alpha=0.05,
        solver="sgd",
        momentum=momentum,
        batch_size=40,
        shuffle=False,
    )
    expected_loss, gradient = sklearn_loss_and_gradient(est, Y, None)
    before, after = one_full_batch_epoch(est, y)
    # A new optimizer's first step: Nesterov momentum looks one step ahead, so it moves by
    # (1 + momentum) times the gradient, in scikit-learn's velocity form as in torch's.
    rate = est.learning_rate_init
    np.testing.assert_allclose(after, before - factor * rate * gradient, rtol=1e-12)
    assert est.loss_curve_[-1] == pytest.approx(expected_loss, rel=1e-12)  # before the step
    assert est.n_iter_ == 1 and est.t_ == 80


def test_one_adam_step_follows_the_adam_rule():
    y = TARGETS["multiclass"]
    est, Y = fitted("multiclass", "relu", alpha=0.01, batch_size=40, shuffle=False)
    _, g = sklearn_loss_and_gradient(est, Y, None)
    before, after = one_full_batch_epoch(est, y)
    b1, b2, eps, lr = est.beta_1, est.beta_2, est.epsilon, est.learning_rate_init
    m, v = (1 - b1) * g, (1 - b2) * g * g
    step = lr / (1 - b1) * m / (np.sqrt(v) / np.sqrt(1 - b2) + eps)
    np.testing.assert_allclose(after, before - step, rtol=1e-9, atol=1e-15)


def test_integer_sample_weights_are_repeated_rows():
    weights = RNG.integers(0, 4, size=40)
    est, Y = fitted("multiclass", "relu", alpha=0.2)
    weighted = FullBatchObjective(est, X, Y, weights.astype(float))
    repeated = FullBatchObjective(est, X.repeat(weights, 0), Y.repeat(weights, 0), None)
    start = weighted.start()
    loss, gradient = weighted(start)
    expected_loss, expected_gradient = repeated(start)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-10, atol=1e-14)


def test_lbfgs_converges_like_sklearns_on_the_same_problem():
    y = TARGETS["multiclass"]
    est = mg.MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    assert est.loss_ < 0.05 and est.score(X, y) == 1.0
    assert not hasattr(est, "loss_curve_") and est.t_ == 0


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("multiclass", {"solver": "adam", "alpha": 0.01}),
        ("multiclass", {"solver": "sgd", "early_stopping": True, "validation_fraction": 0.25}),
        ("multiclass", {"solver": "adam", "shuffle": False, "alpha": 0.0}),
        ("two_outputs", {"solver": "adam", "activation": "tanh"}),
        ("poisson", {"solver": "sgd", "learning_rate_init": 1e-3}),
    ],
)
def test_the_compiled_batches_train_exactly_as_the_eager_ones(monkeypatch, kind, options):
    """Without sample weights or dropout (and for every loss but the logistic one) the batches'
    forward and backward passes are compiled; the fit must be the eager fit, bit for bit,
    including the ragged last batch (40 rows in batches of 16: 16, 16, 8)."""
    from memograd.nn.estimators import stochastic

    cls = mg.MLPClassifier if kind == "multiclass" else mg.MLPRegressor
    if kind == "poisson":
        options = {**options, "loss": "poisson"}

    def fit() -> tuple[list[bytes], list[float], int]:
        est = cls(hidden_layer_sizes=(6, 4), max_iter=6, batch_size=16, random_state=0, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: 6 epochs
            est.fit(X, TARGETS[kind])
        return [a.tobytes() for a in est.coefs_ + est.intercepts_], est.loss_curve_, est.n_iter_

    steps, compile_step = [], stochastic.compile_step

    def compile_and_keep(function, fuse):
        steps.append(compile_step(function, fuse=fuse))
        return steps[-1]

    with monkeypatch.context() as patch:
        patch.setattr(stochastic, "compile_step", compile_and_keep)
        compiled = fit()
    assert steps and steps[0].cache_info().replays > 0  # the plans did run
    monkeypatch.setattr(stochastic, "compile_step", lambda function, fuse: function)
    assert fit() == compiled


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("multiclass", {"solver": "adam", "alpha": 0.01}),
        ("multiclass", {"solver": "sgd", "momentum": 0.0, "alpha": 0.0}),
        ("multiclass", {"solver": "sgd", "early_stopping": True, "validation_fraction": 0.25}),
        ("two_outputs", {"solver": "adam", "activation": "relu"}),
        ("regression", {"solver": "sgd", "momentum": 0.0}),
    ],
)
def test_a_fused_fit_is_the_default_fit_to_rounding_and_bitwise_without_cross_entropy(
    kind, options
):
    """fuse=True: every kernel of the compiled batch step and the optimizer's update is bitwise
    its NumPy calls except cross-entropy's, so a regressor's fit is the default one bit for bit
    and a classifier's agrees to float64 rounding (same epochs, same predictions)."""
    pytest.importorskip("numba")
    cls = mg.MLPClassifier if kind == "multiclass" else mg.MLPRegressor

    def fit(fuse: bool):
        est = cls(
            hidden_layer_sizes=(6, 4), max_iter=8, batch_size=16, random_state=0, fuse=fuse,
            **options,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: 8 epochs
            return est.fit(X, TARGETS[kind])

    default, fused = fit(False), fit(True)
    assert fused.n_iter_ == default.n_iter_ and fused.get_params()["fuse"] is True
    pairs = list(zip(default.coefs_ + default.intercepts_, fused.coefs_ + fused.intercepts_))
    if kind == "multiclass":
        for a, b in pairs:
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fused.loss_curve_, default.loss_curve_, rtol=1e-12)
        assert np.array_equal(fused.predict(X), default.predict(X))
    else:
        assert all(a.tobytes() == b.tobytes() for a, b in pairs)
        assert fused.loss_curve_ == default.loss_curve_


def test_fuse_is_refused_for_lbfgs_and_without_numba(monkeypatch):
    with pytest.raises(ValueError, match="fuse=True compiles the mini-batch step"):
        mg.MLPClassifier(solver="lbfgs", fuse=True).fit(X, TARGETS["multiclass"])
    import sys

    from memograd.engine import compiler

    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "memograd.engine.compiler.fused", raising=False)
    monkeypatch.delattr(compiler, "fused", raising=False)
    with pytest.raises(ImportError, match=r"^MLPRegressor\(fuse=True\) needs numba: pip install"):
        mg.MLPRegressor(fuse=True).fit(X, TARGETS["regression"])


@pytest.mark.parametrize("shuffle", [True, False])
def test_rows_from_any_memory_layout_train_the_same_model(shuffle):
    """Batches are gathered from a C-ordered copy when X is a strided view (the columns of a
    wider array, as scikit-learn's load_digits returns) or Fortran-ordered: the same fit, bit
    for bit, and the caller's array untouched."""
    y = TARGETS["multiclass"]
    wider = np.concatenate([X, RNG.standard_normal((len(X), 1))], axis=1)
    layouts = {"C": np.ascontiguousarray(X), "F": np.asfortranarray(X), "view": wider[:, :-1]}
    assert not layouts["view"].flags.c_contiguous and not layouts["F"].flags.c_contiguous
    before = wider.copy()
    fits = {}
    for name, data in layouts.items():
        est = mg.MLPClassifier(
            hidden_layer_sizes=(6,), max_iter=4, batch_size=16, shuffle=shuffle, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: 4 epochs
            est.fit(data, y)
        fits[name] = ([a.tobytes() for a in est.coefs_ + est.intercepts_], est.loss_curve_)
    assert fits["F"] == fits["C"] and fits["view"] == fits["C"]
    assert np.array_equal(wider, before)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_diverging_fit_is_stopped_with_the_epoch_on_both_paths(weighted):
    """The compiled path (no sample weights) and the eager one (weights) stop alike."""
    est = mg.MLPRegressor(solver="sgd", learning_rate_init=1e200, max_iter=5, random_state=0)
    weights = np.ones(len(X)) if weighted else None
    with pytest.raises(mg.nn.TrainingDivergedError, match=r"in epoch 2: the loss is nan"):
        est.fit(X, TARGETS["regression"] * 1e3, sample_weight=weights)
