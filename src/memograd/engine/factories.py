"""Tensors made from nothing: PyTorch's factories (``zeros``, ``arange``, ``randn``...).

Their defaults are PyTorch's, so that a PyTorch program means the same here: floating values are
float32 unless ``dtype=`` says otherwise, integer ranges and random integers are int64, and
``requires_grad=True`` makes a leaf to train (floating dtypes only). Random tensors draw from
memograd's global generator, which ``mg.manual_seed(n)`` reseeds (``memograd.seeding``), or from
the ``generator=`` given (a ``numpy.random.Generator`` or an int seed). The same seed gives the
same numbers run after run, but not PyTorch's numbers: the generators differ.
"""

from __future__ import annotations

import math
from numbers import Number, Real
from typing import Any

import numpy as np

from memograd.engine import arguments, dtypes
from memograd.engine.tensor import Tensor, _check_device
from memograd.seeding import generator as _generator


def _size(name: str, size: tuple[Any, ...]) -> tuple[int, ...]:
    shape = arguments.shape_arguments(name, size)
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: sizes must be >= 0, got {shape}")
    return shape


def _dtype(dtype: Any, default: np.dtype, name: str) -> np.dtype:
    return default if dtype is None else dtypes.resolve_dtype(dtype, name)


def _leaf(array: np.ndarray, requires_grad: bool, device: Any, name: str) -> Tensor:
    if device is not None:
        _check_device(device, name)
    if requires_grad and not dtypes.is_floating(array.dtype):
        raise TypeError(f"{name}: only floating tensors can require grad, got {array.dtype}")
    return Tensor._wrap(array, bool(requires_grad))


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of zeros of the given size (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    shape = _size("zeros", size)
    array = np.zeros(shape, dtype=_dtype(dtype, dtypes.DEFAULT_FLOAT, "zeros"))
    return _leaf(array, requires_grad, device, "zeros")


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of ones of the given size."""
    shape = _size("ones", size)
    array = np.ones(shape, dtype=_dtype(dtype, dtypes.DEFAULT_FLOAT, "ones"))
    return _leaf(array, requires_grad, device, "ones")


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of the given size whose values are whatever the memory held (as PyTorch's)."""
    shape = _size("empty", size)
    array = np.empty(shape, dtype=_dtype(dtype, dtypes.DEFAULT_FLOAT, "empty"))
    return _leaf(array, requires_grad, device, "empty")


def _fill_dtype(value: Any) -> np.dtype:
    """PyTorch's dtype for ``full``'s value: bool, int64 for ints, float32 for floats."""
    if isinstance(value, bool | np.bool_):
        return dtypes.bool_
    if isinstance(value, int | np.integer):
        return dtypes.int64
    if isinstance(value, np.floating):
        return value.dtype
    return dtypes.DEFAULT_FLOAT


def _fill_value(value: Any, name: str) -> Any:
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise ValueError(f"{name}: fill_value must be a number, got a tensor of {value.shape}")
        return value._data.reshape(()).item()
    if not isinstance(value, Number | np.generic):
        raise TypeError(f"{name}: fill_value must be a number, got {type(value).__name__}")
    return value


def full(
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (its dtype follows the value, as in
    PyTorch: bool, int64 for ints, float32 for floats)."""
    shape = _size("full", size if isinstance(size, tuple | list) else (size,))
    value = _fill_value(fill_value, "full")
    array = np.full(shape, value, dtype=_dtype(dtype, _fill_dtype(value), "full"))
    return _leaf(array, requires_grad, device, "full")


def _like(input: Any, name: str) -> Tensor:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    return input


def zeros_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Zeros of ``input``'s shape and dtype (or ``dtype``)."""
    like = _like(input, "zeros_like")
    return zeros(
        like.shape,
        dtype=like.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def ones_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Ones of ``input``'s shape and dtype (or ``dtype``)."""
    like = _like(input, "ones_like")
    return ones(
        like.shape,
        dtype=like.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def empty_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """An uninitialised tensor of ``input``'s shape and dtype (or ``dtype``)."""
    like = _like(input, "empty_like")
    return empty(
        like.shape,
        dtype=like.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def full_like(
    input: Tensor,  # noqa: A002
    fill_value: Any,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``fill_value`` everywhere, in ``input``'s shape and dtype (or ``dtype``)."""
    like = _like(input, "full_like")
    return full(
        like.shape,
        fill_value,
        dtype=like.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def _random_floats(draw: str, name: str, size: tuple, generator: Any, dtype: Any) -> np.ndarray:
    """Draws from Generator.random / standard_normal in float32 or float64 (others: cast)."""
    shape = _size(name, size)
    rng = _generator(generator)
    wanted = _dtype(dtype, dtypes.DEFAULT_FLOAT, name)
    if not dtypes.is_floating(wanted):
        raise TypeError(f"{name}: draws floating numbers; dtype {wanted} is not floating")
    native = wanted if wanted in (dtypes.float32, dtypes.float64) else dtypes.float64
    return getattr(rng, draw)(shape, dtype=native).astype(wanted, copy=False)


def rand(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Uniform draws in [0, 1) from the global generator (or ``generator``)."""
    array = _random_floats("random", "rand", size, generator, dtype)
    return _leaf(array, requires_grad, device, "rand")


def randn(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Standard normal draws from the global generator (or ``generator``)."""
    array = _random_floats("standard_normal", "randn", size, generator, dtype)
    return _leaf(array, requires_grad, device, "randn")


def rand_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """:func:`rand` of ``input``'s shape and dtype (or ``dtype``)."""
    like = _like(input, "rand_like")
    return rand(
        like.shape, dtype=like.dtype if dtype is None else dtype, requires_grad=requires_grad
    )


def randn_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """:func:`randn` of ``input``'s shape and dtype (or ``dtype``)."""
    like = _like(input, "randn_like")
    return randn(
        like.shape, dtype=like.dtype if dtype is None else dtype, requires_grad=requires_grad
    )


def randint(
    *args: Any,
    size: Any = None,
    generator: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, as PyTorch's; int64 unless ``dtype=`` says otherwise."""
    if size is None:
        if not args:
            raise TypeError("randint: missing the size (a tuple), as in randint(10, (2, 3))")
        *args, size = args
    if len(args) not in (1, 2):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    if not (arguments.is_int(low) and arguments.is_int(high)) or low >= high:
        raise ValueError(f"randint: expected ints low < high, got low={low!r}, high={high!r}")
    shape = _size("randint", size if isinstance(size, tuple | list) else (size,))
    wanted = _dtype(dtype, dtypes.int64, "randint")
    array = _generator(generator).integers(low, high, size=shape).astype(wanted)
    return _leaf(array, requires_grad, device, "randint")


def randperm(
    n: int, *, generator: Any = None, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """A random permutation of 0..n-1 (int64 unless ``dtype=`` says otherwise)."""
    if not arguments.is_int(n) or n < 0:
        raise ValueError(f"randperm: n must be an int >= 0, got {n!r}")
    array = _generator(generator).permutation(int(n))
    return _leaf(
        array.astype(_dtype(dtype, dtypes.int64, "randperm")), requires_grad, None, "randperm"
    )


def _real(value: Any, name: str, what: str) -> Any:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: {what} must be a real number, got {value!r}")
    return value


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``start, start + step, ...`` up to but excluding ``end`` (``arange(end)`` from 0).
    int64 when every argument is an int, else float32, as in PyTorch."""
    if end is None:
        start, end = 0, start
    start, end, step = (
        _real(v, "arange", w) for v, w in ((start, "start"), (end, "end"), (step, "step"))
    )
    if step == 0:
        raise ValueError("arange: step must not be 0")
    count = max(math.ceil((end - start) / step), 0)
    integral = all(arguments.is_int(v) for v in (start, end, step))
    wanted = _dtype(dtype, dtypes.int64 if integral else dtypes.DEFAULT_FLOAT, "arange")
    if integral:
        values = start + step * np.arange(count, dtype=np.int64)
    else:
        values = start + step * np.arange(count, dtype=np.float64)
    return _leaf(values.astype(wanted), requires_grad, device, "arange")


def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (float32)."""
    start, end = _real(start, "linspace", "start"), _real(end, "linspace", "end")
    if not arguments.is_int(steps) or steps < 0:
        raise ValueError(f"linspace: steps must be an int >= 0, got {steps!r}")
    wanted = _dtype(dtype, dtypes.DEFAULT_FLOAT, "linspace")
    work = wanted.type if dtypes.is_floating(wanted) else np.float64
    first, last = work(start), work(end)
    index = np.arange(steps)
    # PyTorch's formula, in the result's dtype: the first half counted up from start, the
    # second half down from end, so that both ends are exact and the values symmetric
    step = (last - first) / work(max(steps - 1, 1))
    up = first + step * index.astype(work)
    down = last - step * (steps - 1 - index).astype(work)
    values = np.where(index < steps // 2, up, down).astype(wanted)
    return _leaf(values, requires_grad, device, "linspace")


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """The n x m identity matrix (n x n by default), float32."""
    for value, what in ((n, "n"), (m if m is not None else 0, "m")):
        if not arguments.is_int(value) or value < 0:
            raise ValueError(f"eye: {what} must be an int >= 0, got {value!r}")
    array = np.eye(n, m, dtype=_dtype(dtype, dtypes.DEFAULT_FLOAT, "eye"))
    return _leaf(array, requires_grad, device, "eye")
