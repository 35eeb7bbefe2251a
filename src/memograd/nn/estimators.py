"""scikit-learn style estimators: ``MLPClassifier`` and ``MLPRegressor``.

``clf = mg.MLPClassifier().fit(X, y)``, then ``predict``, ``predict_proba``, ``score``. Under the
hood each is a ``Sequential(Standardize, MLP)`` trained with :func:`memograd.nn.fit`: the
standardising layer carries the training rows' mean and spread inside the model, so a saved
estimator takes raw features and ``memograd predict`` needs the model file alone.

The classifier accepts any labels (ints, strings) and remembers them in ``classes_``; the
network sees class indices 0..k-1. Labels at ``score`` time that the model never saw are an error
naming the row, not a silent zero.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET
from memograd.data.errors import DataError
from memograd.data.split import Standardizer
from memograd.data.validation import as_feature_matrix, check_finite, check_labels_in_classes
from memograd.engine import Tensor, no_grad, softmax
from memograd.nn.layers import MLP, Linear, Sequential, Standardize
from memograd.nn.model_header import shown
from memograd.nn.module import Module
from memograd.nn.serialization import Checkpoint, ModelFileError, load_checkpoint, save
from memograd.nn.training import History, fit, predict_outputs
from memograd.seeding import Seed, generator


class _MLPEstimator:
    """Shared machinery: hyperparameters, building, training, saving."""

    loss = ""
    kind = ""

    def __init__(
        self,
        hidden: Sequence[int] | int = (64,),
        activation: str = "relu",
        optimizer: str = "adam",
        lr: float = 1e-3,
        epochs: int = 50,
        batch_size: int = 32,
        weight_decay: float = 0.0,
        dropout: float = 0.0,
        standardize: bool = True,
        early_stopping: int | None = None,
        validation_fraction: float = 0.1,
        seed: Seed = None,
        verbose: bool = False,
    ) -> None:
        sizes = (hidden,) if isinstance(hidden, int | np.integer) else tuple(hidden)
        if any(isinstance(h, bool) or int(h) != h or h < 1 for h in sizes):
            raise ValueError(
                f"hidden must be layer sizes >= 1, such as (64,) or (64, 32), got {hidden!r}"
            )
        self.hidden = tuple(int(h) for h in sizes)
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.verbose = verbose
        self.model_: Module | None = None
        self.history_: History | None = None
        self.n_features_: int | None = None
        self.feature_names_: list[str] | None = None

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (JSON values), as saved with the model."""
        return {
            "hidden": list(self.hidden),
            "activation": self.activation,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "weight_decay": self.weight_decay,
            "dropout": self.dropout,
            "standardize": self.standardize,
            "early_stopping": self.early_stopping,
            "validation_fraction": self.validation_fraction,
            "seed": self.seed if isinstance(self.seed, int) else None,
        }

    def _build(self, X: np.ndarray, n_outputs: int, rng: np.random.Generator) -> Module:
        sizes = [X.shape[1], *self.hidden, n_outputs]
        mlp = MLP(sizes, activation=self.activation, dropout=self.dropout, rng=rng)
        if not self.standardize:
            return mlp
        scaler = Standardizer().fit(X)
        return Sequential(Standardize.fitted(scaler.mean_, scaler.scale_), mlp)

    def _train(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        n_outputs: int,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        rng = generator(self.seed)
        self.n_features_ = X.shape[1]
        self.model_ = self._build(X, n_outputs, rng)
        held_out: tuple[np.ndarray, np.ndarray] | float | None = validation
        if held_out is None and self.early_stopping is not None:
            held_out = self.validation_fraction
        self.history_ = fit(
            self.model_,
            X,
            targets,
            loss=self.loss,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            epochs=self.epochs,
            batch_size=self.batch_size,
            validation=held_out,
            early_stopping=self.early_stopping,
            seed=rng,
            verbose=self.verbose,
        )

    def _outputs(self, X: Any) -> np.ndarray:
        if self.model_ is None:
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) first"
            )
        X = as_feature_matrix(X, "X")
        if X.shape[1] != self.n_features_:
            raise DataError(
                f"X has {X.shape[1]} features per row, but the model was trained on "
                f"{self.n_features_}"
            )
        return predict_outputs(self.model_, X).astype(np.float64)

    def _metadata(self) -> dict[str, Any]:
        return {
            "estimator": type(self).__name__,
            "params": self.get_params(),
            "n_features": self.n_features_,
            "feature_names": self.feature_names_,
        }

    def save(self, path: str | os.PathLike[str], **extra: Any) -> None:
        """Save the fitted estimator (network, classes, settings) to one .npz file."""
        if self.model_ is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; nothing to save")
        save(self.model_, path, metadata={**self._metadata(), **extra})

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        budget: int | None = DATA_MEMORY_BUDGET,
        force: bool = False,
    ):
        """Load an estimator saved by :meth:`save` (refuses a file saved by another kind)."""
        return cls.from_checkpoint(load_checkpoint(path, budget=budget, force=force), path)

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, path: str | os.PathLike[str]):
        """The estimator in an already loaded model file, its metadata checked against the network.

        Every field :meth:`save` writes must be there with the right type and agree with the
        network (features with its inputs, classes or target scaling with its outputs);
        otherwise ``ModelFileError`` names the file and the field.
        """
        meta = checkpoint.metadata
        if meta.get("estimator") != cls.__name__:
            raise ModelFileError(
                f"{path}: holds a {meta.get('estimator') or 'plain model'}, not a {cls.__name__}"
            )
        field = _Metadata(meta, path)
        try:
            estimator = cls(**field.get("params", dict, "an object"))
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: metadata field 'params': {exc}") from None
        inputs, outputs = _network_sizes(checkpoint.model, path)
        estimator.n_features_ = field.count("n_features", inputs, "inputs")
        names = field.get("feature_names", (list, type(None)), "a list of column names")
        if names is not None and (
            len(names) != inputs or not all(isinstance(name, str) for name in names)
        ):
            raise ModelFileError(
                f"{path}: metadata field 'feature_names' must be {inputs} column names, one per "
                f"input of the network, got {shown(names)}"
            )
        estimator.feature_names_ = names
        estimator.model_ = checkpoint.model
        estimator.model_.eval()
        estimator._restore(field, outputs)
        return estimator

    def _restore(self, field: _Metadata, outputs: int) -> None:
        return None

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({settings})"


class MLPClassifier(_MLPEstimator):
    """A multilayer-perceptron classifier trained with softmax cross-entropy.

    Defaults: one hidden layer of 64 ReLU units, Adam at 1e-3, 50 epochs of batches of 32,
    inputs standardised on the training rows.
    """

    loss = "cross_entropy"

    def fit(
        self,
        X: Any,
        y: Any,
        validation: tuple[Any, Any] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> MLPClassifier:
        """Learn the classes in ``y`` and train; ``validation=(X_val, y_val)`` is optional."""
        X = as_feature_matrix(X, "X")
        labels = _labels(y, X.shape[0], "y")
        classes = np.unique(labels)
        if len(classes) < 2:
            raise DataError(f"y: needs at least 2 classes to classify, got only {classes.tolist()}")
        self.classes_ = classes
        indices = np.searchsorted(classes, labels)
        val = None
        if validation is not None:
            X_val = as_feature_matrix(validation[0], "validation X")
            y_val = _labels(validation[1], X_val.shape[0], "validation y")
            val = (X_val, check_labels_in_classes(y_val, classes.tolist(), "validation y"))
        self.feature_names_ = list(feature_names) if feature_names is not None else None
        self._train(X, indices, len(classes), val)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, rows summing to 1, columns in the order of ``classes_``."""
        with no_grad():
            return softmax(Tensor(self._outputs(X)), axis=1).data

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (one of ``classes_``)."""
        winners = self._outputs(X).argmax(axis=1)  # first: it checks the model is fitted
        return self.classes_[winners]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on ``(X, y)``; a label the model was not trained on is an error."""
        X = as_feature_matrix(X, "X")
        labels = _labels(y, X.shape[0], "y")
        expected = check_labels_in_classes(labels, self.classes_.tolist(), "y")
        return float(np.mean(self._outputs(X).argmax(axis=1) == expected))

    def _metadata(self) -> dict[str, Any]:
        return {**super()._metadata(), "classes": self.classes_.tolist()}

    def _restore(self, field: _Metadata, outputs: int) -> None:
        classes = field.get("classes", list, "the list of class labels")
        kinds = {type(c) in (int, float) for c in classes}
        if (
            len(classes) != outputs
            or not all(isinstance(c, str | int | float) for c in classes)
            or len(kinds) > 1
            or len(set(classes)) != len(classes)
        ):
            raise ModelFileError(
                f"{field.path}: metadata field 'classes' must be {outputs} distinct labels of one "
                f"kind, one per output of the network, got {shown(classes)}"
            )
        self.classes_ = np.array(classes)


class MLPRegressor(_MLPEstimator):
    """A multilayer-perceptron regressor trained with mean squared error.

    Targets are standardised for training (and mapped back for ``predict``), so the network's
    outputs live on the same scale as its initial weights whatever the units of ``y``.
    """

    loss = "mse"

    def fit(
        self,
        X: Any,
        y: Any,
        validation: tuple[Any, Any] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> MLPRegressor:
        X = as_feature_matrix(X, "X")
        targets = _values(y, X.shape[0], "y")
        self.target_shape_ = targets.shape[1:]
        columns = targets.reshape(len(targets), -1)
        self.target_mean_ = columns.mean(axis=0)
        std = columns.std(axis=0)
        self.target_scale_ = np.where(std > 0, std, 1.0)
        scaled = (columns - self.target_mean_) / self.target_scale_
        val = None
        if validation is not None:
            X_val = as_feature_matrix(validation[0], "validation X")
            y_val = _values(validation[1], X_val.shape[0], "validation y").reshape(len(X_val), -1)
            val = (X_val, (y_val - self.target_mean_) / self.target_scale_)
        self.feature_names_ = list(feature_names) if feature_names is not None else None
        self._train(X, scaled, columns.shape[1], val)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, in the units and shape of the ``y`` given to ``fit``."""
        outputs = self._outputs(X) * self.target_scale_ + self.target_mean_
        return outputs.reshape((outputs.shape[0], *self.target_shape_))

    def score(self, X: Any, y: Any) -> float:
        """The coefficient of determination R^2 (1 is perfect, 0 is predicting the mean)."""
        X = as_feature_matrix(X, "X")
        truth = _values(y, X.shape[0], "y").reshape(X.shape[0], -1)
        predicted = self.predict(X).reshape(X.shape[0], -1)
        residual = np.sum((truth - predicted) ** 2)
        total = np.sum((truth - truth.mean(axis=0)) ** 2)
        return float(1.0 - residual / total) if total > 0 else float(residual == 0)

    def _metadata(self) -> dict[str, Any]:
        return {
            **super()._metadata(),
            "target_mean": self.target_mean_.tolist(),
            "target_scale": self.target_scale_.tolist(),
            "target_shape": list(self.target_shape_),
        }

    def _restore(self, field: _Metadata, outputs: int) -> None:
        self.target_mean_ = field.numbers("target_mean", outputs)
        self.target_scale_ = field.numbers("target_scale", outputs)
        if np.any(self.target_scale_ <= 0):
            raise ModelFileError(f"{field.path}: metadata field 'target_scale' must be positive")
        shape = field.get("target_shape", list, "a list of sizes")
        if not all(type(n) is int and n >= 1 for n in shape) or math.prod(shape) != outputs:
            raise ModelFileError(
                f"{field.path}: metadata field 'target_shape' must be sizes multiplying to the "
                f"network's {outputs} outputs, got {shown(shape)}"
            )
        self.target_shape_ = tuple(shape)


class _Metadata:
    """An estimator's saved metadata, read field by field; a bad field names the file and itself."""

    def __init__(self, meta: dict[str, Any], path: str | os.PathLike[str]) -> None:
        self.meta, self.path = meta, path

    def get(self, key: str, kinds: type | tuple[type, ...], expected: str) -> Any:
        if key not in self.meta:
            raise ModelFileError(f"{self.path}: metadata field {key!r} is missing")
        value = self.meta[key]
        if not isinstance(value, kinds):
            raise ModelFileError(
                f"{self.path}: metadata field {key!r} is {shown(value)}; expected {expected}"
            )
        return value

    def count(self, key: str, expected: int, noun: str) -> int:
        value = self.get(key, int, "a whole number")
        if isinstance(value, bool) or value != expected:
            raise ModelFileError(
                f"{self.path}: metadata field {key!r} is {shown(value)}, but the network has "
                f"{expected} {noun}"
            )
        return value

    def numbers(self, key: str, length: int) -> np.ndarray:
        values = self.get(key, list, f"a list of {length} numbers")
        if len(values) != length or not all(
            type(v) in (int, float) and math.isfinite(v) for v in values
        ):
            raise ModelFileError(
                f"{self.path}: metadata field {key!r} must be {length} finite numbers, one per "
                f"output of the network, got {shown(values)}"
            )
        return np.asarray(values, dtype=np.float64)


def _network_sizes(model: Module, path: Any) -> tuple[int, int]:
    """(inputs, outputs) of an estimator's network: its first and last Linear layers."""
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    if not linears:
        raise ModelFileError(f"{path}: the saved network has no Linear layer")
    return linears[0].in_features, linears[-1].out_features


def _labels(y: Any, n_rows: int, name: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise DataError(
            f"{name}: expected {n_rows} labels in a 1-D array, got shape {labels.shape}"
        )
    if labels.dtype == object:
        labels = labels.astype(str)
    if labels.dtype.kind == "f":
        check_finite(labels, name)
    return labels


def _values(y: Any, n_rows: int, name: str) -> np.ndarray:
    values = np.asarray(y)
    if values.dtype == object or values.dtype.kind not in "iufb":
        raise DataError(f"{name}: regression targets must be numbers, got dtype {values.dtype}")
    if values.ndim == 0 or values.shape[0] != n_rows:
        raise DataError(
            f"{name}: {values.shape[0] if values.ndim else 0} targets for {n_rows} rows"
        )
    values = values.astype(np.float64)
    check_finite(values, name)
    return values
