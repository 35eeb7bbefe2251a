"""The derivative table: every Tensor op's forward and vector-Jacobian products, side by side.

Read it like PyTorch's ``derivatives.yaml``: one block per op, the forward formula, then one VJP
per input. An op is an :class:`Op` record ``(name, forward, vjps)``:

* ``forward(*arrays, params) -> (out, ctx)`` computes the result from the input arrays and the
  op's non-differentiable parameters (an axis, a shape, an index); ``ctx`` is whatever the VJPs
  need beyond the inputs and the output (often just ``params``).
* ``vjps[i](g, node) -> array``: given ``g = dL/d out`` (shape of the output), the contribution
  to ``dL/d input_i`` (shape of input ``i``). ``node.parents[i].data`` is the input,
  ``node.data`` the output, ``node._ctx`` the saved context.

VJPs may return ``g`` itself or a view of it (``add``, ``reshape``): the engine never writes
into an adjoint it did not allocate. Broadcasting is undone in one place, :func:`unbroadcast`.

Ops are functions, not closures: a node stores a reference to its op's VJP tuple, shared by all
nodes of that op, so building a node allocates nothing per op beyond the node itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

Array = np.ndarray


OUTPUT = -1
"""In an op's ``saves``: the VJPs read the op's own output (``node.data``)."""


class Op(NamedTuple):
    """One row of the table: the op's name (``node.op``), its forward, its VJPs by input.

    ``saves``: which arrays the VJPs read, as input positions and :data:`OUTPUT`. The engine
    records their version counters when the node is built and checks them before the VJPs run,
    so an array changed in place in between raises instead of giving a wrong gradient (an op
    that needs only shapes, like ``add``, saves nothing and is never refused). ``view``: the
    forward may return a view of its input's memory (``reshape``), so the result shares the
    input's version counter.
    """

    name: str
    forward: Callable[..., tuple[Array, Any]]
    vjps: tuple[Callable[[Array, Any], Array], ...]
    saves: tuple[int, ...] = ()
    view: bool = False


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``g`` over the axes that broadcasting stretched, so that it has ``shape`` again."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes).reshape(shape)


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


def _expand_reduced(
    g: Array, axes: tuple[int, ...], keepdims: bool, shape: tuple[int, ...]
) -> Array:
    """Broadcast a reduction's ``g`` back over the reduced axes (a read-only view, no copy)."""
    if not keepdims and shape:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def _stable_softmax_parts(x: Array, axis: int) -> tuple[Array, Array, Array]:
    """(x - max, exp(x - max), sum of exp): shifting by the max keeps exp from overflowing."""
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------------
# Elementwise binary ops (full NumPy broadcasting; the VJP sums back to each input's shape)
# --------------------------------------------------------------------------------------------

# add: out = x + y
ADD = Op(
    "add",
    lambda x, y, p: (x + y, None),
    (
        lambda g, n: unbroadcast(g, n.parents[0].data.shape),
        lambda g, n: unbroadcast(g, n.parents[1].data.shape),
    ),
)

# sub: out = x - y
SUB = Op(
    "sub",
    lambda x, y, p: (x - y, None),
    (
        lambda g, n: unbroadcast(g, n.parents[0].data.shape),
        lambda g, n: unbroadcast(-g, n.parents[1].data.shape),
    ),
)

# mul: out = x * y;  dx = g * y,  dy = g * x
MUL = Op(
    "mul",
    lambda x, y, p: (x * y, None),
    (
        lambda g, n: unbroadcast(g * n.parents[1].data, n.parents[0].data.shape),
        lambda g, n: unbroadcast(g * n.parents[0].data, n.parents[1].data.shape),
    ),
    saves=(0, 1),
)

# div: out = x / y;  dx = g / y,  dy = -g * out / y
DIV = Op(
    "div",
    lambda x, y, p: (x / y, None),
    (
        lambda g, n: unbroadcast(g / n.parents[1].data, n.parents[0].data.shape),
        lambda g, n: unbroadcast(-g * n.data / n.parents[1].data, n.parents[1].data.shape),
    ),
    saves=(1, OUTPUT),
)


def _pow_dexponent(g: Array, n: Any) -> Array:
    # d(x**y)/dy = x**y * ln x. Where x == 0 the limit is 0 (for y > 0); log would give -inf and
    # 0 * -inf = nan, so those entries are masked, as PyTorch does.
    x = n.parents[0].data
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(x == 0, 0, n.data * np.log(x))
    return unbroadcast((g * d).astype(g.dtype, copy=False), n.parents[1].data.shape)


def _pow_dbase(g: Array, n: Any) -> Array:
    # d(x**y)/dx = y * x**(y - 1); written with y - 1 (not out / x) so that x == 0 is exact.
    x, y = n.parents[0].data, n.parents[1].data
    return unbroadcast(g * (y * x ** (y - 1)), x.shape)


# pow: out = x ** y
POW = Op("pow", lambda x, y, p: (x**y, None), (_pow_dbase, _pow_dexponent), (0, 1, OUTPUT))


# matmul: out = x @ y for 1-D, 2-D and batched (..., n, k) @ (..., k, m) operands.
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


def _as_matrices(g: Array, x: Array, y: Array) -> tuple[Array, Array, Array]:
    """Promote 1-D operands as matmul does ((k,) -> (1, k) on the left, (k, 1) on the right),
    and ``g`` to match, so that one pair of batched formulas covers every case."""
    if y.ndim == 1:  # restore the right operand's column axis first: it is g's last
        y = y[:, None]
        g = g[..., None]
    if x.ndim == 1:
        x = x[None, :]
        g = np.expand_dims(g, -2)
    return g, x, y


def _matmul_dx(g: Array, n: Any) -> Array:
    x, y = n.parents[0].data, n.parents[1].data
    if x.ndim == 2 and y.ndim == 2:
        return g @ y.T
    g, x2, y2 = _as_matrices(g, x, y)
    return unbroadcast(g @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)


def _matmul_dy(g: Array, n: Any) -> Array:
    x, y = n.parents[0].data, n.parents[1].data
    if x.ndim == 2 and y.ndim == 2:
        return x.T @ g
    g, x2, y2 = _as_matrices(g, x, y)
    return unbroadcast(np.swapaxes(x2, -1, -2) @ g, y2.shape).reshape(y.shape)


MATMUL = Op("matmul", _matmul_forward, (_matmul_dx, _matmul_dy), (0, 1))


# --------------------------------------------------------------------------------------------
# Elementwise unary ops
# --------------------------------------------------------------------------------------------

NEG = Op("neg", lambda x, p: (-x, None), (lambda g, n: -g,))

# exp: out = e^x;  dx = g * out
EXP = Op("exp", lambda x, p: (np.exp(x), None), (lambda g, n: g * n.data,), (OUTPUT,))

# log: out = ln x;  dx = g / x
LOG = Op("log", lambda x, p: (np.log(x), None), (lambda g, n: g / n.parents[0].data,), (0,))

# tanh: dx = g * (1 - out^2)
TANH = Op(
    "tanh", lambda x, p: (np.tanh(x), None), (lambda g, n: g * (1 - n.data * n.data),), (OUTPUT,)
)

# relu: out = max(x, 0);  dx = g where x > 0 (0 at the kink, as PyTorch)
RELU = Op(
    "relu",
    lambda x, p: (np.maximum(x, 0), None),
    (lambda g, n: g * (n.parents[0].data > 0),),
    (0,),
)

# sigmoid: written through tanh, which never overflows: s = (1 + tanh(x / 2)) / 2;
# dx = g * s * (1 - s)
SIGMOID = Op(
    "sigmoid",
    lambda x, p: ((np.tanh(x * 0.5) + 1) * 0.5, None),
    (lambda g, n: g * (n.data * (1 - n.data)),),
    (OUTPUT,),
)

# sqrt: dx = g / (2 out)
SQRT = Op("sqrt", lambda x, p: (np.sqrt(x), None), (lambda g, n: g / (2 * n.data),), (OUTPUT,))

# abs: dx = g * sign(x) (0 at 0, as PyTorch)
ABS = Op(
    "abs", lambda x, p: (np.abs(x), None), (lambda g, n: g * np.sign(n.parents[0].data),), (0,)
)


# clip: out = min(max(x, lo), hi);  dx = g where lo <= x <= hi (PyTorch's clamp convention)
def _clip_vjp(g: Array, n: Any) -> Array:
    x = n.parents[0].data
    lo, hi = n._ctx
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return g * inside


CLIP = Op("clip", lambda x, p: (np.clip(x, p[0], p[1]), p), (_clip_vjp,), (0,))


# --------------------------------------------------------------------------------------------
# Reductions: params = (axes, keepdims) with axes normalised by normalize_axes
# --------------------------------------------------------------------------------------------

# sum: dx = g broadcast back over the summed axes
SUM = Op(
    "sum",
    lambda x, p: (np.asarray(x.sum(axis=p[0], keepdims=p[1])), p),
    (lambda g, n: _expand_reduced(g, n._ctx[0], n._ctx[1], n.parents[0].data.shape),),
)


# mean: dx = g / count, broadcast back
def _mean_forward(x: Array, p: Any) -> tuple[Array, Any]:
    return np.asarray(x.mean(axis=p[0], keepdims=p[1])), p


def _mean_vjp(g: Array, n: Any) -> Array:
    x = n.parents[0].data
    axes, keepdims = n._ctx
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    return _expand_reduced(g / count, axes, keepdims, x.shape)


MEAN = Op("mean", _mean_forward, (_mean_vjp,))


# max / min: the gradient goes to the extreme entries, split evenly between ties (as PyTorch's
# full reductions do), so the VJP stays a true subgradient and sums to g.
def _extreme_vjp(g: Array, n: Any) -> Array:
    x = n.parents[0].data
    axes, keepdims = n._ctx
    out = _expand_reduced(n.data, axes, keepdims, x.shape)
    mask = x == out
    count = mask.sum(axis=axes, keepdims=True)
    return _expand_reduced(g, axes, keepdims, x.shape) * mask / count.astype(x.dtype)


def _reduce_forward(fn: Callable[..., Array]) -> Callable[[Array, Any], tuple[Array, Any]]:
    def forward(x: Array, p: Any) -> tuple[Array, Any]:
        if x.size == 0:
            raise ValueError(f"{fn.__name__}: cannot reduce an empty tensor of shape {x.shape}")
        return np.asarray(fn(x, axis=p[0], keepdims=p[1])), p

    return forward


MAX = Op("max", _reduce_forward(np.max), (_extreme_vjp,), (0, OUTPUT))
MIN = Op("min", _reduce_forward(np.min), (_extreme_vjp,), (0, OUTPUT))


# logsumexp: out = m + ln sum e^(x - m);  dx = g * softmax(x)
def _logsumexp_forward(x: Array, p: Any) -> tuple[Array, Any]:
    axes, keepdims = p
    m = x.max(axis=axes, keepdims=True)
    s = np.exp(x - m).sum(axis=axes, keepdims=True)
    out = m + np.log(s)
    return (out if keepdims else np.asarray(out.squeeze(axis=axes))), p


def _logsumexp_vjp(g: Array, n: Any) -> Array:
    x = n.parents[0].data
    axes, keepdims = n._ctx
    out = _expand_reduced(n.data, axes, keepdims, x.shape)
    return _expand_reduced(g, axes, keepdims, x.shape) * np.exp(x - out)


LOGSUMEXP = Op("logsumexp", _logsumexp_forward, (_logsumexp_vjp,), (0, OUTPUT))


# --------------------------------------------------------------------------------------------
# Softmax family along one axis (params = axis)
# --------------------------------------------------------------------------------------------


# softmax: s = e^(x - m) / sum;  dx = s * (g - sum(g * s))
def _softmax_forward(x: Array, axis: int) -> tuple[Array, int]:
    _, e, s = _stable_softmax_parts(x, axis)
    return e / s, axis


def _softmax_vjp(g: Array, n: Any) -> Array:
    s = n.data
    return s * (g - (g * s).sum(axis=n._ctx, keepdims=True))


SOFTMAX = Op("softmax", _softmax_forward, (_softmax_vjp,), (OUTPUT,))


# log_softmax: out = (x - m) - ln sum;  dx = g - softmax * sum(g)
def _log_softmax_forward(x: Array, axis: int) -> tuple[Array, int]:
    shifted, _, s = _stable_softmax_parts(x, axis)
    return shifted - np.log(s), axis


def _log_softmax_vjp(g: Array, n: Any) -> Array:
    return g - np.exp(n.data) * g.sum(axis=n._ctx, keepdims=True)


LOG_SOFTMAX = Op("log_softmax", _log_softmax_forward, (_log_softmax_vjp,), (OUTPUT,))


# --------------------------------------------------------------------------------------------
# Shape ops: the VJP moves g back to where each entry came from
# --------------------------------------------------------------------------------------------

RESHAPE = Op(
    "reshape",
    lambda x, shape: (x.reshape(shape), None),
    (lambda g, n: g.reshape(n.parents[0].data.shape),),
    view=True,
)

# transpose(axes): dx = g transposed by the inverse permutation
TRANSPOSE = Op(
    "transpose",
    lambda x, axes: (x.transpose(axes), axes),
    (lambda g, n: g.transpose(np.argsort(n._ctx)),),
    view=True,
)


# getitem: dx = zeros with g scattered back; np.add.at so that a repeated index receives the
# sum of its gradients (plain assignment would keep only the last).
def _is_basic_index(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, int | slice | np.integer) or i is None or i is Ellipsis for i in items)


def _getitem_vjp(g: Array, n: Any) -> Array:
    x = n.parents[0].data
    idx, basic = n._ctx
    out = np.zeros(x.shape, dtype=g.dtype)
    if basic:
        out[idx] = g
    else:
        np.add.at(out, idx, g)
    return out


GETITEM = Op(
    "getitem",
    lambda x, idx: (x[idx], (idx, _is_basic_index(idx))),
    (_getitem_vjp,),
    view=True,
)


# --------------------------------------------------------------------------------------------
# N-ary ops (the VJP tuple is indexed by input position; params carry what VJPs need)
# --------------------------------------------------------------------------------------------


def _concat_forward(*args: Any) -> tuple[Array, Any]:
    *arrays, axis = args
    offsets = np.cumsum([0] + [a.shape[axis] for a in arrays])
    return np.concatenate(arrays, axis=axis), (axis, offsets)


def _concat_vjp(i: int) -> Callable[[Array, Any], Array]:
    def vjp(g: Array, n: Any) -> Array:  # input i's slice of g
        axis, offsets = n._ctx
        index = [slice(None)] * g.ndim
        index[axis] = slice(offsets[i], offsets[i + 1])
        return g[tuple(index)]

    return vjp


def _stack_forward(*args: Any) -> tuple[Array, Any]:
    *arrays, axis = args
    return np.stack(arrays, axis=axis), axis


def _stack_vjp(i: int) -> Callable[[Array, Any], Array]:
    def vjp(g: Array, n: Any) -> Array:  # input i's layer of g
        return np.take(g, i, axis=n._ctx)

    return vjp


# An n-ary op's VJP for input i needs i, so these are made per input position, once per arity
# (an LRU cache), not per node: all concats of three tensors share one tuple of three functions.
@functools.lru_cache(maxsize=256)
def concat_op(arity: int) -> Op:
    return Op("concat", _concat_forward, tuple(_concat_vjp(i) for i in range(arity)))


@functools.lru_cache(maxsize=256)
def stack_op(arity: int) -> Op:
    return Op("stack", _stack_forward, tuple(_stack_vjp(i) for i in range(arity)))


# where(cond, x, y): dx = g where cond, dy = g where not cond (cond is a parameter, not an input)
WHERE = Op(
    "where",
    lambda x, y, cond: (np.where(cond, x, y), cond),
    (
        lambda g, n: unbroadcast(
            np.where(n._ctx, g, 0).astype(g.dtype, copy=False), n.parents[0].data.shape
        ),
        lambda g, n: unbroadcast(
            np.where(n._ctx, 0, g).astype(g.dtype, copy=False), n.parents[1].data.shape
        ),
    ),
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


def _linear_dx(g: Array, n: Any) -> Array:
    return g @ n.parents[1].data.T


def _linear_dw(g: Array, n: Any) -> Array:
    x = n.parents[0].data
    if x.ndim == 2:
        return x.T @ g
    return x.reshape(-1, x.shape[-1]).T @ g.reshape(-1, g.shape[-1])


def _linear_db(g: Array, n: Any) -> Array:
    return g.sum(axis=0) if g.ndim == 2 else g.reshape(-1, g.shape[-1]).sum(axis=0)


LINEAR = Op("linear", _linear_forward, (_linear_dx, _linear_dw, _linear_db), (0, 1))


# cross_entropy: log-softmax and negative log-likelihood of integer targets in one node.
# Fused because the gradient collapses to (softmax - onehot) * g: no log of a probability that
# underflowed to 0, and one pass instead of the four of log_softmax, gather, mean and their VJPs.
# params = (targets as intp, reduction); logits (N, C) with targets (N,), or (C,) with a 0-d target.
def _cross_entropy_forward(logits: Array, p: Any) -> tuple[Array, Any]:
    targets, reduction = p
    shifted, e, s = _stable_softmax_parts(logits, -1)
    probs = e / s
    if logits.ndim == 1:
        rows = None
        losses = np.log(s[0]) - shifted[targets]
    else:
        rows = np.arange(logits.shape[0])
        losses = np.log(s[:, 0]) - shifted[rows, targets]
    if reduction == "mean":  # add.reduce / n: the same number as .mean(), without its wrapper
        out = np.asarray(np.add.reduce(losses, axis=None) / losses.size)
    elif reduction == "sum":
        out = np.asarray(np.add.reduce(losses, axis=None))
    else:
        out = losses
    return out, (targets, rows, reduction, probs)


def _cross_entropy_vjp(g: Array, n: Any) -> Array:
    targets, rows, reduction, probs = n._ctx
    grad = probs.copy()  # probs is kept intact: backward may run more than once
    if rows is None:
        grad[targets] -= 1
        return grad * g
    grad[rows, targets] -= 1
    if reduction == "mean":
        grad *= g / probs.shape[0]
    elif reduction == "sum":
        grad *= g
    else:
        grad *= g[:, None]
    return grad


CROSS_ENTROPY = Op("cross_entropy", _cross_entropy_forward, (_cross_entropy_vjp,))
