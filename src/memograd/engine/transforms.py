"""Functions of functions: gradients, Jacobians and Hessians, in either direction.

``grad``/``value_and_grad`` (reverse mode), ``jvp`` (forward mode), ``vjp`` (reverse mode as a
function), ``jacrev`` (one reverse pass per output), ``jacfwd`` (one forward pass per input),
``hessian`` (forward over reverse) and ``hvp``, with ``argnums`` as torch.func and JAX have them;
and ``gradcheck`` against central differences.

Arguments may be numbers (differentiated as :class:`Value`; results are floats), arrays or
Tensors (results are ndarrays). The transforms nest: a transform called on arguments that are
already part of a graph (as inside another transform) keeps them, runs its passes with
``create_graph`` and returns graph values, which the outer transform differentiates in turn.
So ``grad(grad(f))`` is the second derivative and ``hessian`` is ``jacfwd(jacrev(f))``.

Which direction is cheaper depends only on shapes: a reverse pass gives one output's derivative
for every input, a forward pass every output's derivative for one input. ``stats=True`` returns
the work (passes, VJP or JVP evaluations) beside the result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np

from memograd.engine import graph
from memograd.engine.graph import grad_mode
from memograd.engine.stats import BackwardStats
from memograd.engine.tensor import Tensor, from_numpy
from memograd.engine.value import Value

Argnums = int | Sequence[int]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central finite differences."""


def _argnums_tuple(argnums: Argnums, n_args: int) -> tuple[int, ...]:
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


def _is_traced(x: Any) -> bool:
    """Is ``x`` already part of a graph that an outer transform (or the caller) differentiates?"""
    return isinstance(x, Tensor | Value) and x.requires_grad and grad_mode.enabled


class _Call:
    """One call of a transformed function: its leaves, its outputs, whether it is nested."""

    def __init__(self, args: tuple[Any, ...], argnums: Argnums, where: str) -> None:
        self.where = where
        self.positions = _argnums_tuple(argnums, len(args))
        self.single = isinstance(argnums, int)
        self.args = list(args)
        self.nested = any(_is_traced(args[a]) for a in self.positions)
        self.leaves = []
        for a in self.positions:
            leaf = args[a] if _is_traced(args[a]) else _leaf(args[a])
            self.args[a] = leaf
            self.leaves.append(leaf)

    def run(self, f: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        return f(*self.args, **kwargs)

    def shaped(self, results: list[Any]) -> Any:
        return results[0] if self.single else tuple(results)

    def value(self, node: Any) -> Any:
        """A node as the caller gets it: itself when nested, else its number or array."""
        if self.nested:
            return node
        if isinstance(node, Value):
            return node.data
        return np.array(node.data) if isinstance(node, Tensor) else node

    def zeros_like(self, leaf: Any) -> Any:
        if isinstance(leaf, Value):
            return 0.0
        return np.zeros(leaf.shape, dtype=leaf.dtype)


def _as_node(out: Any, where: str) -> Tensor | Value:
    if isinstance(out, Tensor | Value):
        return out
    raise TypeError(
        f"{where}: the function must return a Value or a Tensor built from its inputs, "
        f"got {type(out).__name__}"
    )


def _outputs(out: Any, where: str) -> tuple[list[Tensor | Value], bool]:
    """The function's outputs as a list, and whether it returned a tuple of them."""
    if isinstance(out, tuple | list):
        return [_as_node(o, where) for o in out], True
    return [_as_node(out, where)], False


def _scalar(out: Any, where: str) -> Tensor | Value:
    if not isinstance(out, Tensor | Value):
        raise TypeError(
            f"{where}: the function must return a Value or a one-element Tensor built from its "
            f"inputs, got {type(out).__name__}"
        )
    if isinstance(out, Tensor) and out.data.size != 1:
        raise ValueError(
            f"{where}: the function must return a scalar, got a tensor of shape {out.shape}"
        )
    return out


def _seed(out: Tensor | Value, nested: bool, direction: Any = None) -> Any:
    """dout/dout to start a reverse pass: 1, or ``direction`` (a cotangent) of out's shape."""
    if isinstance(out, Value):
        return 1.0 if direction is None else float(direction)
    return out._seed(direction, create_graph=nested)


def _reverse(
    out: Tensor | Value, call: _Call, seed: Any, report: BackwardStats | None, retain: bool
) -> list[Any]:
    """d(out)/d(leaves) . seed, zeros for leaves the output does not depend on."""
    if not out.requires_grad:
        return [call.zeros_like(leaf) for leaf in call.leaves]
    found = graph.gradients(
        out,
        seed,
        call.leaves,
        create_graph=call.nested,
        retain_graph=retain or call.nested,
        report=report,
    )
    return [
        call.zeros_like(leaf) if g is None else _plain(g, leaf, call.nested)
        for g, leaf in zip(found, call.leaves, strict=True)
    ]


def _plain(g: Any, leaf: Any, nested: bool) -> Any:
    """An adjoint as the caller gets it: a graph value when nested, else float or ndarray."""
    if nested:
        return g
    if isinstance(leaf, Value):
        return float(g)
    return np.array(g, dtype=leaf.dtype).reshape(leaf.shape)


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., tuple[Any, Any]]:
    """``f``'s value and its gradient with respect to the arguments at ``argnums``.

    An int ``argnums`` gives one gradient, a sequence a tuple of them. ``f`` must return a scalar
    (a Value or a one-element Tensor).
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        call = _Call(args, argnums, "value_and_grad")
        out = _scalar(call.run(f, kwargs), "value_and_grad")
        grads = _reverse(out, call, _seed(out, call.nested), None, retain=False)
        value = out if call.nested else (out.data if isinstance(out, Value) else out.data.item())
        return value, call.shaped(grads)

    return wrapper


def grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The gradient of scalar-valued ``f`` with respect to the arguments at ``argnums``.

    Nests: ``grad(grad(f))`` is the second derivative of a scalar function.
    """
    both = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return both(*args, **kwargs)[1]

    return wrapper


def _check_tangent(t: Any, leaf: Any, k: int, where: str) -> Any:
    if isinstance(leaf, Value):
        if isinstance(t, Value):
            t = t.data
        if not isinstance(t, Real):
            raise TypeError(f"{where}: tangent {k} must be a number, like its primal")
        return float(t)
    if isinstance(t, Tensor):
        return t
    array = np.asarray(t, dtype=leaf.dtype)
    if array.shape != leaf.shape:
        raise ValueError(
            f"{where}: tangent {k} has shape {array.shape}, its primal {tuple(leaf.shape)}"
        )
    return array


def jvp(
    f: Callable[..., Any],
    primals: Sequence[Any],
    tangents: Sequence[Any],
    *,
    stats: bool = False,
) -> tuple[Any, Any] | tuple[Any, Any, BackwardStats]:
    """(f(*primals), the derivative of f at primals in the direction ``tangents``): forward mode.

    The tangents are carried from the inputs towards the outputs through the table's JVP column,
    each node's tangent computed once (no reverse pass). As torch.func.jvp: ``primals`` and
    ``tangents`` are tuples of the same length and shapes; the outputs keep f's structure.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent each"
        )
    call = _Call(primals, tuple(range(len(primals))), "jvp")
    seeds = {
        leaf: _check_tangent(t, leaf, k, "jvp")
        for k, (t, leaf) in enumerate(zip(tangents, call.leaves, strict=True))
    }
    outputs, many = _outputs(call.run(f, {}), "jvp")
    report = BackwardStats("forward")
    found = graph.forward_sweep(outputs, seeds, report)
    values = [call.value(o) for o in outputs]
    derivs = [_tangent_out(t, o, call.nested) for t, o in zip(found, outputs, strict=True)]
    result = (tuple(values), tuple(derivs)) if many else (values[0], derivs[0])
    return (*result, report) if stats else result


def _tangent_out(t: Any, out: Any, nested: bool) -> Any:
    if t is None:
        return 0.0 if isinstance(out, Value) else np.zeros(out.shape, dtype=out.dtype)
    if isinstance(out, Value):
        return t if nested else float(t)
    if nested or isinstance(t, Tensor):
        return t
    return np.array(t, dtype=out.dtype).reshape(out.shape)


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., tuple[Any, ...]]]:
    """(f(*primals), vjp_fn): ``vjp_fn(cotangent)`` is the cotangent pulled back to every primal.

    As torch.func.vjp: the graph is built once and kept, so ``vjp_fn`` may be called as often as
    needed (one reverse pass each); it returns a tuple with one entry per primal.
    """
    call = _Call(primals, tuple(range(len(primals))), "vjp")
    outputs, many = _outputs(call.run(f, {}), "vjp")

    def vjp_fn(*cotangents: Any) -> tuple[Any, ...]:
        if len(cotangents) != len(outputs):
            raise ValueError(f"vjp_fn: expected {len(outputs)} cotangent(s), got {len(cotangents)}")
        live = [(o, c) for o, c in zip(outputs, cotangents, strict=True) if o.requires_grad]
        if not live:
            return tuple(call.zeros_like(leaf) for leaf in call.leaves)
        if len(live) == 1:
            out, cotangent = live[0]
            return tuple(_reverse(out, call, _seed(out, call.nested, cotangent), None, True))
        total = sum((out * _seed(out, True, c)).sum() for out, c in live)  # <outputs, cotangents>
        return tuple(_reverse(total, call, _seed(total, call.nested), None, True))

    values = [call.value(o) for o in outputs]
    return (tuple(values) if many else values[0]), vjp_fn


def _basis(shape: tuple[int, ...], dtype: Any) -> Any:
    """The unit directions of a shape, one array at a time."""
    for k in range(int(np.prod(shape, dtype=np.int64))):
        e = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=dtype)
        e[k] = 1
        yield e.reshape(shape)


def jacrev(
    f: Callable[..., Any], argnums: Argnums = 0, *, stats: bool = False
) -> Callable[..., Any]:
    """The Jacobian of ``f`` by reverse mode: one pass per output entry, each giving a row.

    Shape: ``out.shape + input.shape`` (a tuple of them for a sequence ``argnums``).
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(args, argnums, "jacrev")
        out = _as_node(call.run(f, kwargs), "jacrev")
        report = BackwardStats("sweep")
        if isinstance(out, Value):
            rows = [_reverse(out, call, _seed(out, call.nested), report, retain=True)]
            jac = [rows[0][k] for k in range(len(call.leaves))]
        else:
            rows = [
                _reverse(out, call, _seed(out, call.nested, e), report, retain=True)
                for e in _basis(out.shape, out.dtype)
            ]
            jac = [
                _assemble([row[k] for row in rows], out.shape, leaf, call.nested)
                for k, leaf in enumerate(call.leaves)
            ]
        result = call.shaped(jac)
        return (result, report) if stats else result

    return wrapper


def jacfwd(
    f: Callable[..., Any], argnums: Argnums = 0, *, stats: bool = False
) -> Callable[..., Any]:
    """The Jacobian of ``f`` by forward mode: one pass per input entry, each giving a column.

    Shape: ``out.shape + input.shape`` (a tuple of them for a sequence ``argnums``).
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(args, argnums, "jacfwd")
        out = _as_node(call.run(f, kwargs), "jacfwd")
        report = BackwardStats("forward")
        jac = []
        for leaf in call.leaves:
            if isinstance(leaf, Value):
                (t,) = graph.forward_sweep([out], {leaf: 1.0}, report)
                jac.append(_tangent_out(t, out, call.nested))
                continue
            columns = [
                _tangent_out(graph.forward_sweep([out], {leaf: e}, report)[0], out, call.nested)
                for e in _basis(leaf.shape, leaf.dtype)
            ]
            jac.append(_assemble_columns(columns, out, leaf, call.nested))
        result = call.shaped(jac)
        return (result, report) if stats else result

    return wrapper


def _assemble(rows: list[Any], out_shape: tuple[int, ...], leaf: Any, nested: bool) -> Any:
    """Rows d out[k] / d leaf (one per output entry) as an array of shape out + leaf."""
    if isinstance(leaf, Value):
        rows = [r.data if isinstance(r, Value) else r for r in rows] if not nested else rows
        if nested:
            return rows if len(rows) != 1 else rows[0]
        return np.array(rows, dtype=np.float64).reshape(out_shape)
    if nested:
        from memograd.engine.tensor import stack

        return stack([r if isinstance(r, Tensor) else from_numpy(r) for r in rows]).reshape(
            (*out_shape, *leaf.shape)
        )
    return np.stack(rows).reshape((*out_shape, *leaf.shape))


def _assemble_columns(columns: list[Any], out: Any, leaf: Any, nested: bool) -> Any:
    """Columns d out / d leaf[k] (one per input entry) as an array of shape out + leaf."""
    out_shape = () if isinstance(out, Value) else out.shape
    if nested and any(isinstance(c, Tensor) for c in columns):
        from memograd.engine.tensor import stack

        parts = [c if isinstance(c, Tensor) else from_numpy(np.asarray(c)) for c in columns]
        return stack(parts, axis=-1).reshape((*out_shape, *leaf.shape))
    return np.stack([np.asarray(c) for c in columns], axis=-1).reshape((*out_shape, *leaf.shape))


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Hessian of scalar ``f``: forward mode over reverse mode, ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """(f(*primals), H v): the Hessian of scalar ``f`` times ``tangents``, forward over reverse.

    One reverse pass that records its own graph, then one forward pass through it: the cost of
    a few gradients, without forming H. As torch.func.hvp, with tuples of primals and tangents.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    value = []

    def gradient(*xs: Any) -> Any:
        out, g = value_and_grad(f, tuple(range(len(xs))))(*xs)
        value.append(out)
        return g

    _, products = jvp(gradient, primals, tangents)
    out = value[0]
    out = (
        out.data
        if isinstance(out, Value)
        else (out.data.item() if isinstance(out, Tensor) else out)
    )
    return out, products if len(primals) != 1 else products[0]


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
