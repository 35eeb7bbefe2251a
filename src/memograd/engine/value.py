"""Value: one scalar node, with micrograd's surface (``.data``, ``.grad``, ``.backward()``).

micrograd code ports by changing the import. The difference is inside: each op stores its local
derivatives ``d out / d input`` as plain floats at forward time (slots ``_da``/``_db``, next to
the inputs ``_a``/``_b``; ``.local`` and ``.parents`` show them as tuples), written right beside
the forward formula, instead of defining a closure per node. Backward is then a multiply-add
loop (``graph._sweep_scalar``), with no call per node and no recursion; and since no node refers
to its consumers, a graph has no reference cycles and is freed as soon as the loss is dropped.

Python numbers mixed in are constants: they are folded into the op, not made into nodes, so
``x * 2`` has one parent. Every Value keeps its gradient, intermediate ones included, as in
micrograd.
"""

from __future__ import annotations

import math
from numbers import Real

from memograd.engine import display, graph
from memograd.engine.graph import DEFAULT_MAX_PATHS, grad_mode
from memograd.engine.stats import BackwardStats

_new = object.__new__


def _unary(data: float, a: Value, da: float, op: str) -> Value:
    """The result of a one-input op: ``da`` is d data / d a. Under ``no_grad``, a constant.

    Built field by field, skipping ``__init__``'s checks (those are for user input): this runs
    once per scalar op. Inputs and local derivatives live in four slots rather than two tuples,
    so a node is a single allocation, which also leaves Python's cyclic collector a third of the
    objects to scan.
    """
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._pending = 0
    out._b = None
    out._db = 0.0
    if grad_mode.enabled:
        out._a = a
        out._da = da
        out.op = op
        out.requires_grad = True
    else:
        out._a = None
        out._da = 0.0
        out.op = ""
        out.requires_grad = False
    return out


def _binary(data: float, a: Value, b: Value, da: float, db: float, op: str) -> Value:
    """The result of a two-input op: ``da``, ``db`` are d data / d a and d data / d b."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._pending = 0
    if grad_mode.enabled:
        out._a = a
        out._b = b
        out._da = da
        out._db = db
        out.op = op
        out.requires_grad = True
    else:
        out._a = out._b = None
        out._da = out._db = 0.0
        out.op = ""
        out.requires_grad = False
    return out


def _number(x: object) -> float:
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


class Value:
    """A scalar that remembers how it was computed, so that ``backward()`` can differentiate it.

    ``data``: the float. ``grad``: dL/dself after ``L.backward()`` (accumulates across calls;
    reset with ``v.grad = 0.0``). ``parents``/``local``/``op``: the node's inputs, the local
    derivatives with respect to each, and the op's name.
    """

    __slots__ = (
        "data",
        "grad",
        "op",
        "requires_grad",
        "_a",  # first input, or None
        "_b",  # second input, or None
        "_da",  # d data / d _a, computed at forward time
        "_db",  # d data / d _b
        "_pending",  # consuming edges not yet delivered, during backward (0 otherwise)
        "_adjoint",  # running sum of dL/dself, during backward
    )

    _SCALAR = True  # graph.backward runs the fused scalar sweep for these nodes
    # The generic strategies (memo, naive) read the VJPs like a Tensor op's: one per input.
    _vjps = (
        lambda adjoint, node: adjoint * node._da,
        lambda adjoint, node: adjoint * node._db,
    )
    _keeps_grad = True  # every Value keeps its gradient, as in micrograd
    _saves = ()  # a Value's local derivatives are numbers taken at forward time: nothing to check

    def __init__(self, data: float, requires_grad: bool = True) -> None:
        if isinstance(data, Value):
            data = data.data
        self.data = _number(data)
        self.grad = 0.0
        self._a = self._b = None
        self._da = self._db = 0.0
        self.op = ""
        self.requires_grad = bool(requires_grad)
        self._pending = 0
        self._adjoint = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def _repr_svg_(self) -> str | None:  # Jupyter shows the graph (see engine/display.py)
        return display.svg_of(self)

    # ---- arithmetic: forward value, then the local derivatives, side by side -----------------

    def __add__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return _binary(self.data + other.data, self, other, 1.0, 1.0, "+")
        return _unary(self.data + _number(other), self, 1.0, "+")

    __radd__ = __add__

    def __mul__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return _binary(self.data * other.data, self, other, other.data, self.data, "*")
        c = _number(other)
        return _unary(self.data * c, self, c, "*")

    __rmul__ = __mul__

    def __sub__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return _binary(self.data - other.data, self, other, 1.0, -1.0, "-")
        return _unary(self.data - _number(other), self, 1.0, "-")

    def __rsub__(self, other: float) -> Value:
        return _unary(_number(other) - self.data, self, -1.0, "-")

    def __neg__(self) -> Value:
        return _unary(-self.data, self, -1.0, "neg")

    def __truediv__(self, other: Value | float) -> Value:
        if type(other) is Value:
            if other.data == 0.0:
                raise ZeroDivisionError("Value division: the divisor's data is 0.0")
            inv = 1.0 / other.data
            out = self.data * inv
            return _binary(out, self, other, inv, -out * inv, "/")
        c = _number(other)
        if c == 0.0:
            raise ZeroDivisionError("Value division by the number 0")
        return _unary(self.data / c, self, 1.0 / c, "/")

    def __rtruediv__(self, other: float) -> Value:
        if self.data == 0.0:
            raise ZeroDivisionError("Value division: the divisor's data is 0.0")
        c = _number(other)
        out = c / self.data
        return _unary(out, self, -out / self.data, "/")

    def __pow__(self, other: Value | float) -> Value:
        x = self.data
        if type(other) is Value:
            y = other.data
            out = _power(x, y)
            return _binary(out, self, other, _dpow_dbase(x, y), _dpow_dexponent(x, y, out), "**")
        y = _number(other)
        return _unary(_power(x, y), self, _dpow_dbase(x, y), "**")

    def __rpow__(self, other: float) -> Value:
        x = _number(other)
        y = self.data
        out = _power(x, y)
        return _unary(out, self, _dpow_dexponent(x, y, out), "**")

    # ---- functions ---------------------------------------------------------------------------

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _unary(t, self, 1.0 - t * t, "tanh")

    def relu(self) -> Value:
        x = self.data
        # ``x <= 0`` rather than ``x > 0`` picks the zero, so that NaN passes through, as in NumPy.
        return _unary(0.0 if x <= 0.0 else x, self, 1.0 if x > 0.0 else 0.0, "relu")

    def exp(self) -> Value:
        try:
            e = math.exp(self.data)
        except OverflowError:
            e = math.inf
        return _unary(e, self, e, "exp")

    def log(self) -> Value:
        x = self.data
        if x <= 0.0:
            raise ValueError(f"Value.log: expected a positive number, got {x!r}")
        return _unary(math.log(x), self, 1.0 / x, "log")

    def sigmoid(self) -> Value:
        x = self.data
        # Two branches so that exp never overflows: e^-|x| is always <= 1.
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return _unary(s, self, s * (1.0 - s), "sigmoid")

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
    ) -> BackwardStats | None:
        """Add dself/dnode to ``node.grad`` for every node of the graph below ``self``.

        ``strategy``: ``"sweep"`` (default), ``"memo"`` or ``"naive"`` (see ``graph``); all give
        the same gradients. ``stats=True`` returns the work done as a :class:`BackwardStats`.
        """
        return graph.backward(self, 1.0, strategy, stats=stats, max_paths=max_paths)

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that made this node, in order (``()`` for a leaf)."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        return (a,) if b is None else (a, b)

    @property
    def local(self) -> tuple[float, ...]:
        """d self / d parents[i] for each input, computed when the node was made."""
        if self._a is None:
            return ()
        return (self._da,) if self._b is None else (self._da, self._db)

    @staticmethod
    def _deliver_grads(pairs: list[tuple[Value, float]]) -> None:
        """Add each node's adjoint from one backward pass to its ``grad``."""
        for node, adjoint in pairs:
            node.grad += adjoint


def _power(x: float, y: float) -> float:
    try:
        out = x**y
    except ZeroDivisionError:
        raise ZeroDivisionError(f"Value power: 0.0 ** {y!r} is undefined") from None
    except OverflowError:
        return math.inf
    if isinstance(out, complex):
        raise ValueError(f"Value power: {x!r} ** {y!r} is not a real number")
    return out


def _dpow_dbase(x: float, y: float) -> float:
    """d(x**y)/dx = y * x**(y-1); 0 when y == 0 (the function is constant in x)."""
    if y == 0.0:
        return 0.0
    return y * _power(x, y - 1.0)


def _dpow_dexponent(x: float, y: float, out: float) -> float:
    """d(x**y)/dy = x**y * ln x; at x == 0 it is 0 (for y > 0), and NaN for x < 0, as PyTorch."""
    if x > 0.0:
        return out * math.log(x)
    if x == 0.0:
        return 0.0
    return math.nan
