"""Saving and loading fitted estimators: memograd's model file, never a pickle.

A fitted estimator is written with :func:`memograd.nn.save`: its network as a ``Sequential`` of
``Linear`` layers and activations (the arrays are ``coefs_`` and ``intercepts_``), and in the
JSON metadata everything else a prediction needs or a user may read: the class name, the
constructor's parameters, ``classes_`` with their dtype, the features' number and names, the
output activation and the fitted numbers (``n_iter_``, ``loss_curve_``, ...). Loading checks
that all of it agrees (the layers with the parameters, the classes with the label type) and
refuses the file otherwise, naming it.

Files written before the estimators became scikit-learn's (their settings say ``hidden`` and
``epochs``; their network is ``Standardize`` then ``MLP``, with a softmax over two logits for
two classes and standardised targets for a regressor) still load: the standardisation is folded
into the first layer, the two logits into one logistic unit, the target scaling into the last
layer. The result is the same function of the raw features.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer

from memograd.nn.estimators import network
from memograd.nn.estimators.scaling import fold_input_scaling, fold_output_scaling
from memograd.nn.layers import MLP, Sequential, Standardize
from memograd.nn.serialization import ModelFileError, load_checkpoint, save

FORMAT = 2  # metadata "estimator_format"; the files of the earlier estimators have none
FITTED = (
    "n_iter_",
    "t_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
)
# What the metadata holds for the estimator itself; a caller's metadata may add keys, and may
# replace "feature_names" (the columns of the file ``memograd train`` read), nothing else.
OWN_KEYS = (
    "estimator",
    "estimator_format",
    "params",
    "n_features",
    "feature_names_in",
    "n_outputs",
    "out_activation",
    "fitted",
    "classes",
    "classes_dtype",
    "label_type",
)
# The activation names of the earlier estimators (memograd's) -> scikit-learn's.
LEGACY_ACTIVATIONS = {
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "logistic",
    "leaky_relu": "leaky_relu",
    "gelu": "gelu",
}


def save_estimator(est: Any, path: str | os.PathLike[str], metadata: dict[str, Any]) -> None:
    """Write fitted ``est`` to ``path`` with its metadata (plus the caller's ``metadata``)."""
    clashes = sorted(set(metadata) & set(OWN_KEYS))
    if clashes:
        raise ValueError(f"metadata keys {clashes} are the estimator's own; choose other names")
    names = getattr(est, "feature_names_in_", None)
    names = None if names is None else [str(n) for n in names]
    meta: dict[str, Any] = {
        "estimator": type(est).__name__,
        "estimator_format": FORMAT,
        "params": {k: _plain(v) for k, v in est.get_params(deep=False).items()},
        "n_features": int(est.n_features_in_),
        "feature_names": names,
        "feature_names_in": names,
        "n_outputs": int(est.n_outputs_),
        "out_activation": est.out_activation_,
        "fitted": {k: _plain(getattr(est, k)) for k in FITTED if hasattr(est, k)},
    }
    if is_classifier(est):
        meta["classes"] = _plain(est.classes_)
        meta["classes_dtype"] = est.classes_.dtype.str
        meta["label_type"] = est._label_binarizer.y_type_
    meta.update(metadata)
    net = network.build(est.coefs_, est.intercepts_, est.activation)
    save(net, path, metadata=meta)


def load_estimator(cls: type, path: str | os.PathLike[str]) -> Any:
    """A fitted ``cls`` from ``path``; any inconsistency raises ``ModelFileError``."""
    checkpoint = load_checkpoint(path)
    meta = checkpoint.metadata
    if meta.get("estimator") != cls.__name__:
        raise ModelFileError(
            f"{path}: holds a {meta.get('estimator') or 'plain model'}, not a {cls.__name__}"
        )
    try:
        if meta.get("estimator_format") == FORMAT:
            return _load_current(cls, checkpoint, meta)
        if "estimator_format" not in meta:
            return _load_legacy(cls, checkpoint.model, meta)
        raise ValueError(
            f"estimator format {meta['estimator_format']!r}; this memograd reads {FORMAT}"
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelFileError(f"{path}: not a usable {cls.__name__} ({detail})") from None


def _load_current(cls: type, checkpoint: Any, meta: dict[str, Any]) -> Any:
    params = {k: _unplain(v) for k, v in meta["params"].items()}
    if isinstance(params.get("hidden_layer_sizes"), list):  # JSON has no tuples
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    est = _estimator(cls, params)
    layers = network.linear_layers(checkpoint.model)
    coefs = [layer.weight.data for layer in layers]
    intercepts = [layer.bias.data for layer in layers]
    expected = network.build(coefs, intercepts, est.activation).describe()
    if checkpoint.architecture != expected:
        raise ValueError(f"its layers do not match activation={est.activation!r}")
    names = meta.get("feature_names_in")
    _set_fitted(est, coefs, intercepts, _whole(meta, "n_features"), meta["out_activation"])
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    if est.n_outputs_ != meta["n_outputs"]:
        raise ValueError(f"{est.n_outputs_} outputs in the network, {meta['n_outputs']} stated")
    for name, value in meta.get("fitted", {}).items():
        if name in FITTED:
            setattr(est, name, _unplain(value))
    if is_classifier(est):
        classes = np.asarray(meta["classes"], dtype=_classes_dtype(meta["classes_dtype"]))
        if _plain(classes) != meta["classes"]:  # e.g. text read as bool: never silently
            raise ValueError(f"classes {meta['classes']} are not of dtype {classes.dtype}")
        _set_classes(est, classes, meta["label_type"])
    return est


def _load_legacy(cls: type, model: Any, meta: dict[str, Any]) -> Any:
    """An estimator from a file of the earlier, pre-scikit-learn estimators."""
    old = meta.get("params") or {}
    mean = scale = None
    if isinstance(model, Sequential) and len(model) == 2 and isinstance(model[0], Standardize):
        mean, scale, model = model[0].mean, model[0].scale, model[1]
    if not isinstance(model, MLP):
        raise ValueError(f"a {type(model).__name__} where an MLP was expected")
    layers = network.linear_layers(model)
    coefs = [layer.weight.data.copy() for layer in layers]
    intercepts = [layer.bias.data.copy() for layer in layers]
    if mean is not None:
        fold_input_scaling(coefs, intercepts, mean, scale)
    stopping = old.get("early_stopping")
    params = {
        "hidden_layer_sizes": tuple(old.get("hidden", [c.shape[1] for c in coefs[:-1]])),
        "activation": LEGACY_ACTIVATIONS[model.activation],
        "solver": "sgd" if old.get("optimizer") == "sgd" else "adam",
        "learning_rate_init": old.get("lr", 0.001),
        "max_iter": old.get("epochs", 200),
        "batch_size": old.get("batch_size", "auto"),
        "dropout": old.get("dropout", 0.0),
        "random_state": old.get("seed"),
        "early_stopping": stopping is not None,
        "n_iter_no_change": stopping if stopping is not None else 10,
        "validation_fraction": old.get("validation_fraction", 0.1),
        "dtype": coefs[0].dtype.name,
    }
    est = _estimator(cls, params)
    if is_classifier(est):
        classes = np.asarray(meta["classes"])
        if len(classes) == 2:  # softmax over two logits = logistic unit on their difference
            coefs[-1] = coefs[-1][:, 1:] - coefs[-1][:, :1]
            intercepts[-1] = intercepts[-1][1:] - intercepts[-1][:1]
        _set_fitted(
            est, coefs, intercepts, _whole(meta, "n_features"), _classifier_output(len(classes))
        )
        _set_classes(est, classes, "binary" if len(classes) == 2 else "multiclass")
    else:
        if list(meta["target_shape"]) not in ([], [coefs[-1].shape[1]]):
            raise ValueError(f"targets of shape {meta['target_shape']} are not supported")
        fold_output_scaling(coefs, intercepts, meta["target_mean"], meta["target_scale"])
        _set_fitted(est, coefs, intercepts, _whole(meta, "n_features"), "identity")
    return est


def _whole(meta: dict[str, Any], key: str) -> int:
    """A metadata field that must be a whole number (JSON's, not a string that looks like one)."""
    value = meta[key]
    if type(value) is not int:
        raise ValueError(f"metadata field {key!r} is {value!r}; expected a whole number")
    return value


def _estimator(cls: type, params: dict[str, Any]) -> Any:
    est = cls(**params)
    est._validate_params()  # a hand-edited file gets scikit-learn's message, not a late crash
    return est


def _set_fitted(
    est: Any, coefs: list, intercepts: list, n_features: int, out_activation: str
) -> None:
    if coefs[0].shape[0] != n_features:
        raise ValueError(f"the network takes {coefs[0].shape[0]} features, not {n_features}")
    hidden = [c.shape[1] for c in coefs[:-1]]
    sizes = est.hidden_layer_sizes
    if hidden != (list(sizes) if hasattr(sizes, "__iter__") else [sizes]):
        raise ValueError(f"hidden layers of {hidden} units, hidden_layer_sizes={sizes!r}")
    est.coefs_ = coefs
    est.intercepts_ = intercepts
    est.n_features_in_ = n_features
    est.n_outputs_ = coefs[-1].shape[1]
    est.n_layers_ = len(coefs) + 1
    allowed = ("softmax", "logistic") if is_classifier(est) else (est._output_activation(),)
    if out_activation not in allowed:
        raise ValueError(f"output activation {out_activation!r}, expected one of {allowed}")
    est.out_activation_ = out_activation


def _set_classes(est: Any, classes: np.ndarray, label_type: str) -> None:
    """``classes_`` and the label binarizer, rebuilt as the fit that made them would have."""
    binarizer = LabelBinarizer()
    if label_type == "multilabel-indicator":
        binarizer.fit(np.array([np.zeros(len(classes), int), np.ones(len(classes), int)]))
    else:
        binarizer.fit(classes)
    if binarizer.y_type_ != label_type or not np.array_equal(binarizer.classes_, classes):
        raise ValueError(f"classes {classes.tolist()} do not make {label_type!r} labels")
    wanted = _classifier_output(len(classes)) if label_type != "multilabel-indicator" else None
    if wanted is not None and est.out_activation_ != wanted:
        raise ValueError(f"{len(classes)} classes need a {wanted} output")
    outputs = 1 if label_type == "binary" else len(classes)
    if est.n_outputs_ != outputs:
        raise ValueError(f"{len(classes)} {label_type} classes need {outputs} outputs")
    est._label_binarizer = binarizer
    est.classes_ = binarizer.classes_


def _classifier_output(n_classes: int) -> str:
    return "softmax" if n_classes > 2 else "logistic"


def _classes_dtype(text: str) -> np.dtype:
    dtype = np.dtype(text)
    if dtype.kind not in "biufUO":
        raise ValueError(f"classes of dtype {text!r}")
    return dtype


# ---- JSON for numbers the standard cannot spell (inf, nan) and NumPy values -----------------


def _plain(value: Any) -> Any:
    """A JSON value for ``value``: NumPy scalars, arrays and tuples unwrapped, non-finite floats
    tagged as ``{"float": "inf"}``, dtypes as their name, a RandomState as None."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, np.random.RandomState):
        return None
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"float"}:
        return float(value["float"])
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value
