"""Gradient clipping with torch.nn.utils' names and arithmetic: call between backward and step.

``mg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)`` rescales every gradient by
the same factor so that their total norm is at most ``max_norm``, and returns that total norm
before clipping (a 0-d Tensor, as torch does: log it to watch training). One factor for all
keeps the update's direction; only its length shrinks. ``clip_grad_value_`` clamps each entry
instead, which changes the direction too.

torch's arithmetic is copied: the norm of each gradient, then the norm of those norms; the
factor ``max_norm / (total + 1e-6)``, capped at 1, in the norm's dtype, and applied to every
gradient even when it is 1 (so the result is bit for bit what torch computes). Norms are summed
in float64 and rounded to the gradients' dtype.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, bump_version, from_numpy

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients in place so that their total ``norm_type``-norm is <= ``max_norm``.

    ``norm_type`` is any p > 0, ``inf`` (the largest entry) or ``-inf`` and 0 as torch's
    ``vector_norm`` defines them. Returns the total norm before clipping. A NaN or infinite
    total raises with ``error_if_nonfinite=True``; otherwise the gradients are scaled by it
    anyway, as in torch (an infinite norm makes them 0, and NaN where they were infinite).
    ``foreach`` is accepted for torch's sake (one loop serves every case on a CPU).
    """
    params = _parameters(parameters, "clip_grad_norm_")
    max_norm = _limit(max_norm, "max_norm")
    norm_type = _norm_type(norm_type)
    _check_foreach(foreach)
    grads = _gradients(params)
    if not grads:
        return from_numpy(np.array(0.0, dtype=np.float32))
    dtype = np.result_type(*(grad.dtype for grad, _ in grads))
    norms = np.array([_vector_norm(grad, norm_type, grad.dtype) for grad, _ in grads])
    total = _vector_norm(norms.astype(dtype), norm_type, dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is {total}, so they cannot "
            "be clipped; pass error_if_nonfinite=False to scale them by it anyway"
        )
    factor = np.minimum(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
    with np.errstate(invalid="ignore"):  # an infinite entry times a factor of 0: NaN, as torch
        for grad, owner in grads:
            grad *= grad.dtype.type(factor)
            if owner is not None:
                bump_version(owner)
    return from_numpy(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient entry, in place, to ``[-clip_value, clip_value]``."""
    params = _parameters(parameters, "clip_grad_value_")
    clip_value = _limit(clip_value, "clip_value")
    _check_foreach(foreach)
    for grad, owner in _gradients(params):
        bound = grad.dtype.type(clip_value)
        np.clip(grad, -bound, bound, out=grad)
        if owner is not None:
            bump_version(owner)


def _parameters(parameters: Any, name: str) -> list[Any]:
    if isinstance(parameters, Tensor) or hasattr(parameters, "grad"):
        return [parameters]
    if not isinstance(parameters, Iterable) or isinstance(parameters, str | bytes):
        raise TypeError(
            f"{name}: expected a parameter or an iterable of them, got {type(parameters).__name__}"
        )
    generator = isinstance(parameters, types.GeneratorType)
    params = list(parameters)
    for index, param in enumerate(params):
        if not hasattr(param, "grad"):
            raise TypeError(
                f"{name}: parameter {index} is a {type(param).__name__}, which has no .grad"
            )
    if generator and not params:
        warnings.warn(
            f"{name}: `parameters` is an empty generator, nothing is clipped", stacklevel=3
        )
    return params


def _gradients(params: list[Any]) -> list[tuple[np.ndarray, Tensor | None]]:
    """Each gradient's array (written in place), and its Tensor when the gradient is one."""
    grads = []
    for index, param in enumerate(params):
        grad = param.grad
        if grad is None:
            continue
        array = np.asarray(grad)
        if array.dtype.kind != "f":
            raise TypeError(f"parameter {index} has a gradient of dtype {array.dtype}")
        grads.append((array, grad if isinstance(grad, Tensor) else None))
    return grads


def _vector_norm(values: np.ndarray, order: float, dtype: np.dtype) -> Any:
    """torch's ``vector_norm`` of the flattened array, summed in float64, rounded to dtype."""
    flat = np.abs(values.ravel().astype(np.float64))
    if flat.size == 0:
        result = 0.0
    elif order == math.inf:
        result = flat.max()
    elif order == -math.inf:
        result = flat.min()
    elif order == 0:
        result = float(np.count_nonzero(flat))
    elif order == 1:
        result = flat.sum()
    elif order == 2:
        result = math.sqrt(np.dot(flat, flat))
    else:
        result = np.sum(flat**order) ** (1.0 / order)
    return np.dtype(dtype).type(result)


def _limit(value: Any, name: str) -> float:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _norm_type(value: Any) -> float:
    if isinstance(value, str) and value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"norm_type must be a number (or inf), got {value!r}")
    if math.isnan(value) or (value < 0 and value != -math.inf):
        raise ValueError(f"norm_type must be >= 0, inf or -inf, got {value!r}")
    return float(value)


def _check_foreach(foreach: Any) -> None:
    if foreach not in (None, True, False):
        raise TypeError(f"foreach must be None, True or False, got {foreach!r}")
