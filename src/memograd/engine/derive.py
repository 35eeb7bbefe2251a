"""From one derivative formula per input to every column of the table.

An elementwise op is differentiated by its *partials*: ``∂out/∂x`` (and ``∂out/∂y`` for two
inputs), each written once in ``ops.py`` as a short Python expression in ``x``, ``y``, ``out``
and the op's parameter ``p``. This module turns each expression into every rule the engine needs:

* the reverse rule (VJP) of input i: ``g * partial_i``, summed back to the input's shape;
* for a unary op, the same product written into ``g`` when the sweep may spend it (``vjp_into``);
* the forward rule (JVP): ``sum over inputs of partial_i * tangent_i``;
* the local derivative a scalar :class:`~memograd.engine.value.Value` stores when it is made
  (its methods are generated here with the expression inlined: a Value op cannot afford a call);
* the partials as graph values, for ``backward(create_graph=True)`` on Values.

The tensor rules are one function each that works on ndarrays (an ordinary backward pass) and on
Tensors (``create_graph``: the same arithmetic then records a graph): every name an expression may
use is defined below for both. ``data(v)`` strips the graph from a value: a mask such as
``data(x) > 0`` is a constant, never differentiated.

Why strings: PyTorch's ``derivatives.yaml`` makes the same choice. The formula is written once
and compiled (at import, a millisecond) into code that is as fast as a hand-written rule in each
setting; the table's tests check every column of every row against finite differences and PyTorch.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

# --------------------------------------------------------------------------------------------
# The names a formula may use, for every kind of value: ndarray, Tensor, Value or float
# --------------------------------------------------------------------------------------------


def _is_plain(a: Any) -> bool:
    return isinstance(a, np.ndarray | np.generic | float | int)


def data(a: Any) -> Any:
    """The raw number or array behind a graph value (a constant: nothing flows through it)."""
    if type(a) is np.ndarray:  # the common case, in every ordinary backward pass
        return a
    return a if _is_plain(a) else a.data


def _unary(numpy_function: Callable[[Any], Any], method: str) -> Callable[[Any], Any]:
    def apply(a: Any) -> Any:
        if isinstance(a, np.ndarray):
            return numpy_function(a)
        if isinstance(a, float | int | np.generic):  # IEEE results (inf, nan), as arrays give
            with np.errstate(all="ignore"):
                return float(numpy_function(np.float64(a)))
        return getattr(a, method)()

    apply.__name__ = method
    return apply


exp = _unary(np.exp, "exp")
log = _unary(np.log, "log")
tanh = _unary(np.tanh, "tanh")
sqrt = _unary(np.sqrt, "sqrt")
sin = _unary(np.sin, "sin")
cos = _unary(np.cos, "cos")


def sign(a: Any) -> Any:
    """-1, 0 or 1 by the sign of ``a``: a constant (its derivative is zero everywhere it exists)."""
    return np.sign(data(a))


def where(condition: Any, a: Any, b: Any) -> Any:
    """``a`` where ``condition`` holds, else ``b``; the condition is data, never differentiated."""
    condition = data(condition)
    if isinstance(condition, bool | np.bool_):
        return a if condition else b
    for v in (a, b):
        if not _is_plain(v):
            return type(v)._where(condition, a, b)
    return np.where(condition, a, b)


def broadcast_to(a: Any, shape: tuple[int, ...]) -> Any:
    """``a`` stretched to ``shape`` (a read-only view for an array, a graph node for a Tensor)."""
    if isinstance(a, np.ndarray | np.generic | float | int):
        return np.broadcast_to(a, shape)
    return a if a.shape == shape else a.broadcast_to(shape)


NAMESPACE: dict[str, Any] = {
    "data": data,
    "exp": exp,
    "log": log,
    "tanh": tanh,
    "sqrt": sqrt,
    "sin": sin,
    "cos": cos,
    "sign": sign,
    "where": where,
    "math": math,
}


def _scalar_sign(a: float) -> float:
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0 * a)  # 0.0 * nan keeps nan


# For the local derivatives of Value ops: floats in, floats out, C functions, no dispatch. A
# formula that raises here (0.0 ** -1.0, log(0.0)) is evaluated again in IEEE arithmetic.
SCALAR_NAMESPACE: dict[str, Any] = {
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "sign": _scalar_sign,
    "where": lambda condition, a, b: a if condition else b,
    "math": math,
}

# Partials that need no multiply: the VJP hands g on, or its negation, as is.
_ONE, _MINUS_ONE = "1", "-1"


class Partials(NamedTuple):
    """The scalar side of an elementwise row: its forward on floats and its partials."""

    arity: int
    exprs: tuple[str, ...]  # ∂out/∂input_i, expressions in x, y, out, p
    scalar: str | Callable[..., float]  # the forward on floats: an expression, or a function
    symbol: str  # how a Value labels the op ("+", "*", "tanh")
    has_param: bool  # the op takes a number p besides its inputs (leaky_relu's slope)
    graph: Callable[..., tuple[Any, ...]]  # (x, y, out, p) -> partials as graph values
    ieee: Callable[..., tuple[float, ...]]  # (x, y, out, p) -> partials in IEEE arithmetic


_INPUTS = ("x", "y")


def names_in(expr: str) -> set[str]:
    """The variables and functions an expression mentions."""
    tree = ast.parse(expr, mode="eval")
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


class _StripData(ast.NodeTransformer):
    """``data(e)`` -> ``e``: floats carry no graph, so the call would only cost time."""

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "data" and len(node.args) == 1:
            return node.args[0]
        return node


def scalar_source(expr: str) -> str:
    """The expression as Value's generated code evaluates it on floats."""
    tree = _StripData().visit(ast.parse(expr, mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree))


def _compile(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    scope: dict[str, Any] = dict(namespace)
    exec(compile(source, f"<derivative table: {name}>", "exec"), scope)  # noqa: S102
    return scope[name]


def _loads(used: set[str], arity: int, need: set[str]) -> list[str]:
    """Lines binding the names a rule reads from its node, and only those."""
    lines = []
    for i, name in enumerate(_INPUTS[:arity]):
        if name in used or name in need:
            lines.append(f"    {name} = n.parents[{i}]._data")
    if "out" in used or "out" in need:
        lines.append("    out = n._data")
    if "p" in used:
        lines.append("    p = n._ctx")
    return lines


def make_vjp(name: str, arity: int, i: int, expr: str, namespace: dict[str, Any]) -> Callable:
    """``vjp(g, n)``: the contribution of ``g = dL/dout`` to input ``i``'s adjoint."""
    target = _INPUTS[i]
    body = _loads(names_in(expr), arity, {target})
    if expr == _ONE:
        term = "g"
    elif expr == _MINUS_ONE:
        term = "-g"
    else:
        term = f"g * ({expr})"
    body.append(f"    return unbroadcast({term}, {target}.shape)")
    source = "def vjp(g, n):\n" + "\n".join(body) + "\n"
    return _compile(source, "vjp", {**namespace, "__name__": f"{name}.vjp[{i}]"})


def make_vjp_into(name: str, expr: str, namespace: dict[str, Any]) -> Callable | None:
    """``vjp_into(g, n)``: a unary row's VJP written into ``g`` itself, when ``g`` may be spent.

    The backward sweep calls it only for an adjoint array that nothing else references (see
    ``graph._sweep``): ``g * partial`` then needs no new array. It computes the same product
    with the same ufunc, so the bits are the VJP's; where the product would change dtype it
    falls back to a new array. None for rules that hand ``g`` on unchanged (``1``, ``-1``).
    """
    if expr in (_ONE, _MINUS_ONE):
        return None
    body = _loads(names_in(expr), 1, set())
    body.append(f"    factor = {expr}")
    body.append("    if result_type(g, factor) != g.dtype:")
    body.append("        return g * factor")
    body.append("    return multiply(g, factor, out=g)")
    source = "def vjp_into(g, n):\n" + "\n".join(body) + "\n"
    space = {**namespace, "result_type": np.result_type, "multiply": np.multiply}
    return _compile(source, "vjp_into", {**space, "__name__": f"{name}.vjp_into"})


def make_jvp(name: str, arity: int, exprs: tuple[str, ...], namespace: dict[str, Any]) -> Callable:
    """``jvp(n, tangents)``: the output's tangent from the inputs' (None: no tangent)."""
    used = set().union(*(names_in(e) for e in exprs))
    body = _loads(used, arity, {"out"})
    body.append("    total = None")
    for i, expr in enumerate(exprs):
        t = f"tangents[{i}]"
        term = "t" if expr == _ONE else "-t" if expr == _MINUS_ONE else f"t * ({expr})"
        body += [
            f"    t = {t}",
            "    if t is not None:",
            f"        term = {term}",
            "        total = term if total is None else total + term",
        ]
    body.append("    return None if total is None else broadcast_to(total, out.shape)")
    source = "def jvp(n, tangents):\n" + "\n".join(body) + "\n"
    return _compile(source, "jvp", namespace)


def make_partials(
    name: str,
    exprs: tuple[str, ...],
    scalar: str | Callable[..., float],
    symbol: str,
    has_param: bool,
) -> Partials:
    args = "x, y, out, p"
    values = ", ".join(f"({e})" for e in exprs)
    graph = _compile(f"def graph({args}):\n    return ({values},)\n", "graph", NAMESPACE)
    ieee_source = (
        f"def ieee({args}):\n"
        "    x, y, out = (None if v is None else np.float64(v) for v in (x, y, out))\n"
        "    with np.errstate(all='ignore'):\n"
        f"        return tuple(float(v) for v in ({values},))\n"
    )
    ieee_space = {**NAMESPACE, **{k: getattr(np, k) for k in ("exp", "log", "tanh", "sqrt")}}
    ieee_space.update(sin=np.sin, cos=np.cos, sign=np.sign, where=np.where, data=lambda v: v)
    ieee = _compile(ieee_source, "ieee", {**ieee_space, "np": np})
    return Partials(len(exprs), exprs, scalar, symbol, has_param, graph, ieee)


# --------------------------------------------------------------------------------------------
# Value's methods, generated with the row's formulas inlined
# --------------------------------------------------------------------------------------------


def _scalar_forward(partials: Partials) -> str:
    """The forward on floats: the row's expression inlined, or a call to its function."""
    if isinstance(partials.scalar, str):
        return scalar_source(partials.scalar)
    args = "x, y" if partials.arity == 2 else "x"
    return f"forward({args}{', p' if partials.has_param else ''})"


def _derivatives(
    partials: Partials, inputs: tuple[int, ...], names: tuple[str, ...], y: str, p: str
) -> list[str]:
    """Lines setting the local derivatives, with an IEEE fallback where float arithmetic raises.

    ``y``/``p``: what the fallback passes for the second input and the parameter (``"None"``
    where the op has none, so that the common path binds no extra name).
    """
    lines = ["    try:"]
    pairs = list(zip(names, inputs, strict=True))
    lines += [f"        {n} = {scalar_source(partials.exprs[i])}" for n, i in pairs]
    lines += ["    except (ArithmeticError, ValueError):"]
    lines += [f"        ieee_values = ieee(x, {y}, out, {p})"]
    lines += [f"        {n} = ieee_values[{i}]" for n, i in pairs]
    return lines


def value_methods(op: Any, builders: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Value's methods for one elementwise row: ``"op"``, and ``"reflected"`` for binary rows.

    ``builders`` supplies ``Value``, ``node`` (Value's one builder:
    ``node(data, row, a, b, da, db)``) and ``number`` (a checked float). A number operand is
    folded into the op, as micrograd folds it: the Value stays the only parent (in ``a``, or in
    ``b`` when the number comes first) and the number takes the other input's derivative slot
    (no gradient flows to a number), so that ``create_graph`` can rebuild the partials. A unary
    op's parameter (leaky_relu's slope) takes ``db`` the same way.
    """
    partials = op.partials
    space = {**SCALAR_NAMESPACE, **builders, "row": op, "forward": partials.scalar}
    space["ieee"] = partials.ieee
    forward = _scalar_forward(partials)
    if partials.arity == 1:
        p = "p" if partials.has_param else "None"
        head = "def method(self, p=0.01):" if partials.has_param else "def method(self):"
        lines = [head, "    x = self.data", f"    out = {forward}"]
        lines += _derivatives(partials, (0,), ("da",), "None", p)
        lines += [
            f"    return node(out, row, self, None, da, {'p' if partials.has_param else '0.0'})"
        ]
        return {"op": _compile("\n".join(lines) + "\n", "method", space)}
    lines = [
        "def method(self, other):",
        "    x = self.data",
        "    if type(other) is Value:",
        "        y = other.data",
        f"        out = {forward}",
        *("    " + line for line in _derivatives(partials, (0, 1), ("da", "db"), "y", "None")),
        "        return node(out, row, self, other, da, db)",
        "    y = number(other)",
        f"    out = {forward}",
        *_derivatives(partials, (0,), ("da",), "y", "None"),
        "    return node(out, row, self, None, da, y)",
    ]
    reflected = [  # number (op) Value: the Value is the second input
        "def reflected(self, other):",
        "    x = number(other)",
        "    y = self.data",
        f"    out = {forward}",
        *_derivatives(partials, (1,), ("db",), "y", "None"),
        "    return node(out, row, None, self, x, db)",
    ]
    return {
        "op": _compile("\n".join(lines) + "\n", "method", space),
        "reflected": _compile("\n".join(reflected) + "\n", "reflected", space),
    }
