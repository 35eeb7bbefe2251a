"""The derivative table: every op's forward, its VJP per input and its JVP, side by side, once.

Read it like PyTorch's ``derivatives.yaml``. A row is an :class:`Op`:

* ``forward(*arrays, params) -> (out, ctx)`` computes the result on NumPy arrays from the inputs
  and the op's non-differentiable parameters (an axis, a shape, an index); ``ctx`` is whatever the
  rules need beyond the inputs and the output (often just ``params``).
* ``vjps[i](g, node)``: reverse mode. Given ``g = dL/dout``, the contribution to ``dL/dinput_i``.
  ``node.parents[i]._data`` is the input, ``node._data`` the output, ``node._ctx`` the context
  (the field behind ``Tensor.data``, read without the property's call: a rule runs per node).
* ``jvp(node, tangents)``: forward mode. Given the inputs' tangents ``dinput_i/dx`` (None where an
  input carries none), the output's tangent ``dout/dx``.

Elementwise rows are written as their *partials* ``∂out/∂x`` (and ``∂out/∂y``), one expression
per input; :mod:`memograd.engine.derive` makes the VJPs (``g * partial``, summed back over
broadcast axes), the JVP (``sum of partial * tangent``) and the scalar :class:`Value`'s code from
them. So each derivative is written once, and ``Value``, ``Tensor``, forward mode and the
explainer's activations all read it from here.

Every rule works on ndarrays and on Tensors alike (only operators, methods both have, and the
dispatching names of ``derive``: ``exp``, ``where``, ``broadcast_to``, ``data``...), so that
``backward(create_graph=True)`` runs the very same rules on Tensors and records their graph: that
is how second and third derivatives come for free. ``data(v)`` marks a constant (a mask, a count).

``saves``: which arrays the rules read, as input positions and :data:`OUTPUT` (derived from the
partials for elementwise rows). The engine checks their version counters before the rules run,
so an array changed in place after the op saw it raises instead of giving a wrong gradient.
``view``: the forward may return a view of its input's memory, so the result shares its counter.

VJPs may return ``g`` itself or a view of it (``add``, ``reshape``): the engine never writes into
an adjoint it did not allocate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from memograd.engine.derive import (
    NAMESPACE,
    Partials,
    broadcast_to,
    data,
    exp,
    make_jvp,
    make_partials,
    make_vjp,
    make_vjp_into,
    names_in,
    sign,
    where,
)

Array = np.ndarray
OUTPUT = -1
"""In an op's ``saves``: the rules read the op's own output (``node._data``)."""


class Op(NamedTuple):
    """One row of the table (see the module docstring)."""

    name: str
    forward: Callable[..., tuple[Any, Any]] | None
    vjps: tuple[Callable[[Any, Any], Any], ...]
    jvp: Callable[[Any, tuple[Any, ...]], Any] | None = None
    saves: tuple[int, ...] = ()
    view: bool = False
    partials: Partials | None = None  # elementwise rows: their scalar forward and partials
    # unary elementwise rows: the VJP written into a spent adjoint (derive.make_vjp_into)
    vjp_into: Callable[[Any, Any], Any] | None = None


# --------------------------------------------------------------------------------------------
# Helpers the rules share (each works on ndarrays and on Tensors)
# --------------------------------------------------------------------------------------------


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting stretched, so that it has ``shape`` again."""
    if g.shape == shape:
        return g
    # keepdims: an array even for ()
    return g.sum(axis=unbroadcast_axes(g.shape, shape), keepdims=True).reshape(shape)


@functools.lru_cache(maxsize=1024)  # a training step asks for the same few shapes every time
def unbroadcast_axes(g_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``g_shape`` that broadcasting a ``shape`` to it added or stretched."""
    lead = len(g_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1
    )


def normalize_axes(axis: int | tuple[int, ...] | None, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints (all axes for None), checked against ndim."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple | list) else (axis,)
    axes = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        axes.append(int(a) % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(axes))


def _expand_reduced(g: Any, axes: tuple[int, ...], keepdims: bool, shape: tuple[int, ...]) -> Any:
    """Broadcast a reduction's ``g`` back over the reduced axes (a read-only view for arrays)."""
    if not keepdims and shape:
        g = g.reshape(tuple(1 if a in axes else n for a, n in enumerate(shape)))
    return broadcast_to(g, shape)


def _stable_softmax_parts(x: Array, axis: int) -> tuple[Array, Array, Array]:
    """(x - max, exp(x - max), sum of exp): shifting by the max keeps exp from overflowing."""
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


def softmax_of(x: Any, axis: int) -> Any:
    """softmax along ``axis`` of an array, or of a Tensor as a graph node."""
    if isinstance(x, np.ndarray):
        _, e, s = _stable_softmax_parts(x, axis)
        return e / s
    return x.softmax(axis)


def scatter_add(g: Any, shape: tuple[int, ...], index: Any, basic: bool) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    if not isinstance(g, np.ndarray):
        return g._scatter(shape, index)
    out = np.zeros(shape, dtype=g.dtype)
    if basic:
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _join(parts: list[Any], axis: int, new_axis: bool) -> Any:
    """concatenate (or stack) arrays, or Tensors as a graph node."""
    for part in parts:
        if not isinstance(part, np.ndarray):
            return type(part)._join(parts, axis, new_axis)
    return np.stack(parts, axis=axis) if new_axis else np.concatenate(parts, axis=axis)


def _tangent_or_zeros(t: Any, like: Any) -> Any:
    return np.zeros(like.shape, dtype=like.dtype) if t is None else t


# --------------------------------------------------------------------------------------------
# Elementwise rows: the forward on arrays, the forward on floats (for Value), the partials
# --------------------------------------------------------------------------------------------


def elementwise(
    name: str,
    forward: Callable[..., Array],
    *,
    dx: str,
    dy: str | None = None,
    scalar: str | Callable[..., float] | None = None,
    symbol: str | None = None,
    param: bool = False,
) -> Op:
    """A row from its partials. ``forward(x[, y][, p])`` on arrays; ``scalar`` on floats (an
    expression in x, y, p or a function; default: ``forward`` itself)."""
    exprs = (dx,) if dy is None else (dx, dy)
    arity = len(exprs)
    names = set().union(*(names_in(e) for e in exprs))
    saves = tuple(i for i, v in enumerate(("x", "y")[:arity]) if v in names)
    saves += (OUTPUT,) if "out" in names else ()
    if arity == 1:
        if param:
            array_forward = lambda x, p: (forward(x, p), p)  # noqa: E731
        else:
            array_forward = lambda x, p: (forward(x), None)  # noqa: E731
    else:
        array_forward = lambda x, y, p: (forward(x, y), None)  # noqa: E731
    space = {**NAMESPACE, "unbroadcast": unbroadcast, "broadcast_to": broadcast_to}
    vjps = tuple(make_vjp(name, arity, i, e, space) for i, e in enumerate(exprs))
    partials = make_partials(
        name, exprs, forward if scalar is None else scalar, symbol or name, param
    )
    into = make_vjp_into(name, dx, space) if arity == 1 else None
    jvp = make_jvp(name, arity, exprs, space)
    return Op(name, array_forward, vjps, jvp, saves, False, partials, into)


def _scalar_div(x: float, y: float) -> float:
    if y == 0.0:
        raise ZeroDivisionError(f"Value division: the divisor is 0.0 ({x!r} / 0.0)")
    return x / y


def _scalar_pow(x: float, y: float) -> float:
    try:
        out = x**y
    except ZeroDivisionError:
        raise ZeroDivisionError(f"Value power: 0.0 ** {y!r} is undefined") from None
    except OverflowError:
        return math.inf
    if isinstance(out, complex):
        raise ValueError(f"Value power: {x!r} ** {y!r} is not a real number")
    return out


def _scalar_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _scalar_log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"Value.log: expected a positive number, got {x!r}")
    return math.log(x)


def _scalar_sigmoid(x: float) -> float:
    # Two branches so that exp never overflows: e^-|x| is always <= 1.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid(x: Array) -> Array:  # through tanh, which never overflows
    return (np.tanh(x * 0.5) + 1) * 0.5


def _scalar_sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"Value.sqrt: expected a number >= 0, got {x!r}")
    return math.sqrt(x)


def _scalar_rsqrt(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"Value.rsqrt: expected a number > 0, got {x!r}")
    return 1.0 / math.sqrt(x)


def _scalar_log1p(x: float) -> float:
    if x <= -1.0:
        raise ValueError(f"Value.log1p: expected a number > -1, got {x!r}")
    return math.log1p(x)


def _scalar_expm1(x: float) -> float:
    try:
        return math.expm1(x)
    except OverflowError:
        return math.inf


def _scalar_sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)  # 0.0 * nan keeps nan


def _scalar_maximum(x: float, y: float) -> float:
    return x if x >= y or x != x else y  # a NaN operand wins, as in NumPy and PyTorch


def _scalar_minimum(x: float, y: float) -> float:
    return x if x <= y or x != x else y


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu(x: Any) -> Any:  # PyTorch's approximate="tanh" form (the erf form needs an erf primitive)
    inner = _GELU_C * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + (np.tanh(inner) if isinstance(inner, np.ndarray) else math.tanh(inner)))


# add: out = x + y
ADD = elementwise("add", np.add, dx="1", dy="1", scalar="x + y", symbol="+")
# sub: out = x - y
SUB = elementwise("sub", np.subtract, dx="1", dy="-1", scalar="x - y", symbol="-")
# mul: out = x * y
MUL = elementwise("mul", np.multiply, dx="y", dy="x", scalar="x * y", symbol="*")
# div: out = x / y
DIV = elementwise("div", np.divide, dx="1 / y", dy="-out / y", scalar=_scalar_div, symbol="/")
# pow: out = x ** y. d/dx = y x^(y-1), written with y - 1 (not out / x) so that x == 0 is exact,
# and 0 where y == 0; d/dy = out ln x, taken as 0 where x == 0 (the limit for y > 0; ln would
# give 0 * -inf = nan), as PyTorch does.
POW = elementwise(
    "pow",
    np.power,
    dx="where(data(y) == 0, 0.0, y * x ** (y - 1))",
    dy="where(data(x) == 0, 0.0, out * log(where(data(x) == 0, 1.0, x)))",
    scalar=_scalar_pow,
    symbol="**",
)
NEG = elementwise("neg", np.negative, dx="-1", scalar="-x")
EXP = elementwise("exp", np.exp, dx="out", scalar=_scalar_exp)
LOG = elementwise("log", np.log, dx="1 / x", scalar=_scalar_log)
TANH = elementwise("tanh", np.tanh, dx="1 - out * out", scalar=math.tanh)
# relu: the derivative is 0 at the kink, as in PyTorch. ``x <= 0`` picks the zero, so NaN passes.
RELU = elementwise(
    "relu", lambda x: np.maximum(x, 0), dx="data(x) > 0", scalar="0.0 if x <= 0.0 else x"
)
# leaky_relu(x, p): x for x > 0, else p x (p: the negative slope)
LEAKY_RELU = elementwise(
    "leaky_relu",
    lambda x, p: np.where(x > 0, x, x * p),
    dx="where(data(x) > 0, 1.0, p)",
    scalar="x if x > 0.0 else x * p",
    param=True,
)
SIGMOID = elementwise("sigmoid", _sigmoid, dx="out * (1 - out)", scalar=_scalar_sigmoid)
# gelu, tanh form: 0.5 x (1 + tanh(c (x + 0.044715 x^3))), c = sqrt(2 / pi)
GELU = elementwise(
    "gelu",
    _gelu,
    dx=(
        "0.5 * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) + 0.5 * x * "
        "(1 - tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)) ** 2) * "
        "0.7978845608028654 * (1 + 3 * 0.044715 * x * x)"
    ),
)
SQRT = elementwise("sqrt", np.sqrt, dx="0.5 / out", scalar=_scalar_sqrt)
# abs: the derivative is sign(x), 0 at 0, as in PyTorch
ABS = elementwise("abs", np.abs, dx="sign(x)", scalar=abs)
SIN = elementwise("sin", np.sin, dx="cos(x)", scalar=math.sin)
COS = elementwise("cos", np.cos, dx="-sin(x)", scalar=math.cos)
# rsqrt: 1 / sqrt(x), a row rather than two: one pass, and d/dx = -out^3 / 2 needs no division
RSQRT = elementwise(
    "rsqrt", lambda x: 1 / np.sqrt(x), dx="-0.5 * out * out * out", scalar=_scalar_rsqrt
)
# log1p / expm1: rows for accuracy near 0, where log(1 + x) and exp(x) - 1 lose every digit of x
LOG1P = elementwise("log1p", np.log1p, dx="1 / (1 + x)", scalar=_scalar_log1p)
EXPM1 = elementwise("expm1", np.expm1, dx="out + 1", scalar=_scalar_expm1)
# sign: -1, 0 or 1; its derivative is 0 wherever it exists (PyTorch's too), yet the result stays
# in the graph, as PyTorch's does, so that a sum containing it can still be differentiated
SIGN = elementwise("sign", np.sign, dx="0", scalar=_scalar_sign)
# maximum / minimum of two tensors: the gradient goes to the larger (smaller) input, and is split
# in halves at ties, as PyTorch splits it. Written with sign so that float32 stays float32.
MAXIMUM = elementwise(
    "maximum",
    np.maximum,
    dx="0.5 + 0.5 * sign(data(x) - data(y))",
    dy="0.5 - 0.5 * sign(data(x) - data(y))",
    scalar=_scalar_maximum,
)
MINIMUM = elementwise(
    "minimum",
    np.minimum,
    dx="0.5 - 0.5 * sign(data(x) - data(y))",
    dy="0.5 + 0.5 * sign(data(x) - data(y))",
    scalar=_scalar_minimum,
)

# The activations a layer or the explainer may name, in one place: nn's registry, the CLI's
# choices and the explainer's neuron functions all read this.
ACTIVATIONS: dict[str, Op] = {
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "gelu": GELU,
    "tanh": TANH,
    "sigmoid": SIGMOID,
}


# clip: out = min(max(x, lo), hi); the gradient passes where lo <= x <= hi (PyTorch's clamp)
def _clip_mask(x: Any, bounds: tuple[float | None, float | None]) -> Array:
    x = data(x)
    lo, hi = bounds
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return inside


CLIP = Op(
    "clip",
    lambda x, p: (np.clip(x, p[0], p[1]), p),
    (lambda g, n: g * _clip_mask(n.parents[0]._data, n._ctx),),
    lambda n, t: t[0] * _clip_mask(n.parents[0]._data, n._ctx),
    (0,),
)

# clone: a copy in new memory (C order), so that writing into either leaves the other alone;
# the gradient passes through unchanged. A row rather than ``x * 1``: exact for every dtype
# (bool and int too), and the VJP hands g on without a multiply.
CLONE = Op("clone", lambda x, p: (x.copy(), None), (lambda g, n: g,), lambda n, t: t[0])

# cast(dtype): the values in another floating dtype; dx = g cast back to the input's dtype.
# (A cast to an integer or boolean dtype is not differentiable: tensor.py makes it a constant.)
CAST = Op(
    "cast",
    lambda x, dtype: (x.astype(dtype), x.dtype),
    (lambda g, n: g.astype(n._ctx),),
    lambda n, t: t[0].astype(n._data.dtype),
)


# --------------------------------------------------------------------------------------------
# matmul: x @ y for 1-D, 2-D and batched (..., n, k) @ (..., k, m) operands
# --------------------------------------------------------------------------------------------


def _matmul_forward(x: Array, y: Array, p: Any) -> tuple[Array, None]:
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: {x.shape} @ {y.shape} (operands must have at least 1 dimension)")
    k_x = x.shape[-1]
    k_y = y.shape[-2] if y.ndim > 1 else y.shape[0]
    if k_x != k_y:
        raise ValueError(f"matmul: {x.shape} @ {y.shape}")
    try:
        return x @ y, None
    except ValueError:
        raise ValueError(
            f"matmul: {x.shape} @ {y.shape} (batch dimensions do not broadcast)"
        ) from None


def _swap_last(a: Any) -> Any:
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return a.transpose(axes)


def _as_matrices(g: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
    """Promote 1-D operands as matmul does ((k,) -> (1, k) on the left, (k, 1) on the right),
    and ``g`` to match, so that one pair of batched formulas covers every case."""
    if y.ndim == 1:  # restore the right operand's column axis first: it is g's last
        y = y.reshape((y.shape[0], 1))
        g = g.reshape((*g.shape, 1))
    if x.ndim == 1:
        x = x.reshape((1, x.shape[0]))
        g = g.reshape((*g.shape[:-1], 1, g.shape[-1]))
    return g, x, y


def _matmul_dx(g: Any, n: Any) -> Any:  # dx = g @ y^T
    x, y = n.parents[0]._data, n.parents[1]._data
    if x.ndim == 2 and y.ndim == 2:
        return g @ y.T
    g, x2, y2 = _as_matrices(g, x, y)
    return unbroadcast(g @ _swap_last(y2), x2.shape).reshape(x.shape)


def _matmul_dy(g: Any, n: Any) -> Any:  # dy = x^T @ g
    x, y = n.parents[0]._data, n.parents[1]._data
    if x.ndim == 2 and y.ndim == 2:
        return x.T @ g
    g, x2, y2 = _as_matrices(g, x, y)
    return unbroadcast(_swap_last(x2) @ g, y2.shape).reshape(y.shape)


def _matmul_jvp(n: Any, t: tuple[Any, Any]) -> Any:  # d(x @ y) = dx @ y + x @ dy
    x, y = n.parents[0]._data, n.parents[1]._data
    terms = [t[0] @ y if t[0] is not None else None, x @ t[1] if t[1] is not None else None]
    terms = [term for term in terms if term is not None]
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


MATMUL = Op("matmul", _matmul_forward, (_matmul_dx, _matmul_dy), _matmul_jvp, (0, 1))


# --------------------------------------------------------------------------------------------
# Reductions: params = (axes, keepdims) with axes normalised by normalize_axes
# --------------------------------------------------------------------------------------------

# sum: dx = g broadcast back over the summed axes;  jvp: the sum of the tangent
SUM = Op(
    "sum",
    lambda x, p: (np.asarray(x.sum(axis=p[0], keepdims=p[1])), p),
    (lambda g, n: _expand_reduced(g, n._ctx[0], n._ctx[1], n.parents[0]._data.shape),),
    lambda n, t: t[0].sum(axis=n._ctx[0], keepdims=n._ctx[1]),
)


# mean: dx = g / count, broadcast back;  jvp: the mean of the tangent
def _mean_forward(x: Array, p: Any) -> tuple[Array, Any]:
    return np.asarray(x.mean(axis=p[0], keepdims=p[1])), p


def _mean_vjp(g: Any, n: Any) -> Any:
    shape = n.parents[0]._data.shape
    axes, keepdims = n._ctx
    count = math.prod(shape[a] for a in axes)
    return _expand_reduced(g / count, axes, keepdims, shape)


MEAN = Op(
    "mean",
    _mean_forward,
    (_mean_vjp,),
    lambda n, t: t[0].mean(axis=n._ctx[0], keepdims=n._ctx[1]),
)


# max / min: the gradient goes to the extreme entries, split evenly between ties (as PyTorch's
# full reductions do), so the VJP stays a true subgradient and sums to g.
def _extreme_weights(n: Any) -> Array:
    """1/count at each extreme entry, 0 elsewhere: a constant of the input's shape."""
    x = data(n.parents[0]._data)
    axes, keepdims = n._ctx
    mask = x == _expand_reduced(data(n._data), axes, keepdims, x.shape)
    return mask / mask.sum(axis=axes, keepdims=True).astype(x.dtype)


def _extreme_vjp(g: Any, n: Any) -> Any:
    axes, keepdims = n._ctx
    return _expand_reduced(g, axes, keepdims, n.parents[0]._data.shape) * _extreme_weights(n)


def _extreme_jvp(n: Any, t: tuple[Any]) -> Any:
    axes, keepdims = n._ctx
    return (t[0] * _extreme_weights(n)).sum(axis=axes, keepdims=keepdims)


def _reduce_forward(fn: Callable[..., Array]) -> Callable[[Array, Any], tuple[Array, Any]]:
    def forward(x: Array, p: Any) -> tuple[Array, Any]:
        if x.size == 0:
            raise ValueError(f"{fn.__name__}: cannot reduce an empty tensor of shape {x.shape}")
        return np.asarray(fn(x, axis=p[0], keepdims=p[1])), p

    return forward


MAX = Op("max", _reduce_forward(np.max), (_extreme_vjp,), _extreme_jvp, (0, OUTPUT))
MIN = Op("min", _reduce_forward(np.min), (_extreme_vjp,), _extreme_jvp, (0, OUTPUT))


# logsumexp: out = m + ln sum e^(x - m);  dx = g * softmax(x);  jvp: sum(t * softmax(x))
def _logsumexp_forward(x: Array, p: Any) -> tuple[Array, Any]:
    axes, keepdims = p
    m = x.max(axis=axes, keepdims=True)
    s = np.exp(x - m).sum(axis=axes, keepdims=True)
    out = m + np.log(s)
    return (out if keepdims else np.asarray(out.squeeze(axis=axes))), p


def _logsumexp_softmax(n: Any) -> Any:
    x = n.parents[0]._data
    axes, keepdims = n._ctx
    return exp(x - _expand_reduced(n._data, axes, keepdims, x.shape))


def _logsumexp_vjp(g: Any, n: Any) -> Any:
    axes, keepdims = n._ctx
    shape = n.parents[0]._data.shape
    return _expand_reduced(g, axes, keepdims, shape) * _logsumexp_softmax(n)


LOGSUMEXP = Op(
    "logsumexp",
    _logsumexp_forward,
    (_logsumexp_vjp,),
    lambda n, t: (t[0] * _logsumexp_softmax(n)).sum(axis=n._ctx[0], keepdims=n._ctx[1]),
    (0, OUTPUT),
)


# prod: dx = g times the product of the other entries of x's group. Computed as products to the
# left and to the right of each entry (exclusive cumulative products), never as out / x, so that
# zeros in x give the exact gradient, as PyTorch's does.
def _groups_last(x: Any, axes: tuple[int, ...]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """x with the reduced axes moved to the end and flattened into one, and how to undo it."""
    keep = [a for a in range(x.ndim) if a not in axes]
    order = tuple(keep + list(axes))
    moved = x.transpose(order)
    return moved.reshape((*moved.shape[: len(keep)], -1)), order, moved.shape


def _products_of_others(x: Any, axes: tuple[int, ...]) -> Any:
    """For every entry of x, the product of the other entries of its group (a group: the entries
    a reduction over ``axes`` multiplies together)."""
    flat, order, moved_shape = _groups_last(x, axes)
    n = flat.shape[-1]
    if isinstance(flat, np.ndarray):
        ones = np.ones((*flat.shape[:-1], 1), dtype=flat.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)
        others = left * right[..., ::-1]
    else:  # graph values (create_graph): each group copied n times, entry i set to 1 in copy i
        rows = broadcast_to(flat.reshape((*flat.shape[:-1], 1, n)), (*flat.shape[:-1], n, n))
        others = where(np.eye(n, dtype=bool), 1.0, rows).prod(axis=-1)
    inverse = tuple(int(a) for a in np.argsort(order))
    return others.reshape(moved_shape).transpose(inverse)


def _prod_vjp(g: Any, n: Any) -> Any:
    x = n.parents[0]._data
    axes, keepdims = n._ctx
    return _expand_reduced(g, axes, keepdims, x.shape) * _products_of_others(x, axes)


PROD = Op(
    "prod",
    lambda x, p: (np.asarray(x.prod(axis=p[0], keepdims=p[1])), p),
    (_prod_vjp,),
    lambda n, t: (t[0] * _products_of_others(n.parents[0]._data, n._ctx[0])).sum(
        axis=n._ctx[0], keepdims=n._ctx[1]
    ),
    (0,),
)


# norm (p >= 1, finite; params = (p, axes, keepdims)): out = (sum |x|^p)^(1/p);
# d/dx = sign(x) |x|^(p-1) / out^(p-1) (x / out for p = 2), and 0 where out = 0, as in PyTorch
# (the zero vector's norm has no derivative; PyTorch picks the zero subgradient).
def _norm_forward(x: Array, params: Any) -> tuple[Array, Any]:
    p, axes, keepdims = params
    if p == 2:
        out = np.sqrt((x * x).sum(axis=axes, keepdims=keepdims))
    elif p == 1:
        out = np.abs(x).sum(axis=axes, keepdims=keepdims)
    else:
        out = (np.abs(x) ** p).sum(axis=axes, keepdims=keepdims) ** (1.0 / p)
    return np.asarray(out), params


def _norm_partial(n: Any) -> Any:
    x = n.parents[0]._data
    p, axes, keepdims = n._ctx
    out = _expand_reduced(n._data, axes, keepdims, x.shape)
    zero = data(out) == 0
    if p == 1:
        return where(zero, 0.0, sign(x))
    safe = where(zero, 1.0, out)
    partial = x / safe if p == 2 else sign(x) * abs(x) ** (p - 1) / safe ** (p - 1)
    return where(zero, 0.0, partial)


NORM = Op(
    "norm",
    _norm_forward,
    (
        lambda g, n: (
            _expand_reduced(g, n._ctx[1], n._ctx[2], n.parents[0]._data.shape) * _norm_partial(n)
        ),
    ),
    lambda n, t: (t[0] * _norm_partial(n)).sum(axis=n._ctx[1], keepdims=n._ctx[2]),
    (0, OUTPUT),
)


# --------------------------------------------------------------------------------------------
# Softmax family along one axis (params = axis)
# --------------------------------------------------------------------------------------------


# softmax: s = e^(x - m) / sum;  dx = s * (g - sum(g * s));  jvp: s * (t - sum(t * s))
def _softmax_forward(x: Array, axis: int) -> tuple[Array, int]:
    return softmax_of(x, axis), axis


def _softmax_rule(v: Any, n: Any) -> Any:  # the Jacobian is symmetric: one formula, both modes
    s = n._data
    return s * (v - (v * s).sum(axis=n._ctx, keepdims=True))


SOFTMAX = Op(
    "softmax", _softmax_forward, (_softmax_rule,), lambda n, t: _softmax_rule(t[0], n), (OUTPUT,)
)


# log_softmax: out = (x - m) - ln sum;  dx = g - softmax * sum(g);  jvp: t - sum(t * softmax)
def _log_softmax_forward(x: Array, axis: int) -> tuple[Array, int]:
    shifted, _, s = _stable_softmax_parts(x, axis)
    return shifted - np.log(s), axis


LOG_SOFTMAX = Op(
    "log_softmax",
    _log_softmax_forward,
    (lambda g, n: g - exp(n._data) * g.sum(axis=n._ctx, keepdims=True),),
    lambda n, t: t[0] - (t[0] * exp(n._data)).sum(axis=n._ctx, keepdims=True),
    (OUTPUT,),
)


# --------------------------------------------------------------------------------------------
# Shape ops: the VJP moves g back to where each entry came from; the JVP moves t like x
# --------------------------------------------------------------------------------------------

RESHAPE = Op(
    "reshape",
    lambda x, shape: (x.reshape(shape), shape),
    (lambda g, n: g.reshape(n.parents[0]._data.shape),),
    lambda n, t: t[0].reshape(n._ctx),
    view=True,
)

# transpose(axes): dx = g transposed by the inverse permutation
TRANSPOSE = Op(
    "transpose",
    lambda x, axes: (x.transpose(axes), axes),
    (lambda g, n: g.transpose(tuple(int(a) for a in np.argsort(n._ctx))),),
    lambda n, t: t[0].transpose(n._ctx),
    view=True,
)

# broadcast_to(shape): dx = g summed over the stretched axes;  jvp: t stretched the same way
BROADCAST_TO = Op(
    "broadcast_to",
    lambda x, shape: (np.broadcast_to(x, shape), shape),
    (lambda g, n: unbroadcast(g, n.parents[0]._data.shape),),
    lambda n, t: broadcast_to(t[0], n._ctx),
    view=True,
)


# getitem: dx = zeros with g scattered back (np.add.at, so that a repeated index receives the
# sum of its gradients: plain assignment would keep only the last);  jvp: the same entries of t
def _is_basic_index(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, int | slice | np.integer) or i is None or i is Ellipsis for i in items)


GETITEM = Op(
    "getitem",
    lambda x, idx: (x[idx], (idx, _is_basic_index(idx))),
    (lambda g, n: scatter_add(g, n.parents[0]._data.shape, *n._ctx),),
    lambda n, t: t[0][n._ctx[0]],
    view=True,
)

# scatter: zeros of a shape with x added at an index: getitem's VJP, as an op of its own so that
# a second derivative can pass through it.  dx = g at the index;  jvp: the same scatter of t
SCATTER = Op(
    "scatter",
    lambda x, p: (scatter_add(x, p[0], p[1], _is_basic_index(p[1])), p),
    (lambda g, n: g[n._ctx[1]],),
    lambda n, t: scatter_add(t[0], n._ctx[0], n._ctx[1], _is_basic_index(n._ctx[1])),
)


# --------------------------------------------------------------------------------------------
# N-ary ops (the VJP tuple is indexed by input position; params carry what VJPs need)
# --------------------------------------------------------------------------------------------


def _concat_forward(*args: Any) -> tuple[Array, Any]:
    *arrays, axis = args
    offsets = np.cumsum([0] + [a.shape[axis] for a in arrays])
    return np.concatenate(arrays, axis=axis), (axis, offsets)


def _concat_vjp(i: int) -> Callable[[Any, Any], Any]:
    def vjp(g: Any, n: Any) -> Any:  # input i's slice of g
        axis, offsets = n._ctx
        index = [slice(None)] * g.ndim
        index[axis] = slice(int(offsets[i]), int(offsets[i + 1]))
        return g[tuple(index)]

    return vjp


def _join_jvp(new_axis: bool) -> Callable[[Any, tuple[Any, ...]], Any]:
    def jvp(n: Any, t: tuple[Any, ...]) -> Any:  # the inputs' tangents joined the same way
        axis = n._ctx if new_axis else n._ctx[0]
        parts = [_tangent_or_zeros(ti, p._data) for ti, p in zip(t, n.parents, strict=True)]
        return _join(parts, axis, new_axis)

    return jvp


def _stack_forward(*args: Any) -> tuple[Array, Any]:
    *arrays, axis = args
    return np.stack(arrays, axis=axis), axis


def _stack_vjp(i: int) -> Callable[[Any, Any], Any]:
    def vjp(g: Any, n: Any) -> Any:  # input i's layer of g
        return g[(slice(None),) * n._ctx + (i,)]

    return vjp


# An n-ary op's VJP for input i needs i, so these are made per input position, once per arity
# (an LRU cache), not per node: all concats of three tensors share one tuple of three functions.
@functools.lru_cache(maxsize=256)
def concat_op(arity: int) -> Op:
    vjps = tuple(_concat_vjp(i) for i in range(arity))
    return Op("concat", _concat_forward, vjps, _join_jvp(False))


@functools.lru_cache(maxsize=256)
def stack_op(arity: int) -> Op:
    return Op("stack", _stack_forward, tuple(_stack_vjp(i) for i in range(arity)), _join_jvp(True))


# where(cond, x, y): dx = g where cond, dy = g where not cond (cond is a parameter, not an input)
def _where_jvp(n: Any, t: tuple[Any, Any]) -> Any:
    x, y = n.parents[0]._data, n.parents[1]._data
    tx, ty = (_tangent_or_zeros(ti, v) for ti, v in zip(t, (x, y), strict=True))
    return broadcast_to(where(n._ctx, tx, ty), n._data.shape)


WHERE = Op(
    "where",
    lambda x, y, cond: (np.where(cond, x, y), cond),
    (
        lambda g, n: unbroadcast(where(n._ctx, g, 0.0), n.parents[0]._data.shape),
        lambda g, n: unbroadcast(where(n._ctx, 0.0, g), n.parents[1]._data.shape),
    ),
    _where_jvp,
)


# --------------------------------------------------------------------------------------------
# Fused ops: one node instead of several, where that saves passes or keeps numbers finite
# --------------------------------------------------------------------------------------------


# linear: out = x @ W + b, W of shape (in_features, out_features) (the notes' W^k_ij, from unit i
# of layer k-1 to unit j of layer k). One node instead of two saves a pass over the output in
# backward (the bias gradient is read straight from g) and one node's bookkeeping per layer.
def _linear_forward(x: Array, w: Array, *rest: Any) -> tuple[Array, None]:
    out = x @ w
    if len(rest) == 2:  # (bias, params)
        out += rest[0]  # out is fresh: adding in place saves an allocation
    return out, None


def _linear_dx(g: Any, n: Any) -> Any:  # dx = g @ W^T
    return g @ n.parents[1]._data.T


def _linear_dw(g: Any, n: Any) -> Any:  # dW = x^T @ g, over every leading axis of x
    x = n.parents[0]._data
    if x.ndim == 2:
        return x.T @ g
    return x.reshape((-1, x.shape[-1])).T @ g.reshape((-1, g.shape[-1]))


def _linear_db(g: Any, n: Any) -> Any:  # db = g summed over every leading axis
    return g.sum(axis=0) if g.ndim == 2 else g.reshape((-1, g.shape[-1])).sum(axis=0)


def _linear_jvp(n: Any, t: tuple[Any, ...]) -> Any:  # d(x W + b) = dx W + x dW + db
    x, w = n.parents[0]._data, n.parents[1]._data
    terms = []
    if t[0] is not None:
        terms.append(t[0] @ w)
    if t[1] is not None:
        terms.append(x @ t[1])
    if len(t) == 3 and t[2] is not None:
        terms.append(broadcast_to(t[2], n._data.shape))
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


LINEAR = Op("linear", _linear_forward, (_linear_dx, _linear_dw, _linear_db), _linear_jvp, (0, 1))


# cross_entropy: log-softmax and negative log-likelihood of integer targets in one node.
# Fused because the gradient collapses to (softmax - onehot) * g: no log of a probability that
# underflowed to 0, and one pass instead of the four of log_softmax, gather, mean and their VJPs.
# params = (targets as intp, reduction); logits (N, C) with targets (N,), or (C,) with a 0-d target.
def _cross_entropy_forward(logits: Array, p: Any) -> tuple[Array, Any]:
    targets, reduction = p
    shifted, e, s = _stable_softmax_parts(logits, -1)
    if logits.ndim == 1:
        losses = np.log(s[0]) - shifted[targets]
    else:
        losses = np.log(s[:, 0]) - shifted[np.arange(logits.shape[0]), targets]
    if reduction == "mean":  # add.reduce / n: the same number as .mean(), without its wrapper
        out = np.asarray(np.add.reduce(losses, axis=None) / losses.size)
    elif reduction == "sum":
        out = np.asarray(np.add.reduce(losses, axis=None))
    else:
        out = losses
    return out, (targets, reduction, e / s)


def _softmax_minus_onehot(n: Any) -> Any:
    """d loss_row / d logits = softmax - onehot: from the saved probabilities in an ordinary
    pass (a copy, 1 subtracted at each target), rebuilt as a graph for create_graph."""
    x = n.parents[0]._data
    targets, _, probs = n._ctx
    at = targets if x.ndim == 1 else (np.arange(x.shape[0]), targets)
    if isinstance(x, np.ndarray):
        grad = probs.copy()  # probs is kept intact: backward may run more than once
        grad[at] -= 1
        return grad
    onehot = np.zeros(x.shape, dtype=x.dtype)
    onehot[at] = 1
    return softmax_of(x, -1) - onehot


def _cross_entropy_scale(v: Any, n: Any) -> Any:
    """Undo the reduction: v is per batch (mean, sum) or per row (none)."""
    x = n.parents[0]._data
    reduction = n._ctx[1]
    if reduction == "mean" and x.ndim == 2:
        return v / x.shape[0]
    if reduction == "none" and x.ndim == 2:
        return v.reshape((x.shape[0], 1))
    return v


def _cross_entropy_vjp(g: Any, n: Any) -> Any:
    return _softmax_minus_onehot(n) * _cross_entropy_scale(g, n)


def _cross_entropy_jvp(n: Any, t: tuple[Any]) -> Any:
    rows = (_softmax_minus_onehot(n) * t[0]).sum(axis=-1)
    reduction = n._ctx[1]
    if reduction == "none" or rows.ndim == 0:
        return rows
    return rows.mean() if reduction == "mean" else rows.sum()


CROSS_ENTROPY = Op(
    "cross_entropy", _cross_entropy_forward, (_cross_entropy_vjp,), _cross_entropy_jvp
)

# Every row, for the table's own tests (n-ary rows are made per arity by concat_op / stack_op).
TABLE: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, POW, NEG, EXP, LOG, TANH, RELU, LEAKY_RELU, SIGMOID, GELU, SQRT, ABS,
    SIN, COS, RSQRT, LOG1P, EXPM1, SIGN, MAXIMUM, MINIMUM, CLIP, CLONE, CAST, MATMUL, SUM, MEAN,
    MAX, MIN, LOGSUMEXP, PROD, NORM, SOFTMAX, LOG_SOFTMAX, RESHAPE, TRANSPOSE, BROADCAST_TO,
    GETITEM, SCATTER, WHERE, LINEAR, CROSS_ENTROPY,
)  # fmt: skip
