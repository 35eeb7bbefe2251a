"""Loss functions: a prediction Tensor and targets in, a scalar Tensor out.

``reduction`` is "mean" (the default), "sum" or "none" (one loss per element). Targets may be
given as a NumPy array, a list or a Tensor (targets never receive gradients). Each function
checks its targets and names the first bad one by position, because an out-of-range label deep in
a data set is otherwise a puzzling crash three calls down.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, check_reduction, stack
from memograd.engine.tensor import cross_entropy as _fused_cross_entropy
from memograd.nn.module import as_tensor


def cross_entropy(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of (N, C) logits against N integer class indices in 0..C-1.

    The engine's fused op (:func:`memograd.engine.tensor.cross_entropy`, which checks the
    targets): log-softmax and negative log-likelihood in one node, computed with the row maximum
    subtracted, so logits of +-1e4 give a finite loss and the gradient is exactly
    softmax - onehot (divided by N for the mean).
    """
    return _fused_cross_entropy(as_tensor(logits), targets, reduction)


def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Sigmoid then binary cross-entropy, computed stably from the logits x.

    loss = softplus(x) - t * x with softplus(x) = log(1 + e^x) = logsumexp([0, x]); the
    engine's logsumexp factors out the maximum, so neither e^x nor log(sigmoid) overflows, and
    its gradient is exactly sigmoid(x) - t, even at x = 0.
    """
    x = as_tensor(logits)
    check_reduction(reduction, "loss")
    t = _same_shape_targets(targets, x, "binary_cross_entropy_with_logits")
    if np.any((t < 0) | (t > 1)):
        index = tuple(int(i) for i in np.argwhere((t < 0) | (t > 1))[0])
        raise ValueError(
            f"binary_cross_entropy_with_logits: targets{list(index)} = {t[index].item()!r} "
            "is outside [0, 1]"
        )
    zeros = Tensor(np.zeros_like(x.data))
    softplus = stack([zeros, x], axis=-1).logsumexp(axis=-1)
    return _reduce(softplus - x * t, reduction)


def mse_loss(prediction: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error, ``mean((prediction - targets)**2)``."""
    prediction = as_tensor(prediction)
    check_reduction(reduction, "loss")
    t = _same_shape_targets(targets, prediction, "mse_loss")
    difference = prediction - t
    return _reduce(difference * difference, reduction)


def hinge_loss(scores: Any, targets: Any, reduction: str = "mean", margin: float = 1.0) -> Tensor:
    """micrograd's max-margin loss: ``relu(margin - y * score)`` with labels y in {-1, +1}.

    Zero once a point is on the right side with room to spare (``y * score >= margin``), so only
    the points near or across the boundary push the weights: the support-vector-machine loss
    karpathy's micrograd demo trains its moons classifier with.
    """
    scores = as_tensor(scores)
    check_reduction(reduction, "loss")
    y = _same_shape_targets(targets, scores, "hinge_loss")
    wrong = np.flatnonzero((y != 1) & (y != -1))
    if wrong.size:
        index = np.unravel_index(int(wrong[0]), y.shape)
        raise ValueError(
            f"hinge_loss: targets{[int(i) for i in index]} = {y[index].item()!r}; labels must be "
            "-1 or +1 (map 0/1 labels with 2 * y - 1)"
        )
    return _reduce((margin - scores * y).relu(), reduction)


def _plain(targets: Any, name: str) -> np.ndarray:
    array = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if array.dtype == object or array.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype}")
    return array


def _same_shape_targets(targets: Any, prediction: Tensor, name: str) -> np.ndarray:
    """Targets as an array of the prediction's shape and dtype; (N,) is accepted for (N, 1)."""
    t = _plain(targets, f"{name}: targets")
    shape = prediction.data.shape
    if t.shape != shape:
        if t.size == prediction.data.size and (t.ndim == 1 or len(shape) == 1):
            t = t.reshape(shape)
        else:
            raise ValueError(
                f"{name}: targets of shape {t.shape} do not match predictions of shape {shape}"
            )
    if t.dtype.kind == "f" and not np.all(np.isfinite(t)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(t))[0])
        raise ValueError(f"{name}: targets{list(index)} is not finite")
    return t.astype(prediction.data.dtype, copy=False)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
