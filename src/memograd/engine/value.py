"""Value: one scalar node, with micrograd's surface (``.data``, ``.grad``, ``.backward()``).

micrograd code ports by changing the import. The difference is inside: each op stores its local
derivatives ``d out / d input`` as plain floats when it is made (slots ``_da``/``_db``, next to
the inputs ``_a``/``_b``; ``.local`` and ``.parents`` show them as tuples), instead of defining a
closure per node. Backward is then a multiply-add loop (``graph._sweep_scalar``), with no call
per node and no recursion; and since no node refers to its consumers, a graph has no reference
cycles and is freed as soon as the loss is dropped.

The ops are not written here: every arithmetic operator and function (``+ - * / **``, ``tanh``,
``exp``...) is generated from its row of the derivative table (``ops.py``), the row's formulas
inlined (``derive.value_methods``), so Value, Tensor and the explainer share one formula per
derivative and a Value op still costs no call beyond its own.

Python numbers mixed in are constants: they are folded into the op, not made into nodes, so
``x * 2`` has one parent (the number is kept in the unused derivative slot, for
``create_graph``). Every Value
keeps its gradient, intermediate ones included, as in micrograd.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from memograd.engine import derive, display, graph, ops
from memograd.engine.graph import DEFAULT_MAX_PATHS, grad_mode
from memograd.engine.stats import BackwardStats

_new = object.__new__
_LEAF = ops.Op("", None, ())


def node(data: float, row: ops.Op, a: Value | None, b: Value | None, da: float, db: float) -> Value:
    """The one place a Value's fields are set. Under ``no_grad``, the result is a constant.

    Built field by field, skipping ``__init__``'s checks (those are for user input): this runs
    once per scalar op. Inputs and local derivatives live in slots rather than tuples, so a node
    is a single allocation, which also leaves Python's cyclic collector fewer objects to scan.
    """
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._pending = 0
    if grad_mode.enabled:
        out._row = row
        out._a = a
        out._b = b
        out._da = da
        out._db = db
        out.requires_grad = True
    else:
        out._row = _LEAF
        out._a = out._b = None
        out._da = out._db = 0.0
        out.requires_grad = False
    return out


def number(x: object) -> float:
    """The float value of a Python/NumPy real number; ``TypeError`` for anything else."""
    t = type(x)
    if t is float:  # the common cases first: no ABC check
        return x
    if t is int:
        return float(x)
    if isinstance(x, Real):
        return float(x)
    raise TypeError(
        f"Value: unsupported operand type {type(x).__name__!r}; expected a Value or a real number"
    )


def _first_input_vjp(adjoint: float, n: Value) -> float:
    # parents are (a, b), (a,) or, for ``number op Value``, (b,): position 0 is a unless a is None
    return adjoint * (n._da if n._a is not None else n._db)


def _second_input_vjp(adjoint: float, n: Value) -> float:
    return adjoint * n._db


class Value:
    """A scalar that remembers how it was computed, so that ``backward()`` can differentiate it.

    ``data``: the float. ``grad``: dL/dself after ``L.backward()`` (accumulates across calls;
    reset with ``v.grad = 0.0``). ``parents``/``local``/``op``: the node's inputs, the local
    derivatives with respect to each, and the op's name.
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_row",  # the op's row of the derivative table (ops.Op); ``op`` is its symbol
        "_a",  # first input, or None
        "_b",  # second input, or None
        "_da",  # d data / d _a, computed at forward time (or the folded number, when no _a)
        "_db",  # d data / d _b (or the folded number or parameter, when no _b)
        "_pending",  # consuming edges not yet delivered, during backward (0 otherwise)
        "_adjoint",  # running sum of dL/dself, during backward
    )

    _SCALAR = True  # graph.backward runs the fused scalar sweep for these nodes
    # The generic strategies (memo, naive) read the VJPs like a Tensor op's: one per parent.
    _vjps = (_first_input_vjp, _second_input_vjp)
    _keeps_grad = True  # every Value keeps its gradient, as in micrograd

    def __init__(self, data: float, requires_grad: bool = True) -> None:
        if isinstance(data, Value):
            data = data.data
        self.data = number(data)
        self.grad = 0.0
        self.requires_grad = bool(requires_grad)
        self._row = _LEAF
        self._a = self._b = None
        self._da = self._db = 0.0
        self._pending = 0
        self._adjoint = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def _repr_svg_(self) -> str | None:  # Jupyter shows the graph (see engine/display.py)
        return display.svg_of(self)

    @property
    def op(self) -> str:
        """The op's label (``"+"``, ``"*"``, ``"tanh"``; ``""`` for a leaf)."""
        partials = self._row.partials
        return partials.symbol if partials is not None else self._row.name

    # ---- comparisons: on the numbers, as floats compare (micrograd code sorts and tests them) --

    def __lt__(self, other: Value | float) -> bool:
        return self.data < (other.data if isinstance(other, Value) else other)

    def __le__(self, other: Value | float) -> bool:
        return self.data <= (other.data if isinstance(other, Value) else other)

    def __gt__(self, other: Value | float) -> bool:
        return self.data > (other.data if isinstance(other, Value) else other)

    def __ge__(self, other: Value | float) -> bool:
        return self.data >= (other.data if isinstance(other, Value) else other)

    # ---- graph -------------------------------------------------------------------------------

    def detach(self) -> Value:
        """The same number as a new leaf that gradients do not flow into."""
        return Value(self.data, requires_grad=False)

    def item(self) -> float:
        return self.data

    def __float__(self) -> float:
        return self.data

    def backward(
        self,
        strategy: str = "sweep",
        *,
        stats: bool = False,
        max_paths: int = DEFAULT_MAX_PATHS,
        create_graph: bool = False,
        retain_graph: bool | None = None,
    ) -> BackwardStats | None:
        """Add dself/dnode to ``node.grad`` for every node of the graph below ``self``.

        ``strategy``: ``"sweep"`` (default), ``"memo"`` or ``"naive"`` (see ``graph``); all give
        the same gradients. ``stats=True`` returns the work done as a :class:`BackwardStats`.
        ``create_graph``: the gradients become Values with a graph of their own, so that they can
        be differentiated again. ``retain_graph`` is accepted for PyTorch's habits; a Value graph
        is always kept, as in micrograd.
        """
        return graph.backward(
            self,
            1.0,
            strategy,
            stats=stats,
            max_paths=max_paths,
            create_graph=create_graph,
            retain_graph=retain_graph,
        )

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Value inputs of the op that made this node, in order (``()`` for a leaf)."""
        a, b = self._a, self._b
        if a is None:
            return () if b is None else (b,)
        return (a,) if b is None else (a, b)

    @property
    def local(self) -> tuple[float, ...]:
        """d self / d parents[i] for each input, computed when the node was made."""
        a, b = self._a, self._b
        values = ([] if a is None else [self._da]) + ([] if b is None else [self._db])
        return tuple(float(v) for v in values)

    def _partials_as_values(self) -> tuple[Any, ...]:
        """The local derivatives rebuilt from the row's formulas on Values (``create_graph``)."""
        partials = self._row.partials
        if partials.arity == 1:
            return partials.graph(self._a, None, self, self._db)
        a = self._a if self._a is not None else self._da  # the folded number
        b = self._b if self._b is not None else self._db
        return partials.graph(a, b, self, None)

    def _graph_vjps(self) -> tuple[Any, ...]:
        """One VJP per parent that multiplies by a graph-valued partial (``create_graph``)."""
        partials = self._partials_as_values()
        positions = [i for i, v in enumerate((self._a, self._b)) if v is not None]
        return tuple(
            (lambda g, n, d=partials[i]: g * d)
            for i in positions  # noqa: B023 (bound by default)
        )

    def _push_tangent(self, incoming: tuple[Any, ...]) -> Any:
        """This node's tangent from its inputs' (forward mode): local derivative times tangent."""
        total = 0.0
        for t, d in zip(incoming, self.local, strict=True):
            if t is not None:
                total = total + d * t
        return total

    def _check_saved(self) -> None:
        """A Value's local derivatives are numbers taken at forward time: nothing to check."""

    @staticmethod
    def _deliver_grads(pairs: list[tuple[Value, float]]) -> None:
        """Add each node's adjoint from one backward pass to its ``grad``."""
        for n, adjoint in pairs:
            n.grad += adjoint

    @staticmethod
    def _where(condition: Any, x: Any, y: Any) -> Any:
        return x if condition else y


# Value's arithmetic and functions, from the table: (row, method name, reflected method name).
_OPERATORS = (
    (ops.ADD, "__add__", "__radd__"),
    (ops.SUB, "__sub__", "__rsub__"),
    (ops.MUL, "__mul__", "__rmul__"),
    (ops.DIV, "__truediv__", "__rtruediv__"),
    (ops.POW, "__pow__", "__rpow__"),
)
_FUNCTIONS = {
    ops.NEG: "__neg__",
    ops.EXP: "exp",
    ops.LOG: "log",
    ops.TANH: "tanh",
    ops.RELU: "relu",
    ops.LEAKY_RELU: "leaky_relu",
    ops.SIGMOID: "sigmoid",
    ops.GELU: "gelu",
    ops.SQRT: "sqrt",
    ops.ABS: "__abs__",
    ops.SIN: "sin",
    ops.COS: "cos",
    ops.RSQRT: "rsqrt",
    ops.LOG1P: "log1p",
    ops.EXPM1: "expm1",
    ops.SIGN: "sign",
    ops.MAXIMUM: "maximum",  # binary: v.maximum(w), as Tensor.maximum
    ops.MINIMUM: "minimum",
}


def _install() -> None:
    builders = {"Value": Value, "node": node, "number": number}
    for row, name, reflected in _OPERATORS:
        methods = derive.value_methods(row, builders)
        setattr(Value, name, methods["op"])
        setattr(Value, reflected, methods["reflected"])
    for row, name in _FUNCTIONS.items():
        setattr(Value, name, derive.value_methods(row, builders)["op"])


_install()
