"""``fit``: the training loop every example would otherwise write by hand.

One epoch = one shuffled pass over the training rows in mini-batches: forward, loss, ``backward``
(the engine's memoized sweep), optimizer step. After each epoch the history records the mean
training loss and accuracy (accuracy for classification losses only) and, when validation data
is given, the same two numbers on it, measured in eval mode without building a graph.

Early stopping watches the validation loss: after ``patience`` epochs without a new best it
stops, and the weights of the best epoch are put back (a model that kept training past its best
point is worse, not better). The progress bar (rich) is drawn only on a terminal; rich is
imported here, when a bar is actually drawn, so ``import memograd`` never pays for it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from memograd.data.split import BatchIterator, train_test_split
from memograd.data.validation import as_feature_matrix
from memograd.engine.graph import no_grad
from memograd.engine.tensor import Tensor
from memograd.nn import functional as F
from memograd.nn.module import Module
from memograd.optim import SGD, Adam, AdamW, Optimizer
from memograd.seeding import Seed, generator

LossFunction = Callable[[Tensor, np.ndarray], Tensor]

LOSSES: dict[str, LossFunction] = {
    "cross_entropy": F.cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "bce": F.binary_cross_entropy_with_logits,
    "mse": F.mse_loss,
    "mse_loss": F.mse_loss,
    "hinge": F.hinge_loss,
    "hinge_loss": F.hinge_loss,
}

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


class TrainingDivergedError(ValueError):
    """The loss or the weights stopped being finite numbers: the run cannot recover.

    Raised instead of returning a model of NaN weights that would answer every question with
    class 0 and confidence nan. Almost always the learning rate is too large.
    """


@dataclass
class History:
    """Per-epoch numbers of one ``fit`` call (accuracies are None for regression losses)."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "epochs": self.epochs}


def make_optimizer(
    optimizer: Optimizer | str, model: Module, lr: float | None, weight_decay: float = 0.0
) -> Optimizer:
    """An optimizer instance as is, or one built by name ("sgd", "adam", "adamw")."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; expected one of {', '.join(OPTIMIZERS)} "
            "or an Optimizer instance"
        )
    name = optimizer.lower()
    kwargs: dict[str, Any] = {"weight_decay": weight_decay}
    if lr is not None:
        kwargs["lr"] = lr
    if name == "sgd":
        kwargs.setdefault("lr", 0.1)
        kwargs["momentum"] = 0.9
    return OPTIMIZERS[name](model.parameters(), **kwargs)


def resolve_loss(loss: str | LossFunction) -> tuple[LossFunction, str]:
    if callable(loss):
        return loss, getattr(loss, "__name__", "loss")
    if isinstance(loss, str) and loss in LOSSES:
        function = LOSSES[loss]
        return function, function.__name__
    raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)} or a function")


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | LossFunction = "cross_entropy",
    optimizer: Optimizer | str = "adam",
    lr: float | None = None,
    weight_decay: float = 0.0,
    epochs: int = 20,
    batch_size: int = 32,
    validation: tuple[Any, Any] | float | None = None,
    early_stopping: int | None = None,
    seed: Seed = None,
    verbose: bool = True,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``model`` on ``(X, y)`` and return its :class:`History`.

    ``loss``: a name ("cross_entropy", "bce", "mse", "hinge") or a function
    ``(outputs, targets) -> scalar Tensor``. ``optimizer``: an Optimizer, or a name ("adam",
    "adamw", "sgd" with momentum 0.9) built with ``lr`` and ``weight_decay``.
    ``validation``: ``(X_val, y_val)``, or a fraction of ``X`` to hold out. ``early_stopping``:
    the patience in epochs (needs validation data). ``seed`` fixes the shuffling (and the
    held-out fraction). ``on_epoch(epoch, history)`` is called after every epoch.
    """
    loss_fn, loss_name = resolve_loss(loss)
    epochs = _whole(epochs, "epochs", minimum=1)
    batch_size = _whole(batch_size, "batch_size", minimum=1)
    if early_stopping is not None:
        early_stopping = _whole(early_stopping, "early_stopping", minimum=1)
    dtype = _parameter_dtype(model)
    X = as_feature_matrix(X, "X").astype(dtype, copy=False)
    y = _targets(y, X.shape[0], "y")
    rng = generator(seed)
    if isinstance(validation, float):
        X, X_val, y, y_val = train_test_split(X, y, test_size=validation, seed=rng)
    elif validation is not None:
        X_val = as_feature_matrix(validation[0], "validation X").astype(dtype, copy=False)
        y_val = _targets(validation[1], X_val.shape[0], "validation y")
    else:
        X_val = y_val = None
    if early_stopping is not None and X_val is None:
        raise ValueError("early_stopping needs validation data (validation=(X, y) or a fraction)")
    if isinstance(optimizer, Optimizer) and (lr is not None or weight_decay):
        raise ValueError(
            "lr and weight_decay apply when optimizer is a name; set them on the instance"
        )
    opt = make_optimizer(optimizer, model, lr, weight_decay)
    classifies = loss_name in ("cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss")
    batches = BatchIterator(X, y, batch_size, shuffle=True, seed=rng)
    history = History()
    best_loss, best_state, waited = np.inf, None, 0
    started = time.perf_counter()
    # Overflow on the way to a non-finite loss would print NumPy's RuntimeWarnings; the checks
    # below turn it into one clear error instead.
    with _progress(verbose, epochs * len(batches)) as bar, np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            model.train()
            total, correct, seen = 0.0, 0, 0
            for batch, (xb, yb) in enumerate(batches, start=1):
                outputs = model(xb)
                batch_loss = loss_fn(outputs, yb)
                value = float(batch_loss.item())
                if not math.isfinite(value):
                    raise diverged(f"the loss of batch {batch} is {value}", epoch, opt)
                opt.zero_grad()
                batch_loss.backward()
                opt.step()
                total += value * len(xb)
                seen += len(xb)
                if classifies:
                    correct += _correct(outputs.data, yb, loss_name)
                bar.advance(epoch, total / seen, correct / seen if classifies else None)
            check_finite_parameters(model, epoch, opt)
            history.train_loss.append(total / seen)
            history.train_accuracy.append(correct / seen if classifies else None)
            if X_val is not None:
                val_loss, val_accuracy = evaluate(model, X_val, y_val, loss_fn, loss_name)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
                bar.validation(val_loss, val_accuracy)
                if val_loss < best_loss:
                    best_loss, waited = val_loss, 0
                    history.best_epoch = epoch
                    best_state = model.state_dict() if early_stopping is not None else None
                else:
                    waited += 1
            if on_epoch is not None:
                on_epoch(epoch, history)
            if early_stopping is not None and waited >= early_stopping:
                history.stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - started
    return history


def check_finite_parameters(model: Module, epoch: int, optimizer: Optimizer) -> None:
    """Raise :class:`TrainingDivergedError` when any weight is inf or NaN after ``epoch``."""
    for name, param in model.named_parameters():
        if not np.isfinite(param.data).all():
            raise diverged(f"parameter {name!r} is no longer finite", epoch, optimizer)


def diverged(what: str, epoch: int, optimizer: Optimizer) -> TrainingDivergedError:
    """The error for a run whose ``what`` stopped being finite in ``epoch``, with the hint."""
    lr = optimizer.param_groups[0]["lr"]
    return TrainingDivergedError(
        f"training diverged in epoch {epoch}: {what}; lower the learning rate (lr={lr:g})"
    )


def evaluate(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | LossFunction = "cross_entropy",
    loss_name: str | None = None,
    batch_size: int = 4096,
) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) of ``model`` on ``(X, y)``, in eval mode."""
    loss_fn, name = resolve_loss(loss)
    name = loss_name or name
    classifies = name in ("cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss")
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    try:
        with no_grad():
            for start in range(0, X.shape[0], batch_size):
                xb, yb = X[start : start + batch_size], y[start : start + batch_size]
                outputs = model(xb)
                total += float(loss_fn(outputs, yb).item()) * len(xb)
                if classifies:
                    correct += _correct(outputs.data, yb, name)
    finally:
        model.train(was_training)
    n = X.shape[0]
    return total / n, (correct / n if classifies else None)


def predict_outputs(model: Module, X: Any, batch_size: int = 4096) -> np.ndarray:
    """The model's raw outputs for ``X`` (logits for a classifier), in eval mode, no graph."""
    X = as_feature_matrix(X, "X").astype(_parameter_dtype(model), copy=False)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            parts = [model(X[s : s + batch_size]).data for s in range(0, X.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(parts)


def _correct(outputs: np.ndarray, targets: np.ndarray, loss_name: str) -> int:
    if loss_name == "cross_entropy":
        return int(np.sum(outputs.argmax(axis=-1) == np.asarray(targets).reshape(-1)))
    scores = outputs.reshape(-1)
    targets = np.asarray(targets).reshape(-1)
    if loss_name == "hinge_loss":
        return int(np.sum((scores > 0) == (targets > 0)))
    return int(np.sum((scores > 0) == (targets > 0.5)))


def _targets(y: Any, n_rows: int, name: str) -> np.ndarray:
    array = np.asarray(y.data if isinstance(y, Tensor) else y)
    if array.dtype == object or array.dtype.kind not in "iufb":
        raise TypeError(
            f"{name}: targets must be numbers, got dtype {array.dtype} (encode text labels as "
            "class indices, or use MLPClassifier, which does it for you)"
        )
    if array.ndim == 0 or array.shape[0] != n_rows:
        got = array.shape[0] if array.ndim else "a scalar"
        raise ValueError(f"{name}: {got} targets for {n_rows} rows of features")
    return array


def _parameter_dtype(model: Module) -> np.dtype:
    if not isinstance(model, Module):
        raise TypeError(f"fit expects a memograd Module, got {type(model).__name__}")
    params = model.parameters()
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    return params[0].data.dtype


def _whole(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


class _Silent:
    """The do-nothing bar used when there is no terminal or verbose=False."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, epoch: int, loss: float, accuracy: float | None) -> None:
        return None

    def validation(self, loss: float, accuracy: float | None) -> None:
        return None


class _RichBar(_Silent):
    """One rich progress bar over all batches, its text showing epoch, loss and accuracy."""

    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._task = self._progress.add_task("train", total=total, epoch="1", metrics="")
        self._validation = ""

    def __enter__(self) -> _RichBar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def advance(self, epoch: int, loss: float, accuracy: float | None) -> None:
        metrics = f"loss {loss:.4f}" + (f"  acc {accuracy:.3f}" if accuracy is not None else "")
        self._progress.update(
            self._task, advance=1, epoch=str(epoch), metrics=metrics + self._validation
        )

    def validation(self, loss: float, accuracy: float | None) -> None:
        self._validation = f"  val_loss {loss:.4f}" + (
            f"  val_acc {accuracy:.3f}" if accuracy is not None else ""
        )


def _progress(verbose: bool, total: int) -> _Silent:
    if verbose and sys.stdout.isatty():
        try:
            return _RichBar(total)
        except ModuleNotFoundError:  # rich is an optional extra: train without a bar
            return _Silent()
    return _Silent()
