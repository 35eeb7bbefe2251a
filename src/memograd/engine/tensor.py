"""Tensor: a NumPy array that records the ops applied to it, for reverse-mode differentiation.

``.data`` is the ndarray itself; ``.grad`` is an ndarray of the same shape, or None until a
backward pass reaches the tensor. The dtype of the array is kept: float32 stays float32 end to
end, and Python numbers or integer arrays mixed in take the float tensor's dtype instead of
upcasting it.

**Copy or share.** ``Tensor(array)`` and :func:`tensor` copy the array (as ``torch.tensor``
does), so a later change to the caller's array cannot reach values the graph saved.
:func:`from_numpy` and :func:`as_tensor` share it (as ``torch.from_numpy`` does): no copy, and
the caller must not change the array while a graph that used it may still run backward.

**Version counters.** Each tensor's storage counts the writes made through memograd
(``x.data = ...``, ``x.data *= 10``, an optimizer's step); views made by ``reshape``,
``transpose``, indexing and ``detach`` share their base's counter, as in PyTorch. An op records
the versions of the arrays its VJPs will read (``Op.saves``) and backward checks them first, so
a saved array changed in place afterwards raises an error naming the op instead of giving a wrong
gradient. A write into the raw array behind memograd's back (``a = x.data; a[0] = 1``, or the
caller's array given to :func:`from_numpy`) cannot be seen, as in PyTorch.

The methods here only check and convert their arguments, then hand the arrays to an op of the
derivative table (``ops.py``) through :func:`_apply`, which builds the result node.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

from memograd.engine import display, graph, ops
from memograd.engine.graph import DEFAULT_MAX_PATHS, grad_mode
from memograd.engine.stats import BackwardStats

_new = object.__new__
_NO_VJPS: tuple = ()
# The tracer of a compiled step while one records its first run (engine/compiler/trace.py), else
# None: each hook below costs one global read when nothing is being traced.
_tracer: Any = None


class _VersionCounter:
    """How many times the storage behind a tensor (and its views) was written in place."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


def _checked_array(array: Any, requires_grad: bool, copy: bool) -> np.ndarray:
    """``array`` as a numeric ndarray (copied when ``copy``), or a TypeError saying why not."""
    if isinstance(array, Tensor):
        if _tracer is not None:
            _tracer.exported(array, "copy")
        array = array._data
    data = np.array(array, copy=True) if copy else np.asarray(array)
    if data.dtype == object or not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
        raise TypeError(f"Tensor: expected numeric data, got an array of dtype {data.dtype}")
    if requires_grad and not np.issubdtype(data.dtype, np.floating):
        raise TypeError(
            f"Tensor: requires_grad needs a floating dtype, got {data.dtype}; "
            "convert with .astype(np.float32) or np.float64 first"
        )
    return data


class Tensor:
    """An n-dimensional array node of the computation graph.

    ``requires_grad``: whether gradients flow into it (leaves you train set it; results get it
    when any input has it and grad mode is on). ``parents``/``op``: the inputs and the name of the
    op that made it (``()`` and ``""`` for leaves).
    """

    __slots__ = (
        "_data",  # the ndarray (``data``: writing through the property counts a version)
        "grad",
        "requires_grad",
        "parents",
        "_row",  # the op's row of the derivative table (ops.Op); ``op`` is its name
        "_vjps",  # the row's VJPs (a slot: read once per node in every backward pass)
        "_ctx",  # what the rules need beyond inputs and output
        "_keeps_grad",  # True for leaves: only they keep .grad (intermediates' adjoints are freed)
        "_counter",  # the storage's _VersionCounter, made on the first write (None: version 0)
        "_saved_versions",  # versions of the arrays the row saves, when the op ran (None: all 0)
        "__weakref__",
    )

    _SCALAR = False
    # NumPy defers to our reflected operators: ``array * tensor`` is a Tensor, not an object array.
    __array_ufunc__ = None

    def __init__(self, array: Any, requires_grad: bool = False) -> None:
        """A leaf holding a copy of ``array`` (use :func:`from_numpy` to share it instead)."""
        _build(self, _checked_array(array, requires_grad, copy=True), requires_grad=requires_grad)

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool) -> Tensor:
        """A leaf around an already checked array, without copying it."""
        return _build(_new(cls), data, requires_grad=bool(requires_grad))

    # ---- the array and its version -----------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The ndarray. Assigning (``x.data = a``, ``x.data -= lr * g``) bumps the version."""
        if _tracer is not None:
            _tracer.exported(self, "data")
        return self._data

    @data.setter
    def data(self, array: np.ndarray) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"Tensor.data must be a NumPy array, got {type(array).__name__}; "
                "wrap it with np.asarray first"
            )
        if _tracer is not None:
            _tracer.written(self)
        self._data = array
        counter = self._counter  # bump_version, inlined: an optimizer step passes here per param
        if counter is None:
            counter = self._counter = _VersionCounter()
        counter.count += 1

    @property
    def op(self) -> str:
        """The name of the op that made this tensor (``""`` for a leaf)."""
        return self._row.name

    @property
    def _version(self) -> int:
        """Writes made in place to this tensor's storage so far (PyTorch's ``t._version``)."""
        counter = self._counter
        return 0 if counter is None else counter.count

    # ---- plain array properties --------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor")
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data array (not a copy)."""
        if _tracer is not None:
            _tracer.exported(self, "numpy")
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(tensor)`` gives the data (the graph is not part of it)."""
        if _tracer is not None:
            _tracer.exported(self, "array")
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def item(self) -> float:
        if _tracer is not None:
            _tracer.exported(self, "item")
        if self.data.size != 1:
            raise ValueError(
                f"item: the tensor has shape {self.data.shape} ({self.data.size} elements); "
                "expected exactly one element"
            )
        return self.data.item()

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", threshold=20, prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.data.dtype}{grad})"

    def _repr_svg_(self) -> str | None:  # Jupyter shows the graph (see engine/display.py)
        return display.svg_of(self)

    # ---- arithmetic --------------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        return _binary(ops.ADD, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _binary(ops.ADD, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _binary(ops.SUB, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(ops.SUB, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _binary(ops.MUL, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(ops.MUL, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _binary(ops.DIV, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(ops.DIV, other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _binary(ops.POW, self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _binary(ops.POW, other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _binary(ops.MATMUL, self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _binary(ops.MATMUL, other, self)

    def __neg__(self) -> Tensor:
        return _apply(ops.NEG, (self,), None)

    # ---- elementwise functions ---------------------------------------------------------------

    def exp(self) -> Tensor:
        return _apply(ops.EXP, (self,), None)

    def log(self) -> Tensor:
        return _apply(ops.LOG, (self,), None)

    def tanh(self) -> Tensor:
        return _apply(ops.TANH, (self,), None)

    def relu(self) -> Tensor:
        return _apply(ops.RELU, (self,), None)

    def sigmoid(self) -> Tensor:
        return _apply(ops.SIGMOID, (self,), None)

    def sqrt(self) -> Tensor:
        return _apply(ops.SQRT, (self,), None)

    def abs(self) -> Tensor:
        return _apply(ops.ABS, (self,), None)

    __abs__ = abs

    def sin(self) -> Tensor:
        return _apply(ops.SIN, (self,), None)

    def cos(self) -> Tensor:
        return _apply(ops.COS, (self,), None)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """x where x > 0, else ``negative_slope * x``."""
        return _apply(ops.LEAKY_RELU, (self,), _number(negative_slope, "leaky_relu"))

    def gelu(self) -> Tensor:
        """GELU in PyTorch's ``approximate="tanh"`` form."""
        return _apply(ops.GELU, (self,), None)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``, computed with the max subtracted (no overflow)."""
        return _apply(ops.SOFTMAX, (self,), _one_axis(self, axis, "softmax"))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along ``axis``: finite for logits of any size."""
        return _apply(ops.LOG_SOFTMAX, (self,), _one_axis(self, axis, "log_softmax"))

    # ---- comparisons: boolean tensors that no gradient flows through ----------------------------

    def _compare(self, other: Any, compare: Any) -> Tensor:
        out = Tensor._wrap(
            np.asarray(compare(self._data, other._data if isinstance(other, Tensor) else other)),
            False,
        )
        if _tracer is not None:
            _tracer.compared(compare, self, other, out)
        return out

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    # Hashable by identity, as PyTorch's tensors: the engine keys its tables by node.
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if _tracer is not None:
            _tracer.exported(self, "bool")
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all() on its .data"
            )
        return bool(self._data)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """Limit entries to [min, max]; the gradient passes where min <= x <= max."""
        if min is None and max is None:
            raise ValueError("clip: give at least one of min and max")
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and not isinstance(bound, Number):
                raise TypeError(
                    f"clip: {name} must be a number or None, got {type(bound).__name__}"
                )
        if min is not None and max is not None and min > max:
            raise ValueError(f"clip: min ({min}) is greater than max ({max})")
        return _apply(ops.CLIP, (self,), (min, max))

    # ---- reductions --------------------------------------------------------------------------

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce(ops.SUM, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce(ops.MEAN, axis, keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce(ops.MAX, axis, keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce(ops.MIN, axis, keepdims)

    def logsumexp(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
    ) -> Tensor:
        return self._reduce(ops.LOGSUMEXP, axis, keepdims)

    def _reduce(self, op: ops.Op, axis: Any, keepdims: bool) -> Tensor:
        axes = ops.normalize_axes(axis, self.data.ndim, op.name)
        return _apply(op, (self,), (axes, bool(keepdims)))

    # ---- shape -------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return _apply(ops.RESHAPE, (self,), _checked_reshape(self.data.shape, shape))

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        ndim = self.data.ndim
        if not axes:
            axes = tuple(range(ndim - 1, -1, -1))
        elif (
            sorted(a % ndim if ndim else a for a in axes) != list(range(ndim)) or len(axes) != ndim
        ):
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {ndim} axes of a tensor "
                f"of shape {self.data.shape}"
            )
        return _apply(ops.TRANSPOSE, (self,), tuple(a % ndim for a in axes))

    @property
    def T(self) -> Tensor:
        """All axes reversed (NumPy's ``.T``): the matrix transpose for 2-D tensors."""
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        return _apply(ops.GETITEM, (self,), _plain_index(index, self.data.shape))

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """This tensor stretched to ``shape`` by NumPy's broadcasting rules (a view)."""
        shape = tuple(shape)
        try:
            np.broadcast_shapes(self._data.shape, shape)
            if (
                len(shape) < self._data.ndim
                or np.broadcast_shapes(self._data.shape, shape) != shape
            ):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"broadcast_to: a tensor of shape {self._data.shape} cannot be broadcast to {shape}"
            ) from None
        return _apply(ops.BROADCAST_TO, (self,), shape)

    # ---- what the table's rules call when they run on Tensors (create_graph, forward mode) ---

    def _scatter(self, shape: tuple[int, ...], index: Any) -> Tensor:
        return _apply(ops.SCATTER, (self,), (shape, index))

    @staticmethod
    def _where(condition: Any, x: Any, y: Any) -> Tensor:
        return where(np.asarray(condition, dtype=bool), x, y)

    @staticmethod
    def _join(parts: list[Any], axis: int, new_axis: bool) -> Tensor:
        return stack(parts, axis) if new_axis else concat(parts, axis)

    # ---- graph -------------------------------------------------------------------------------

    def detach(self) -> Tensor:
        """The same data (not copied, same version counter) as a leaf that gets no gradient."""
        out = Tensor._wrap(self._data, False)
        out._counter = _shared_counter(self)
        return out

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf and return the tensor (PyTorch's method)."""
        if self.parents:
            raise RuntimeError(
                f"requires_grad_: only a leaf's flag can be set, and this tensor is the result of "
                f"{self.op!r} (use .detach() for a leaf with the same values)"
            )
        if requires_grad and not np.issubdtype(self._data.dtype, np.floating):
            raise TypeError(
                f"requires_grad_: only floating tensors can require grad, got {self._data.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (the next backward assigns a fresh one)."""
        self.grad = None

    def backward(
        self,
        gradient: Any = None,
        *,
        strategy: str = "sweep",
        stats: bool = False,
        max_paths: int = DEFAULT_MAX_PATHS,
        create_graph: bool = False,
        retain_graph: bool | None = None,
    ) -> BackwardStats | None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient``: the seed dL/dself; may be omitted only for a one-element tensor (then 1).
        ``strategy``: ``"sweep"`` (default), ``"memo"`` or ``"naive"``; same gradients, different
        work, returned as a :class:`BackwardStats` when ``stats=True``. A strategy name may also
        be given as the first positional argument: ``loss.backward("memo")``.
        ``create_graph``: the gradients are Tensors with a graph of their own, so they can be
        differentiated again. ``retain_graph`` (default ``create_graph``): keep this graph's
        saved values for another backward pass through it; without it, a second pass raises.
        """
        if isinstance(gradient, str):
            gradient, strategy = None, gradient
        if _tracer is not None:
            return _tracer.backward(self, gradient, strategy, stats, create_graph, retain_graph)
        return graph.backward(
            self,
            self._seed(gradient, create_graph),
            strategy,
            stats=stats,
            max_paths=max_paths,
            create_graph=create_graph,
            retain_graph=retain_graph,
        )

    def _seed(self, gradient: Any, create_graph: bool = False) -> Any:
        """dL/dself to start a backward pass from: ones for a one-element tensor, else checked."""
        if gradient is None:
            if self._data.size != 1:
                raise ValueError(
                    f"backward: the tensor has shape {self._data.shape}; a seed gradient is "
                    "needed for a non-scalar output (pass gradient= of the same shape, or "
                    "reduce first, e.g. .sum())"
                )
            seed = np.ones(self._data.shape, self._data.dtype)
        elif isinstance(gradient, Tensor) and create_graph:
            seed = gradient
        else:
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient)
            if seed.shape != self._data.shape:
                raise ValueError(
                    f"backward: gradient has shape {seed.shape}, expected {self._data.shape}"
                )
            seed = seed.astype(self._data.dtype)  # a copy: the engine may pass it on to a leaf
        return from_numpy(seed) if create_graph and isinstance(seed, np.ndarray) else seed

    def _push_tangent(self, incoming: tuple[Any, ...]) -> Any:
        """This node's tangent from its inputs' (forward mode): the row's JVP."""
        if self._vjps is graph.FREED:
            raise RuntimeError(
                f"forward mode: the graph through {self.op!r} was freed by a backward pass; "
                "pass retain_graph=True to that backward() to keep it"
            )
        on_arrays = all(t is None or isinstance(t, np.ndarray | np.generic) for t in incoming)
        return self._row.jvp(self if on_arrays else graph._AsGraph(self), incoming)

    def _graph_vjps(self) -> tuple[Any, ...]:  # Tensor rules serve create_graph as they are
        return self._vjps

    def _check_saved(self) -> None:
        """Raise if an array this node's op saved was written in place since the op ran.

        Called by the backward strategies before this node's VJPs run.
        """
        saved = self._saved_versions
        parents = self.parents
        for k, position in enumerate(self._row.saves):
            counter = (self if position < 0 else parents[position])._counter
            now = 0 if counter is None else counter.count
            then = 0 if saved is None else saved[k]
            if now != then:
                what = "the output" if position == ops.OUTPUT else f"input {position}"
                shape = _saved_tensor(self, position)._data.shape
                raise InPlaceModificationError(
                    f"backward: {what} of {self.op!r} (shape {shape}) was modified in place after "
                    f"{self.op!r} saved it for the backward pass (version {now}, saved at {then}), "
                    "so its gradient would be wrong; run the forward pass again after the change, "
                    "or change a copy (Tensor(t.data) copies)"
                )

    @staticmethod
    def _deliver_grads(pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        """Add each leaf's adjoint to its ``grad``.

        The first gradient is assigned without a copy (the common training step: zero_grad,
        backward, step), except when it is a read-only broadcast view, has the wrong dtype, or is
        the same buffer another leaf receives (``x + y`` hands ``g`` to both): then it is copied,
        so that an in-place update of one ``.grad`` never changes another.
        """
        owners: set[int] = set()
        for node, adjoint in pairs:
            data = node._data
            if adjoint.dtype != data.dtype:
                adjoint = adjoint.astype(data.dtype)
            owner = adjoint if adjoint.base is None else adjoint.base
            if not adjoint.flags.writeable or id(owner) in owners:
                adjoint = adjoint.copy()
            else:
                owners.add(id(owner))
            if adjoint.shape != data.shape:  # a 0-d result of a full reduction
                adjoint = adjoint.reshape(data.shape)
            node.grad = adjoint if node.grad is None else node.grad + adjoint


# --------------------------------------------------------------------------------------------
# Building result nodes
# --------------------------------------------------------------------------------------------


_LEAF = ops.Op("", None, _NO_VJPS)  # what a leaf's fields say: no op, no VJPs, nothing saved


def _build(
    t: Tensor,
    data: np.ndarray,
    op: ops.Op = _LEAF,
    parents: tuple[Tensor, ...] = (),
    ctx: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Set every field of ``t``: the one place that knows a Tensor's slots.

    Leaves (no parents) keep their ``.grad``; op results do not (their adjoints are freed
    during the sweep), as in PyTorch.
    """
    t._data = data
    t.grad = None
    t.requires_grad = requires_grad
    t.parents = parents
    t._row = op
    t._vjps = op.vjps
    t._ctx = ctx
    t._keeps_grad = not parents
    t._counter = None
    t._saved_versions = None
    return t


def _apply(op: ops.Op, parents: tuple[Tensor, ...], params: Any) -> Tensor:
    """Run ``op`` forward on the parents' arrays and wrap the result as a graph node.

    The node records its parents only when grad mode is on and some parent requires grad;
    otherwise it is a constant, and holds no reference to its inputs.
    """
    if len(parents) == 1:  # the common arities spelled out: no list built per op
        data, ctx = op.forward(parents[0]._data, params)
    elif len(parents) == 2:
        data, ctx = op.forward(parents[0]._data, parents[1]._data, params)
    else:
        data, ctx = op.forward(*[p._data for p in parents], params)
    out = _new(Tensor)
    records = False
    if grad_mode.enabled:  # the op joins the graph when some parent requires grad
        for p in parents:
            if p.requires_grad:
                records = True
                break
    if records:
        _build(out, data, op, parents, ctx, True)
        if op.saves:
            _record_versions(out)
    else:
        _build(out, data)
    if op.view and _memory_root(data) is _memory_root(parents[0]._data):
        out._counter = _shared_counter(parents[0])  # a view: writes to either reach both
    if _tracer is not None:
        _tracer.op(op, parents, params, out)
    return out


# --------------------------------------------------------------------------------------------
# Version counters: in-place writes after an op saved an array make its backward raise
# --------------------------------------------------------------------------------------------


class InPlaceModificationError(RuntimeError):
    """An array that an op saved for its backward pass was changed in place afterwards."""


def _memory_root(array: np.ndarray) -> Any:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _shared_counter(t: Tensor) -> _VersionCounter:
    counter = t._counter
    if counter is None:
        counter = t._counter = _VersionCounter()
    return counter


def bump_version(t: Tensor) -> None:
    """Record one in-place write to ``t``'s storage (seen by ``t`` and every view of it)."""
    if _tracer is not None:  # a NumPy write out of the tracer's sight (not an optimizer's)
        _tracer.written_in_place(t)
    _shared_counter(t).count += 1


def _saved_tensor(node: Tensor, position: int) -> Tensor:
    return node if position == ops.OUTPUT else node.parents[position]


def _record_versions(node: Tensor) -> None:
    """Remember the versions of the arrays the node's VJPs will read (None while all are 0)."""
    saves = node._row.saves
    parents = node.parents
    versions = None
    for k, position in enumerate(saves):
        counter = (node if position < 0 else parents[position])._counter
        if counter is not None and counter.count:
            if versions is None:
                versions = [0] * len(saves)
            versions[k] = counter.count
    if versions is not None:
        node._saved_versions = tuple(versions)


def _binary(op: ops.Op, x: Any, y: Any) -> Tensor:
    """An elementwise binary op (or matmul): lift non-tensors, then apply with clear errors."""
    x, y = _lift_pair(x, y, op.name)
    try:
        return _apply(op, (x, y), None)
    except ValueError:
        if op is ops.MATMUL:
            raise
        try:
            np.broadcast_shapes(x.data.shape, y.data.shape)
        except ValueError:
            raise ValueError(
                f"{op.name}: operands of shapes {x.data.shape} and {y.data.shape} do not broadcast"
            ) from None
        raise


def _lift_pair(x: Any, y: Any, op_name: str) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a constant takes a float tensor's dtype instead of upcasting it.

    Python numbers, integer and boolean arrays adopt the floating dtype of the other operand
    (``float32_tensor * 2`` stays float32); two float arrays of different precision promote as
    NumPy does.
    """
    if not isinstance(x, Tensor):
        x = _constant(x, y._data.dtype, op_name)
    if not isinstance(y, Tensor):
        y = _constant(y, x._data.dtype, op_name)
    xd, yd = x._data.dtype, y._data.dtype
    if xd != yd:
        x_float, y_float = xd.kind == "f", yd.kind == "f"
        if x_float and not y_float:
            y = _build(_new(Tensor), y._data.astype(xd)) if not y.requires_grad else y
        elif y_float and not x_float:
            x = _build(_new(Tensor), x._data.astype(yd)) if not x.requires_grad else x
    return x, y


def _constant(value: Any, like: np.dtype, op_name: str) -> Tensor:
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, Number | list | tuple | np.generic):
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError(f"{op_name}: unsupported operand {value!r}")
    else:
        raise TypeError(
            f"{op_name}: unsupported operand type {type(value).__name__!r}; "
            "expected a Tensor, a NumPy array or a number"
        )
    if like.kind == "f" and (
        array.dtype.kind in "biu" or (array.dtype.kind == "f" and not isinstance(value, np.ndarray))
    ):
        array = array.astype(like)
    elif not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{op_name}: unsupported operand of dtype {array.dtype}")
    return _build(_new(Tensor), array)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf holding a copy of ``data`` (``torch.tensor``): later writes to it are not seen."""
    if _tracer is not None and isinstance(data, Tensor):
        _tracer.exported(data, "copy")
    array = np.array(data.data if isinstance(data, Tensor) else data, dtype=dtype, copy=True)
    return Tensor._wrap(_checked_array(array, requires_grad, copy=False), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A leaf sharing ``array``'s memory (``torch.from_numpy``): no copy.

    Writes into ``array`` are seen by the tensor and by any graph that saved it, and memograd
    cannot tell that they happened: do not change it while such a graph may still run backward.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return Tensor._wrap(_checked_array(array, False, copy=False), False)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a Tensor, sharing memory when it can (``torch.as_tensor``).

    A Tensor of the requested dtype is returned as it is; an ndarray of that dtype is shared as
    :func:`from_numpy` does; anything else (lists, numbers, another dtype) is converted.
    """
    if isinstance(data, Tensor):
        if dtype is None or data._data.dtype == np.dtype(dtype):
            return data
        data = data._data
    array = np.asarray(data, dtype=dtype)
    return Tensor._wrap(_checked_array(array, False, copy=False), False)


def _as_tensor(x: Any, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray | Number | list | tuple | np.generic):
        return _constant(x, np.asarray(x).dtype, name)
    raise TypeError(f"{name}: expected a Tensor or an array, got {type(x).__name__}")


def _checked_reshape(shape: tuple[int, ...], new_shape: Sequence[Any]) -> tuple[int, ...]:
    for n in new_shape:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"reshape: dimensions must be ints, got {tuple(new_shape)!r}")
    try:
        return np.empty(shape, dtype=np.bool_).reshape(tuple(new_shape)).shape
    except ValueError:
        size = int(np.prod(shape))
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {shape} ({size} elements) "
            f"into {tuple(new_shape)}"
        ) from None


def _plain_index(index: Any, shape: tuple[int, ...]) -> Any:
    """An index with Tensors and lists replaced by arrays, checked against ``shape`` up front."""

    def plain(i: Any) -> Any:
        if isinstance(i, Tensor):
            return i.data.copy()  # copies: backward scatters through the index it saved
        if isinstance(i, list | np.ndarray):
            return np.array(i)
        if isinstance(i, float):
            raise TypeError(f"getitem: indices must be integers, slices or arrays, got {i!r}")
        return i

    index = tuple(plain(i) for i in index) if isinstance(index, tuple) else plain(index)
    try:
        np.empty(shape, dtype=np.bool_)[index]
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor shape {shape})") from None
    return index


# --------------------------------------------------------------------------------------------
# Functions on several tensors
# --------------------------------------------------------------------------------------------


def _tensor_list(tensors: Sequence[Any], name: str) -> tuple[Tensor, ...]:
    if isinstance(tensors, Tensor | np.ndarray) or not isinstance(tensors, Sequence):
        raise TypeError(
            f"{name}: expected a list or tuple of tensors, got {type(tensors).__name__}"
        )
    if not tensors:
        raise ValueError(f"{name}: expected at least one tensor, got none")
    return tuple(_as_tensor(t, name) for t in tensors)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (NumPy's ``concatenate``)."""
    parts = _tensor_list(tensors, "concat")
    ndim = parts[0].data.ndim
    if ndim == 0:
        raise ValueError("concat: zero-dimensional tensors cannot be concatenated; use stack")
    (axis,) = ops.normalize_axes(axis, ndim, "concat")
    for t in parts[1:]:
        shape0, shape = parts[0].data.shape, t.data.shape
        if (
            len(shape) != ndim
            or shape[:axis] + shape[axis + 1 :] != shape0[:axis] + shape0[axis + 1 :]
        ):
            raise ValueError(f"concat: shapes {shape0} and {shape} differ outside axis {axis}")
    return _apply(ops.concat_op(len(parts)), parts, axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis."""
    parts = _tensor_list(tensors, "stack")
    shapes = {t.data.shape for t in parts}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    (axis,) = ops.normalize_axes(axis, parts[0].data.ndim + 1, "stack")
    return _apply(ops.stack_op(len(parts)), parts, axis)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``condition`` holds, else ``y`` (broadcast together); condition gets no grad."""
    # A copy: the backward pass reads the mask, so a later change to the caller's must not reach it.
    cond = np.array(condition.data if isinstance(condition, Tensor) else condition, copy=True)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be boolean, got dtype {cond.dtype}")
    x, y = _lift_pair(x, y, "where")
    try:
        np.broadcast_shapes(cond.shape, x.data.shape, y.data.shape)
    except ValueError:
        raise ValueError(
            f"where: condition {cond.shape}, x {x.data.shape} and y {y.data.shape} do not broadcast"
        ) from None
    return _apply(ops.WHERE, (x, y), cond)


def _one_axis(x: Tensor, axis: int, name: str) -> int:
    (axis,) = ops.normalize_axes(axis, x.data.ndim, name)
    return axis


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, computed with the max subtracted (no overflow)."""
    return _as_tensor(x, "softmax").softmax(axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``: finite for logits of any size."""
    return _as_tensor(x, "log_softmax").log_softmax(axis)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Number):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def logsumexp(
    x: Tensor, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Tensor:
    """log(sum(exp(x))) over ``axis``, with the max factored out so that it never overflows."""
    return _as_tensor(x, "logsumexp").logsumexp(axis, keepdims)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight + bias`` as one node; ``weight`` has shape (in_features, out_features).

    This is the notes' indexing: ``weight[i, j]`` is W^k_ij, from unit i of the previous layer to
    unit j of this one. ``x`` is (in_features,) or (..., in_features); ``bias`` is (out_features,).
    """
    x, weight = _as_tensor(x, "linear"), _as_tensor(weight, "linear")
    w_shape, x_shape = weight.data.shape, x.data.shape
    if len(w_shape) != 2:
        raise ValueError(f"linear: weight must be 2-D (in_features, out_features), got {w_shape}")
    if not x_shape or x_shape[-1] != w_shape[0]:
        raise ValueError(
            f"linear: input of shape {x_shape} does not match weight of shape {w_shape} "
            f"(expected last input dimension {w_shape[0]})"
        )
    if bias is None:
        return _apply(ops.LINEAR, (x, weight), None)
    bias = _as_tensor(bias, "linear")
    if bias.data.shape != (w_shape[1],):
        raise ValueError(
            f"linear: bias must have shape ({w_shape[1]},) for weight {w_shape}, "
            f"got {bias.data.shape}"
        )
    return _apply(ops.LINEAR, (x, weight, bias), None)


REDUCTIONS = ("mean", "sum", "none")
"""How a loss turns per-element losses into its result (every loss in memograd takes these)."""


def check_reduction(reduction: Any, name: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{name}: reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}"
        )


def cross_entropy(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or per-row) negative log-likelihood of integer class ``targets``.

    Fused log-softmax + NLL: the gradient with respect to the logits is (softmax - onehot) / N,
    computed with the row maximum subtracted, so logits of +-1e4 give a finite loss.
    ``logits``: (N, C) with ``targets`` (N,) (or (N, 1)), or (C,) with a single target. Targets
    are integer class indices (floats are refused, as PyTorch refuses them: a float target there
    means class probabilities); the first bad one is named by its row.
    """
    logits = _as_tensor(logits, "cross_entropy")
    check_reduction(reduction, "cross_entropy")
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    shape = logits._data.shape
    if len(shape) not in (1, 2):
        raise ValueError(f"cross_entropy: logits must be (N, C) or (C,), got shape {shape}")
    if len(shape) == 2 and t.shape == (shape[0], 1):
        t = t[:, 0]
    if t.dtype == object or t.dtype.kind not in "iufb":
        raise TypeError(f"cross_entropy: targets must be numbers, got dtype {t.dtype}")
    if t.shape != shape[:-1]:
        count = f"{t.shape[0]} targets" if t.ndim else "a single target"
        rows = f"{shape[0]} rows of logits" if len(shape) == 2 else "one row of logits"
        raise ValueError(
            f"cross_entropy: {count} for {rows}: targets of shape {t.shape} do not match "
            f"logits of shape {shape} (expected {shape[:-1]})"
        )
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: targets must be integer class indices, got dtype {t.dtype} "
            "(convert class labels with .astype(int))"
        )
    classes = shape[-1]
    # One reduction checks both bounds: viewed as unsigned, a negative index is huge.
    unsigned = t if t.dtype.kind == "u" else t.view(f"u{t.dtype.itemsize}")
    if t.size and unsigned.max() >= classes:
        row = tuple(int(i) for i in np.argwhere((t < 0) | (t >= classes))[0])
        raise ValueError(
            f"cross_entropy: targets{list(row)} = {int(t[row])} is not a class index for "
            f"{classes} classes (0..{classes - 1})"
        )
    return _apply(ops.CROSS_ENTROPY, (logits,), (t.astype(np.intp, copy=False), reduction))
