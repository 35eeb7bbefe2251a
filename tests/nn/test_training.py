"""fit and evaluate: learning happens, history is right, runs repeat exactly."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import memograd as mg
from memograd import nn
from memograd.data import DataError


def small_moons(seed=0):
    X, y = mg.data.moons(n_samples=300, noise=0.1, seed=seed)
    return X, y


def test_fit_learns_moons_and_records_every_epoch():
    X, y = small_moons()
    model = nn.MLP([2, 32, 32, 2], rng=0)
    history = nn.fit(model, X, y, epochs=40, lr=1e-2, batch_size=32, seed=0, verbose=False)
    assert history.epochs == 40 == len(history.train_accuracy)
    assert history.train_loss[-1] < 0.1 < history.train_loss[0]
    loss, accuracy = nn.evaluate(model, X.astype(np.float32), y)
    assert accuracy >= 0.98
    assert loss == pytest.approx(
        nn.functional.cross_entropy(nn.predict_outputs(model, X), y).item(), rel=1e-5
    )


def test_fit_history_matches_a_hand_written_loop():
    X, y = small_moons()
    a, b = nn.MLP([2, 8, 2], rng=1), nn.MLP([2, 8, 2], rng=1)
    history = nn.fit(
        a, X, y, optimizer="sgd", lr=0.1, epochs=2, batch_size=50, seed=3, verbose=False
    )
    opt = mg.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    batches = mg.data.batches(X.astype(np.float32), y, 50, seed=np.random.default_rng(3))
    losses = []
    for _ in range(2):
        total = 0.0
        for xb, yb in batches:
            loss = nn.functional.cross_entropy(b(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / len(X))
    assert history.train_loss == pytest.approx(losses, rel=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_same_seed_same_training_bit_for_bit():
    X, y = small_moons()

    def train():
        model = nn.MLP([2, 16, 2], dropout=0.2, rng=7)
        history = nn.fit(model, X, y, epochs=5, seed=7, verbose=False, validation=0.2)
        return model, history

    (m1, h1), (m2, h2) = train(), train()
    assert h1.train_loss == h2.train_loss and h1.val_loss == h2.val_loss
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert p.data.tobytes() == q.data.tobytes()


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = rng.integers(0, 2, size=60)  # pure noise: validation loss soon rises
    X_val, y_val = rng.normal(size=(40, 5)), rng.integers(0, 2, size=40)
    model = nn.MLP([5, 64, 2], rng=0)
    history = nn.fit(
        model,
        X,
        y,
        epochs=200,
        lr=1e-2,
        validation=(X_val, y_val),
        early_stopping=3,
        seed=0,
        verbose=False,
    )
    assert history.stopped_early and history.epochs < 200
    best = history.best_epoch
    assert history.epochs == best + 3
    assert history.val_loss[best - 1] == min(history.val_loss)
    loss, _ = nn.evaluate(model, X_val.astype(np.float32), y_val)
    assert loss == pytest.approx(history.val_loss[best - 1], rel=1e-5)


def test_regression_with_mse_has_no_accuracy():
    X = np.linspace(-1, 1, 64).reshape(-1, 1)
    y = (X**2).reshape(-1, 1)
    model = nn.MLP([1, 16, 1], activation="tanh", rng=0)
    history = nn.fit(
        model, X, y, loss="mse", lr=1e-2, epochs=150, batch_size=16, seed=0, verbose=False
    )
    assert history.train_accuracy[-1] is None
    assert history.train_loss[-1] < 0.05 * history.train_loss[0]


def test_progress_bar_is_off_when_stdout_is_not_a_terminal(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    X, y = small_moons()
    nn.fit(nn.MLP([2, 4, 2], rng=0), X, y, epochs=1, verbose=True)
    assert buffer.getvalue() == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1, got 0"),
        ({"batch_size": -1}, "batch_size must be >= 1, got -1"),
        ({"loss": "l1"}, "unknown loss 'l1'"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"early_stopping": 2}, "early_stopping needs validation data"),
    ],
)
def test_bad_fit_arguments_are_named(kwargs, message):
    X, y = small_moons()
    with pytest.raises((ValueError, TypeError)) as info:
        nn.fit(nn.MLP([2, 2], rng=0), X, y, verbose=False, **kwargs)
    assert message in str(info.value)


def test_labels_beyond_the_models_outputs_are_named():
    X, y = small_moons()
    y = y.copy()
    y[17] = 5
    with pytest.raises(ValueError, match=r"targets\[\d+\] = 5 is not a class index for 2 classes"):
        nn.fit(nn.MLP([2, 2], rng=0), X, y, epochs=1, batch_size=len(y), verbose=False)


def test_nan_features_are_refused_before_training():
    X, y = small_moons()
    X = X.copy()
    X[4, 1] = np.nan
    with pytest.raises(DataError, match=r"X\[4, 1\] is NaN"):
        nn.fit(nn.MLP([2, 2], rng=0), X, y, verbose=False)


def test_fit_stops_with_a_clear_error_when_the_loss_is_not_finite():
    import warnings

    X, y = mg.data.moons(200, seed=0)
    model = mg.nn.MLP([2, 16, 2], activation="relu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw NumPy RuntimeWarning escapes
        with pytest.raises(mg.nn.TrainingDivergedError, match=r"epoch 1: .*lr=1e\+30"):
            mg.nn.fit(model, X, y, lr=1e30, epochs=3, verbose=False, seed=0)


def test_fit_checks_the_weights_after_each_epoch():
    X, y = mg.data.moons(64, seed=0)
    model = mg.nn.MLP([2, 4, 2], activation="relu")

    def poison(epoch, history):  # a dead unit's bias: the loss stays finite, the weights do not
        model.parameters()[1].data[0] = -np.inf

    with pytest.raises(mg.nn.TrainingDivergedError, match="epoch 2: parameter .* no longer finite"):
        mg.nn.fit(model, X, y, epochs=3, verbose=False, seed=0, on_epoch=poison)
