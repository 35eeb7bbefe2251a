"""Functions of functions: ``grad``, ``value_and_grad`` and the finite-difference ``gradcheck``.

They wrap the engine so that a user can differentiate a plain Python function of arrays or numbers
without building leaves by hand, JAX-style, and check any op against central differences.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor
from memograd.engine.value import Value


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central finite differences."""


def _argnums_tuple(argnums: int | Sequence[int], n_args: int) -> tuple[int, ...]:
    items = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not items:
        raise ValueError("argnums: expected at least one argument position, got none")
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"argnums: expected ints, got {argnums!r}")
        if not -n_args <= a < n_args:
            raise ValueError(f"argnums: position {a} is out of range for {n_args} arguments")
    return tuple(a % n_args for a in items)


def _leaf(x: Any) -> Tensor | Value:
    """A fresh leaf that requires grad, holding ``x``'s value (the caller's object is untouched)."""
    if isinstance(x, Value):
        return Value(x.data)
    if isinstance(x, Real) and not isinstance(x, np.ndarray):
        return Value(float(x))
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    return Tensor(data, requires_grad=True)


def _scalar_output(out: Any, where: str) -> Tensor | Value:
    if isinstance(out, Value):
        return out
    if isinstance(out, Tensor):
        if out.data.size != 1:
            raise ValueError(
                f"{where}: the function must return a scalar, got a tensor of shape {out.shape}"
            )
        return out
    raise TypeError(
        f"{where}: the function must return a Value or a one-element Tensor built from its "
        f"inputs, got {type(out).__name__}"
    )


def _gradient_of(leaf: Tensor | Value) -> Any:
    if isinstance(leaf, Value):
        return leaf.grad
    return leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data)


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[float, Any]]:
    """``f``'s value and its gradient with respect to the arguments at ``argnums``.

    Arguments may be numbers (differentiated as Values; the gradient is a float), arrays or
    Tensors (the gradient is an ndarray of the same shape). An int ``argnums`` gives one gradient,
    a sequence a tuple of them.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        positions = _argnums_tuple(argnums, len(args))
        args = list(args)
        leaves = []
        for a in positions:
            args[a] = _leaf(args[a])
            leaves.append(args[a])
        out = _scalar_output(f(*args, **kwargs), "value_and_grad")
        if out.requires_grad:
            out.backward()
        value = out.data if isinstance(out, Value) else out.data.item()
        grads = tuple(_gradient_of(leaf) for leaf in leaves)
        return value, grads[0] if isinstance(argnums, int) else grads

    return wrapper


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The gradient of scalar-valued ``f`` with respect to the arguments at ``argnums``."""
    both = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return both(*args, **kwargs)[1]

    return wrapper


def gradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check the engine's gradient of ``f`` against central differences, in float64.

    ``f`` takes Tensors (one per input; numbers and arrays are converted) and returns a Tensor of
    any shape, reduced here to a scalar by a fixed random weighting so that every output entry is
    checked. Returns True, or raises :class:`GradcheckError` naming the input, the entry and the
    worst error.
    """
    if not inputs:
        raise ValueError("gradcheck: give at least one input")
    if not (eps > 0 and atol >= 0 and rtol >= 0):
        raise ValueError(
            f"gradcheck: need eps > 0, atol >= 0, rtol >= 0; got {eps}, {atol}, {rtol}"
        )
    arrays = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    rng = np.random.default_rng(0)
    weights: list[np.ndarray] = []

    def scalar(*xs: np.ndarray, leaves: bool = False) -> tuple[float, list[Tensor]]:
        tensors = [Tensor(x, requires_grad=leaves) for x in xs]
        out = f(*tensors)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
        if not weights:
            weights.append(rng.uniform(0.5, 1.5, size=out.shape))
        loss = (out * weights[0]).sum()
        if leaves and loss.requires_grad:
            loss.backward()
        return float(loss.data), tensors

    _, leaves = scalar(*arrays, leaves=True)
    for k, (x, leaf) in enumerate(zip(arrays, leaves, strict=True)):
        analytic = leaf.grad if leaf.grad is not None else np.zeros_like(x)
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            original = x[index]
            x[index] = original + eps
            up, _ = scalar(*arrays)
            x[index] = original - eps
            down, _ = scalar(*arrays)
            x[index] = original
            numeric[index] = (up - down) / (2 * eps)
        error = np.abs(analytic - numeric)
        excess = error - (atol + rtol * np.abs(numeric))
        if excess.size and (np.max(excess) > 0 or not np.all(np.isfinite(analytic))):
            worst = np.unravel_index(
                int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), x.shape
            )
            raise GradcheckError(
                f"gradcheck: input {k} at index {tuple(int(i) for i in worst)}: analytic "
                f"{analytic[worst]!r} vs numeric {numeric[worst]!r} (error {error[worst]:.3g}, "
                f"allowed {atol + rtol * abs(numeric[worst]):.3g})"
            )
    return True
