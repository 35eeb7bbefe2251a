"""Loss functions: predictions and targets in, a Tensor out, with PyTorch's arguments.

``reduction`` is "mean" (the default), "sum" or "none" (one loss per element). Targets may be
a NumPy array, a list or a Tensor; a target Tensor that requires grad receives its gradient
(``mse_loss(a, b)`` between two outputs), any other target is a constant. Each function checks
its targets and names the first bad one by position, because an out-of-range label deep in a
data set is otherwise a puzzling crash three calls down.

Every loss is composed from ops of the engine's derivative table (the plain cross-entropy is
the engine's fused op), so no loss defines a derivative: the gradients are the table's.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, check_reduction, stack, where
from memograd.engine.tensor import cross_entropy as _fused_cross_entropy
from memograd.nn.module import as_tensor


def cross_entropy(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    weight: Any = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits against class indices or class probabilities.

    ``input`` is (N, C), (C,) or (N, C, d1, ...); ``target`` holds class indices of shape (N,),
    () or (N, d1, ...), or (floats) class probabilities of ``input``'s own shape. ``weight``
    (C,) scales each class's loss, and "mean" then divides by the summed weight of the targets
    (PyTorch's rule); targets equal to ``ignore_index`` count for nothing; ``label_smoothing``
    ε mixes the target with the uniform distribution: (1 - ε) * loss + ε * (mean over classes
    of the class losses).

    Plain class indices take the engine's fused op (log-softmax and NLL in one node, gradient
    softmax - onehot); the options compose log_softmax with indexing.
    """
    logits = as_tensor(input)
    check_reduction(reduction, "cross_entropy")
    smoothing = check_label_smoothing(label_smoothing, "cross_entropy")
    if isinstance(target, Tensor) and target.requires_grad:
        t = target
    else:
        t = _numbers(target, "cross_entropy: targets")
    shape = logits.data.shape
    if t.dtype.kind == "f" and t.shape == shape and len(shape) >= 1:
        return _probability_cross_entropy(logits, t, weight, reduction, smoothing)
    if isinstance(t, Tensor):
        t = t.data
    ignore = check_ignore_index(ignore_index, "cross_entropy")
    if weight is None and smoothing == 0.0 and len(shape) <= 2:
        classes = shape[-1] if shape else 0
        if not 0 <= ignore < classes:
            # The fused op refuses every target outside 0..C-1, so it cannot pass an ignored one
            # unseen: only when it refuses is there anything to look for.
            try:
                return _fused_cross_entropy(logits, t, reduction)
            except ValueError:
                if not (t.dtype.kind in "iu" and np.any(t == ignore)):
                    raise
        elif not np.any(t == ignore):
            return _fused_cross_entropy(logits, t, reduction)
    rows, t_flat, out_shape = _class_rows(logits, t, "cross_entropy")
    return _class_index_loss(
        rows.log_softmax(axis=-1), t_flat, out_shape, weight, ignore, reduction, smoothing,
        "cross_entropy",
    )  # fmt: skip


def nll_loss(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    weight: Any = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (``log_softmax``'s output) at class indices.

    loss_i = -weight[t_i] * input[i, t_i]; "mean" divides by the summed weight of the targets
    that are not ``ignore_index``. Shapes as :func:`cross_entropy`'s class-index form.
    """
    logp = as_tensor(input)
    check_reduction(reduction, "nll_loss")
    t = _numbers(target, "nll_loss: targets")
    rows, t_flat, out_shape = _class_rows(logp, t, "nll_loss")
    ignore = check_ignore_index(ignore_index, "nll_loss")
    return _class_index_loss(rows, t_flat, out_shape, weight, ignore, reduction, 0.0, "nll_loss")


def binary_cross_entropy_with_logits(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    weight: Any = None,
    *,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Sigmoid then binary cross-entropy, computed stably from the logits x.

    loss = softplus(x) - t * x with softplus(x) = log(1 + e^x) = logsumexp([0, x]); the
    engine's logsumexp factors out the maximum, so neither e^x nor log(sigmoid) overflows, and
    its gradient is exactly sigmoid(x) - t, even at x = 0. ``pos_weight`` p (broadcast along
    the last axis: one per class) weighs the positive term, as PyTorch does:
    loss = (1 - t) * x + (1 + (p - 1) * t) * softplus(-x). ``weight`` scales each element.
    """
    x = as_tensor(input)
    check_reduction(reduction, "loss")
    name = "binary_cross_entropy_with_logits"
    t = _same_shape_targets(target, x, name)
    values = t.data if isinstance(t, Tensor) else t
    outside = (values < 0) | (values > 1)
    if np.any(outside):
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{name}: targets{list(index)} = {values[index].item()!r} is outside [0, 1]"
        )
    if pos_weight is None:
        losses = _softplus(x) - x * t
    else:
        p = _broadcast_constant(pos_weight, x, f"{name}: pos_weight")
        losses = (1 - t) * x + (1 + (p - 1) * t) * _softplus(-x)
    if weight is not None:
        losses = losses * _broadcast_constant(weight, x, f"{name}: weight")
    return _reduce(losses, reduction)


def mse_loss(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    *,
    reduction: str = "mean",
) -> Tensor:
    """Mean squared error, ``mean((input - target)**2)``."""
    prediction = as_tensor(input)
    check_reduction(reduction, "loss")
    difference = prediction - _same_shape_targets(target, prediction, "mse_loss")
    return _reduce(difference * difference, reduction)


def l1_loss(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    *,
    reduction: str = "mean",
) -> Tensor:
    """Mean absolute error, ``mean(|input - target|)`` (gradient sign(d), 0 where d = 0)."""
    prediction = as_tensor(input)
    check_reduction(reduction, "loss")
    return _reduce(
        (prediction - _same_shape_targets(target, prediction, "l1_loss")).abs(), reduction
    )


def huber_loss(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    *,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta): squared near 0, linear beyond.

    Its gradient is d inside and delta * sign(d) outside, so an outlier pulls no harder than
    ``delta``; at |d| = delta both pieces agree (PyTorch takes the linear one there too).
    """
    prediction = as_tensor(input)
    check_reduction(reduction, "loss")
    delta = check_delta(delta, "huber_loss")
    d = prediction - _same_shape_targets(target, prediction, "huber_loss")
    size = d.abs()
    inside = size.data < delta
    return _reduce(where(inside, 0.5 * d * d, delta * (size - 0.5 * delta)), reduction)


def hinge_loss(scores: Any, targets: Any, reduction: str = "mean", margin: float = 1.0) -> Tensor:
    """micrograd's max-margin loss: ``relu(margin - y * score)`` with labels y in {-1, +1}.

    Zero once a point is on the right side with room to spare (``y * score >= margin``), so only
    the points near or across the boundary push the weights: the support-vector-machine loss
    karpathy's micrograd demo trains its moons classifier with.
    """
    scores = as_tensor(scores)
    check_reduction(reduction, "loss")
    y = _same_shape_targets(targets, scores, "hinge_loss")
    values = y.data if isinstance(y, Tensor) else y
    wrong = np.flatnonzero((values != 1) & (values != -1))
    if wrong.size:
        index = np.unravel_index(int(wrong[0]), values.shape)
        raise ValueError(
            f"hinge_loss: targets{[int(i) for i in index]} = {values[index].item()!r}; labels "
            "must be -1 or +1 (map 0/1 labels with 2 * y - 1)"
        )
    return _reduce((margin - scores * y).relu(), reduction)


# --------------------------------------------------------------------------------------------
# The class-index losses: rows of C scores, one target per row
# --------------------------------------------------------------------------------------------


def _class_rows(x: Tensor, t: np.ndarray, name: str) -> tuple[Tensor, np.ndarray, tuple]:
    """``x`` as (M, C) rows with the class axis last, the M targets, and the per-element shape.

    (C,) is one row with a 0-d target; (N, C) is N rows; (N, C, d1, ...) moves the class axis
    last, as PyTorch's K-dimensional losses read it.
    """
    shape = x.data.shape
    if not shape:
        raise ValueError(f"{name}: input must have a class axis, got a 0-d tensor")
    if len(shape) == 2 and t.shape == (shape[0], 1):
        t = t[:, 0]
    out_shape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    if t.shape != out_shape:
        raise ValueError(
            f"{name}: targets of shape {t.shape} do not match input of shape {shape} "
            f"(expected {out_shape}: one class index per row)"
        )
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices, got dtype {t.dtype} "
            "(convert class labels with .astype(int))"
        )
    classes = shape[1] if len(shape) > 1 else shape[0]
    if len(shape) == 1:
        rows = x.reshape(1, classes)
    elif len(shape) == 2:
        rows = x
    else:
        rows = x.transpose(0, *range(2, len(shape)), 1).reshape(-1, classes)
    return rows, t.reshape(-1), out_shape


def _class_index_loss(
    logp: Tensor,
    t: np.ndarray,
    out_shape: tuple,
    weight: Any,
    ignore: int,
    reduction: str,
    smoothing: float,
    name: str,
) -> Tensor:
    """-weight[t] * logp[row, t] per row (0 for ignored rows), reduced as PyTorch does."""
    count, classes = logp.data.shape
    kept = t != ignore
    bad = kept & ((t < 0) | (t >= classes))
    if np.any(bad):
        position = np.unravel_index(int(np.argmax(bad)), out_shape) if out_shape else ()
        raise ValueError(
            f"{name}: targets{[int(i) for i in position]} = {int(t[np.argmax(bad)])} is not a "
            f"class index for {classes} classes (0..{classes - 1}) nor ignore_index ({ignore})"
        )
    dtype = logp.data.dtype
    safe = np.where(kept, t, 0)
    class_weight = None if weight is None else _class_weight(weight, classes, dtype, name)
    scale = kept.astype(dtype) if class_weight is None else class_weight[safe] * kept
    picked = logp[np.arange(count), safe]
    losses = -(picked * scale)
    smooth = None
    if smoothing:  # each row's loss against the uniform distribution, weighted alike
        spread = logp if class_weight is None else logp * class_weight
        smooth = -(spread.sum(axis=-1) * kept.astype(dtype))
    if reduction == "none":
        return _smoothed(losses, smooth, smoothing, classes).reshape(out_shape)
    losses = losses.sum()
    smooth = None if smooth is None else smooth.sum()
    if reduction == "mean":
        denominator = scale.sum()
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as in PyTorch
            losses = losses / denominator
            smooth = None if smooth is None else smooth / denominator
    return _smoothed(losses, smooth, smoothing, classes)


def _smoothed(losses: Tensor, smooth: Tensor | None, smoothing: float, classes: int) -> Tensor:
    """(1 - ε) * loss + ε / C * the uniform target's loss (PyTorch's label smoothing)."""
    if smooth is None:
        return losses
    return (1 - smoothing) * losses + (smoothing / classes) * smooth


def _probability_cross_entropy(
    logits: Tensor, p: Any, weight: Any, reduction: str, smoothing: float
) -> Tensor:
    """-sum_c weight_c * p_c * log_softmax(x)_c per row; "mean" divides by the number of rows."""
    shape = logits.data.shape
    classes = shape[1] if len(shape) > 1 else shape[0]
    values = p.data if isinstance(p, Tensor) else p
    if not np.all(np.isfinite(values)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(f"cross_entropy: target probabilities{list(index)} is not finite")
    if not isinstance(p, Tensor):
        p = p.astype(logits.data.dtype, copy=False)
    if smoothing:
        p = p * (1 - smoothing) + smoothing / classes
    axis = 1 if len(shape) > 1 else 0
    terms = logits.log_softmax(axis=axis) * p
    if weight is not None:
        class_weight = _class_weight(weight, classes, logits.data.dtype, "cross_entropy")
        terms = terms * class_weight.reshape((classes,) + (1,) * (len(shape) - axis - 1))
    losses = -terms.sum(axis=axis)
    if reduction == "mean":
        return losses.sum() / (values.size // classes)
    return _reduce(losses, reduction)


def _class_weight(weight: Any, classes: int, dtype: np.dtype, name: str) -> np.ndarray:
    w = _numbers(weight, f"{name}: weight")
    if w.shape != (classes,):
        raise ValueError(
            f"{name}: weight must have one entry per class ({classes},), got {w.shape}"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name}: weight[{int(np.argmax(~np.isfinite(w)))}] is not finite")
    return w.astype(dtype, copy=False)


# --------------------------------------------------------------------------------------------
# Checking arguments
# --------------------------------------------------------------------------------------------


def _numbers(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.dtype == object or array.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype}")
    return array


def check_ignore_index(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: ignore_index must be an int, got {value!r}")
    return int(value)


def check_label_smoothing(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Number) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be a number in [0, 1], got {value!r}")
    return float(value)


def check_delta(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Number) or not value > 0:
        raise ValueError(f"{name}: delta must be a number > 0, got {value!r}")
    return float(value)


def _same_shape_targets(targets: Any, prediction: Tensor, name: str) -> Any:
    """Targets of the prediction's shape and dtype; (N,) is accepted for (N, 1).

    An array (a constant), or the target Tensor itself when it requires grad (it then receives
    its gradient). Shapes that would broadcast into something else are refused: PyTorch's
    warning about "a target size that is different to the input size" is an error here.
    """
    shape = prediction.data.shape
    if isinstance(targets, Tensor) and targets.requires_grad:
        t = targets
        values = t.data
    else:
        t = values = _numbers(targets, f"{name}: targets")
    if values.shape != shape:
        if values.size == prediction.data.size and (values.ndim == 1 or len(shape) == 1):
            t = t.reshape(shape)
            values = values.reshape(shape)
        else:
            raise ValueError(
                f"{name}: targets of shape {values.shape} do not match predictions of shape {shape}"
            )
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(f"{name}: targets{list(index)} is not finite")
    if isinstance(t, Tensor):
        return t
    return t.astype(prediction.data.dtype, copy=False)


def _broadcast_constant(values: Any, x: Tensor, name: str) -> np.ndarray:
    """A weight array that broadcasts against ``x`` without changing its shape."""
    w = _numbers(values, name)
    try:
        fits = np.broadcast_shapes(w.shape, x.data.shape) == x.data.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{name} of shape {w.shape} does not broadcast to the input {x.data.shape}"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} holds a value that is not finite")
    return w.astype(x.data.dtype, copy=False)


def _softplus(x: Tensor) -> Tensor:
    """log(1 + e^x) as logsumexp([0, x]): never overflows, gradient sigmoid(x)."""
    zeros = Tensor(np.zeros_like(x.data))
    return stack([zeros, x], axis=-1).logsumexp(axis=-1)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "nll_loss",
]
