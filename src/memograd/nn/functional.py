"""``memograd.nn.functional``: PyTorch's ``torch.nn.functional`` names on memograd Tensors.

Activations (``relu``, ``softmax``, ``log_softmax`` with ``dim=``...), ``dropout``,
``one_hot``, ``flatten``, ``embedding``, ``layer_norm``, ``batch_norm`` and the losses
(:mod:`memograd.nn.losses`). Each is a composition of the engine's ops, so every gradient comes
from the one derivative table; the layers of :mod:`memograd.nn` call these.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

import memograd.seeding as seeding
from memograd.engine.tensor import Tensor, bump_version, where
from memograd.nn.losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from memograd.nn.module import as_tensor
from memograd.seeding import global_generator

__all__ = [
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "flatten",
    "hinge_loss",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------


def relu(input: Any, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's names
    """max(0, x), gradient 0 at 0 (a new tensor: ``inplace=True`` is refused)."""
    _refuse_inplace(inplace, "relu")
    return as_tensor(input).relu()


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > 0, else ``negative_slope * x``."""
    _refuse_inplace(inplace, "leaky_relu")
    return as_tensor(input).leaky_relu(negative_slope)


def sigmoid(input: Any) -> Tensor:  # noqa: A002
    return as_tensor(input).sigmoid()


def tanh(input: Any) -> Tensor:  # noqa: A002
    return as_tensor(input).tanh()


def softmax(input: Any, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """exp(x) / sum(exp(x)) along ``dim``, computed with the maximum subtracted (no overflow).

    Without ``dim`` the axis is PyTorch's deprecated implicit choice (0 for 0-, 1- and 3-d
    input, else 1), with PyTorch's warning.
    """
    x = _cast(as_tensor(input), dtype)
    return x.softmax(_softmax_dim(dim, x.data.ndim, "softmax"))


def log_softmax(input: Any, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """x - logsumexp(x) along ``dim``: finite for logits of any size (``dim`` as in softmax)."""
    x = _cast(as_tensor(input), dtype)
    return x.log_softmax(_softmax_dim(dim, x.data.ndim, "log_softmax"))


def _softmax_dim(dim: int | None, ndim: int, name: str) -> int:
    if dim is not None:
        return dim
    chosen = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        f"dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return chosen


def _cast(x: Tensor, dtype: Any) -> Tensor:
    if dtype is None or np.dtype(dtype) == x.data.dtype:
        return x
    if x.requires_grad:
        raise TypeError(
            "dtype= would cast a tensor that requires grad, and no op of the derivative table "
            "casts; cast the input before it enters the graph"
        )
    return Tensor(x.data.astype(dtype))


def _refuse_inplace(inplace: Any, name: str) -> None:
    if inplace:
        raise ValueError(
            f"{name}(inplace=True) is not supported: memograd returns a new tensor and never "
            "overwrites the input; drop inplace=True (the returned value is the same)"
        )


# --------------------------------------------------------------------------------------------
# Dropout, shapes, one-hot, embedding
# --------------------------------------------------------------------------------------------


def check_dropout_probability(p: Any) -> None:
    if isinstance(p, bool) or not isinstance(p, Number) or not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p!r}")


def dropout(
    input: Any,  # noqa: A002
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """In training, zero each entry with probability ``p`` and scale the rest by 1/(1-p).

    Masks come from ``generator``, or from memograd's global generator (``mg.manual_seed``).
    (``p = 1``, which PyTorch allows and which zeroes everything, is refused: it trains nothing.)
    """
    _refuse_inplace(inplace, "dropout")
    check_dropout_probability(p)
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    draws = global_generator() if generator is None else seeding.generator(generator)
    keep = draws.random(x.data.shape) >= p
    scale = (keep / (1.0 - p)).astype(x.data.dtype)
    return x * scale


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:  # noqa: A002
    """Merge the axes ``start_dim`` .. ``end_dim`` (inclusive) into one."""
    x = as_tensor(input)
    shape = x.data.shape
    ndim = max(len(shape), 1)
    start, end = start_dim, end_dim
    for name, value in (("start_dim", start), ("end_dim", end)):
        if not -ndim <= value < ndim:
            raise IndexError(
                f"flatten: {name}={value} is out of range for a tensor of shape {shape}"
            )
    start, end = start % ndim, end % ndim
    if start > end:
        raise ValueError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim})")
    if not shape:
        return x.reshape(1)
    merged = math.prod(shape[start : end + 1])
    return x.reshape(*shape[:start], merged, *shape[end + 1 :])


def _class_indices(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer indices, got dtype {array.dtype}")
    return array


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """(..., ) class indices -> (..., num_classes) int64 rows of zeros with a 1 at the index.

    ``num_classes=-1`` takes the largest index + 1. An index outside 0..num_classes-1 is
    refused, naming its position.
    """
    indices = _class_indices(tensor, "one_hot")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(indices.max()) + 1
    if num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or >= 0, got {num_classes}")
    bad = (indices < 0) | (indices >= num_classes)
    if np.any(bad):
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"one_hot: index{list(position)} = {int(indices[position])} is not a class index "
            f"for {num_classes} classes (0..{num_classes - 1})"
        )
    out = np.zeros((*indices.shape, num_classes), dtype=np.int64)
    np.put_along_axis(out, indices[..., None].astype(np.intp), 1, axis=-1)
    return Tensor(out)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:  # noqa: A002
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by integer ``input``.

    Indexing is the engine's getitem: a row picked several times gets the sum of its gradients.
    Rows at ``padding_idx`` are returned but get no gradient (PyTorch's rule), which is ``where``
    choosing the picked rows' values as a constant there.
    """
    indices = _class_indices(input, "embedding")
    count = weight.data.shape[0]
    bad = (indices < 0) | (indices >= count)
    if np.any(bad):  # NumPy would read a negative index from the end, silently
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise IndexError(
            f"embedding: index{list(position)} = {int(indices[position])} is out of range for "
            f"{count} embeddings (0..{count - 1})"
        )
    rows = weight[indices]
    if padding_idx is None:
        return rows
    keep = (indices != padding_idx)[..., None]
    return where(keep, rows, rows.data)


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def layer_norm(
    input: Any,  # noqa: A002
    normalized_shape: Sequence[int] | int,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` axes: (x - mean) / sqrt(var + eps).

    The variance is the biased one (divided by the count), as PyTorch's; then ``* weight +
    bias`` elementwise. Every gradient is the composition's, through mean and variance.
    """
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.data.shape[x.data.ndim - len(shape) :] != shape or len(shape) > x.data.ndim:
        raise ValueError(
            f"layer_norm: input of shape {x.data.shape} does not end with the normalized shape "
            f"{shape}"
        )
    axes = tuple(range(x.data.ndim - len(shape), x.data.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    variance = (centred * centred).mean(axis=axes, keepdims=True)
    out = centred / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    input: Any,  # noqa: A002
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (axis 1) of (N, C) or (N, C, L) input over the other axes.

    Training: the batch's mean and biased variance normalise, and the running statistics
    (arrays or Tensors, updated in place when given) move ``momentum`` of the way towards the
    batch's mean and *unbiased* variance, as PyTorch's. Evaluation: the running statistics
    normalise. Then ``* weight + bias`` per channel.
    """
    x = as_tensor(input)
    shape = x.data.shape
    if len(shape) not in (2, 3):
        raise ValueError(f"batch_norm: expected 2-D or 3-D input, got shape {shape}")
    axes = (0,) if len(shape) == 2 else (0, 2)
    per_channel = (1, shape[1]) + (1,) * (len(shape) - 2)
    if training:
        count = shape[0] * (shape[2] if len(shape) == 3 else 1)
        if count < 2:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {shape}"
            )
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        variance = (centred * centred).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            _move_towards(running_mean, mean.data.reshape(-1), momentum)
        if running_var is not None:
            _move_towards(running_var, variance.data.reshape(-1) * (count / (count - 1)), momentum)
        out = centred / (variance + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running_mean and running_var")
        mean = _values(running_mean).reshape(per_channel)
        std = np.sqrt(_values(running_var).reshape(per_channel) + eps)
        out = (x - mean.astype(x.data.dtype)) / std.astype(x.data.dtype)
    if weight is not None:
        out = out * _per_channel(weight, per_channel)
    if bias is not None:
        out = out + _per_channel(bias, per_channel)
    return out


def _values(statistic: Any) -> np.ndarray:
    return statistic.data if isinstance(statistic, Tensor) else np.asarray(statistic)


def _per_channel(value: Any, shape: tuple[int, ...]) -> Any:
    return value.reshape(shape) if isinstance(value, Tensor) else np.reshape(value, shape)


def _move_towards(statistic: Any, batch: np.ndarray, momentum: float) -> None:
    """statistic = (1 - momentum) * statistic + momentum * batch, in place."""
    array = _values(statistic)
    array *= 1 - momentum
    array += momentum * batch.astype(array.dtype)
    if isinstance(statistic, Tensor):
        bump_version(statistic)
