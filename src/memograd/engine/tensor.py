"""Tensor: a NumPy array that records the ops applied to it, for reverse-mode differentiation.

``.data`` is the ndarray itself; ``.grad`` is a NumPy array of the same shape (a
:class:`GradArray`, which also has PyTorch's ``zero_()``), or None until a backward pass reaches
the tensor. The dtype of the array is kept: float32 stays float32 end to end, and Python numbers
or integer arrays mixed in take the float tensor's dtype instead of upcasting it.

The surface is PyTorch's where PyTorch and NumPy differ (``transpose(0, 1)`` swaps two dims,
``max(dim)`` returns values and indices, ``var`` is unbiased, ``size()`` is the shape) and takes
NumPy's spellings too where they mean the same (``axis=``/``keepdims=`` beside
``dim=``/``keepdim=``); docs/pytorch.md lists every difference that remains, with its reason.

**Copy or share.** ``Tensor(array)`` and :func:`tensor` copy the array (as ``torch.tensor``
does), so a later change to the caller's array cannot reach values the graph saved.
:func:`from_numpy` and :func:`as_tensor` share it (as ``torch.from_numpy`` does): no copy, and
the caller must not change the array while a graph that used it may still run backward.

**Version counters.** Each tensor's storage counts the writes made through memograd
(``x.data = ...``, ``x.data *= 10``, an in-place op, an optimizer's step); views made by
``reshape``, ``transpose``, indexing and ``detach`` share their base's counter, as in PyTorch. An
op records the versions of the arrays its VJPs will read (``Op.saves``) and backward checks them
first, so a saved array changed in place afterwards raises an error naming the op instead of
giving a wrong gradient. A write into the raw array behind memograd's back (``a = x.data;
a[0] = 1``, or the caller's array given to :func:`from_numpy`) cannot be seen, as in PyTorch.

**In-place ops** (``+= -= *= /=``, ``add_``... ``x[i] = v``) follow PyTorch's rules. When
nothing they touch takes part in the graph (under ``no_grad``, or on constants) they write into
the array and bump its version: a leaf that requires grad stays that leaf. A leaf that requires
grad is refused outside ``no_grad``, with PyTorch's reason. Otherwise the write is recorded, as
PyTorch records it: the tensor becomes the result of the op applied to its old value (an inner
node takes the old value's place in the graph), and its memory is written. In memograd a tensor
*is* its graph node (there is no separate ``grad_fn``), so ops that used the tensor before the
write would see the new node in their place; such a write is refused instead (as is a write
through a view of a graph tensor), with the out-of-place spelling that does the same thing.

The methods here only check and convert their arguments, then hand the arrays to an op of the
derivative table (``ops.py``) through :func:`_apply`, which builds the result node.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from numbers import Number
from typing import Any, NamedTuple

import numpy as np

import memograd.seeding as seeding
from memograd.engine import arguments, display, dtypes, graph, ops
from memograd.engine.graph import DEFAULT_MAX_PATHS, grad_mode
from memograd.engine.stats import BackwardStats

_new = object.__new__
_NO_VJPS: tuple = ()
# The tracer of a compiled step while one records its first run (engine/compiler/trace.py), else
# None: each hook below costs one global read when nothing is being traced.
_tracer: Any = None


def _told_to_tracer(write: Callable[..., Any], spelling: str) -> Callable[..., Any]:
    """``write`` (an ndarray method that changes the array) that first tells a running trace."""

    def method(self: np.ndarray, *args: Any) -> Any:
        if _tracer is not None:
            _tracer.grad_written(spelling)
        return write(self, *args)

    method.__name__ = write.__name__
    return method


class GradArray(np.ndarray):
    """A leaf's gradient: a NumPy array in every respect, plus PyTorch's ``zero_()``.

    ``.grad`` stays a NumPy array (optimizers and ``p.data -= lr * p.grad`` read it at NumPy's
    speed), and ``p.grad.zero_()`` works as PyTorch code writes it. Arithmetic on a gradient gives
    plain arrays, so the subclass does not spread.
    """

    def zero_(self) -> GradArray:
        """Set every entry to 0 in place (PyTorch's ``p.grad.zero_()``); returns the array."""
        if _tracer is not None:
            _tracer.grad_written("p.grad.zero_()")
        np.ndarray.__setitem__(self, Ellipsis, 0)
        return self

    # Python's ways of writing into a gradient: a compiled step's trace is told (it refuses
    # them, as its plan could not replay them); one global read each when nothing is traced.
    fill = _told_to_tracer(np.ndarray.fill, "p.grad.fill(...)")
    __setitem__ = _told_to_tracer(np.ndarray.__setitem__, "p.grad[...] = ...")
    __iadd__ = _told_to_tracer(np.ndarray.__iadd__, "p.grad += ...")
    __isub__ = _told_to_tracer(np.ndarray.__isub__, "p.grad -= ...")
    __imul__ = _told_to_tracer(np.ndarray.__imul__, "p.grad *= ...")
    __itruediv__ = _told_to_tracer(np.ndarray.__itruediv__, "p.grad /= ...")

    @property
    def data(self) -> GradArray:  # type: ignore[override]
        """The gradient itself, as PyTorch's ``p.grad.data`` (older code writes
        ``p.grad.data.zero_()`` and ``p.data -= lr * p.grad.data``), not NumPy's raw buffer."""
        return self

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool = False) -> Any:
        return array[()] if return_scalar else array


class _SizeOf(int):
    """``t.size``: NumPy's element count, an int; called, PyTorch's ``size()`` (the shape, a
    tuple) or ``size(dim)`` (that dim's length). Both habits work and neither can misread."""

    shape: tuple[int, ...]

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        return self.shape[arguments.single_dim("size", dim, len(self.shape))]


class ValuesIndices(NamedTuple):
    """What ``max(dim)``/``min(dim)`` return, as PyTorch's ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor


class _VersionCounter:
    """How many times the storage behind a tensor (and its views) was written in place."""

    __slots__ = ("count",)

    def __init__(self, count: int = 0) -> None:
        self.count = count


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
        "_consumed",  # set (True) once a recorded op took this tensor as an input
        "__weakref__",
    )

    _SCALAR = False
    # NumPy defers to our reflected operators: ``array * tensor`` is a Tensor, not an object array.
    __array_ufunc__ = None

    def __init__(self, array: Any, requires_grad: bool = False) -> None:
        """A leaf holding a copy of ``array`` (use :func:`from_numpy` to share it instead)."""
        if not isinstance(requires_grad, bool | np.bool_):
            raise TypeError(
                f"Tensor(array, requires_grad): requires_grad must be True or False, got "
                f"{requires_grad!r}; for an uninitialised tensor of a shape (torch's "
                "Tensor(3, 4)) write mg.empty(3, 4)"
            )
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
    def is_leaf(self) -> bool:
        """True for a tensor no recorded op made (PyTorch's ``is_leaf``)."""
        return not self.parents

    @property
    def _version(self) -> int:
        """Writes made in place to this tensor's storage so far (PyTorch's ``t._version``)."""
        counter = self._counter
        return 0 if counter is None else counter.count

    # ---- plain array properties --------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> _SizeOf:
        """The number of elements (an int, as NumPy's ``size``); ``t.size()`` is the shape and
        ``t.size(dim)`` one dim's length, as in PyTorch."""
        count = _SizeOf(self._data.size)
        count.shape = self._data.shape
        return count

    @property
    def device(self) -> str:
        """Always ``"cpu"``: memograd computes with NumPy on the CPU."""
        return "cpu"

    def numel(self) -> int:
        """The number of elements."""
        return int(self._data.size)

    def dim(self) -> int:
        """The number of dimensions (``ndim``)."""
        return self._data.ndim

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        """The tensor's rows (``self[0]``, ``self[1]``...), each a view in the graph."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def numpy(self) -> np.ndarray:
        """The data array (not a copy: it shares memory, as PyTorch's ``numpy()`` does)."""
        if _tracer is not None:
            _tracer.exported(self, "numpy")
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(tensor)`` gives the data (the graph is not part of it)."""
        if _tracer is not None:
            _tracer.exported(self, "array")
        data = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def item(self) -> Any:
        """The one element as a Python number."""
        if _tracer is not None:
            _tracer.exported(self, "item")
        if self._data.size != 1:
            raise ValueError(
                f"item: the tensor has shape {self._data.shape} ({self._data.size} elements); "
                "expected exactly one element"
            )
        return self._data.item()

    def tolist(self) -> Any:
        """The values as (nested lists of) Python numbers."""
        if _tracer is not None:
            _tracer.exported(self, "tolist")
        return self._data.tolist()

    def __float__(self) -> float:
        if _tracer is not None:
            _tracer.exported(self, "float")
        return float(self.item())

    def __int__(self) -> int:
        if _tracer is not None:
            _tracer.exported(self, "int")
        return int(self.item())

    def __index__(self) -> int:
        if _tracer is not None:
            _tracer.exported(self, "index")
        if self._data.dtype.kind not in "iub":
            raise TypeError(
                f"only integer tensors of a single element can be used as an index, "
                f"got dtype {self._data.dtype}"
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's number, as PyTorch does."""
        if _tracer is not None:
            _tracer.exported(self, "format")
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", threshold=20, prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self._data.dtype}{grad})"

    def _repr_svg_(self) -> str | None:  # Jupyter shows the graph (see engine/display.py)
        return display.svg_of(self)

    # ---- dtype and device --------------------------------------------------------------------

    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(other_tensor)`` (its dtype), as PyTorch's.

        A cast between floating dtypes is differentiable (the gradient is cast back); a cast to
        an integer or boolean dtype gives a constant. The same dtype returns this very tensor
        (or a copy with ``copy=True``). The only device is the CPU.
        """
        target = dtype
        for arg in args:
            if isinstance(arg, Tensor):
                target = arg._data.dtype
            elif _is_device(arg):
                device = arg
            else:
                target = arg
        if device is not None:
            _check_device(device, "to")
        out = self if target is None else self._cast(dtypes.resolve_dtype(target, "to"))
        return out.clone() if copy and out is self else out

    def astype(self, dtype: Any) -> Tensor:
        """NumPy's spelling of ``to(dtype)`` (the derivative table's rules call it)."""
        return self._cast(dtypes.resolve_dtype(dtype, "astype"))

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype."""
        return self._cast(other._data.dtype)

    def float(self) -> Tensor:
        """float32 (PyTorch's ``float``)."""
        return self._cast(dtypes.float32)

    def double(self) -> Tensor:
        """float64."""
        return self._cast(dtypes.float64)

    def half(self) -> Tensor:
        """float16."""
        return self._cast(dtypes.float16)

    def long(self) -> Tensor:
        """int64 (a constant: no gradient flows through integers)."""
        return self._cast(dtypes.int64)

    def int(self) -> Tensor:
        """int32 (a constant)."""
        return self._cast(dtypes.int32)

    def bool(self) -> Tensor:
        """bool (a constant)."""
        return self._cast(dtypes.bool_)

    def _cast(self, dtype: np.dtype) -> Tensor:
        if dtype == self._data.dtype:
            return self
        if dtypes.is_floating(dtype):
            return _apply(ops.CAST, (self,), dtype)
        out = Tensor._wrap(self._data.astype(dtype), False)
        if _tracer is not None:
            _tracer.derived("cast", _astype, (self,), dtype, out)
        return out

    def cpu(self) -> Tensor:
        """This tensor (memograd's tensors live on the CPU)."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        """Refused: memograd computes with NumPy on the CPU."""
        _check_device("cuda", "cuda")
        return self

    def clone(self) -> Tensor:
        """A copy in new memory that stays in the graph (the gradient passes through)."""
        return _apply(ops.CLONE, (self,), None)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in C order, else a C-ordered copy (as PyTorch)."""
        return self if self._data.flags.c_contiguous else self.clone()

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

    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        """``self + alpha * other``."""
        return _binary(ops.ADD, self, _scaled(other, alpha, "add"))

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        """``self - alpha * other``."""
        return _binary(ops.SUB, self, _scaled(other, alpha, "sub"))

    def mul(self, other: Any) -> Tensor:
        return _binary(ops.MUL, self, other)

    def div(self, other: Any) -> Tensor:
        return _binary(ops.DIV, self, other)

    def neg(self) -> Tensor:
        return _apply(ops.NEG, (self,), None)

    def pow(self, exponent: Any) -> Tensor:
        """``self ** exponent`` (a number or a tensor)."""
        return _binary(ops.POW, self, exponent)

    def matmul(self, other: Any) -> Tensor:
        """``self @ other``: 1-D, 2-D and batched, as NumPy's and PyTorch's matmul."""
        return _binary(ops.MATMUL, self, other)

    def mm(self, other: Any) -> Tensor:
        """The product of two matrices (both 2-D, as PyTorch's ``mm`` requires)."""
        other = _as_tensor(other, "mm")
        if self._data.ndim != 2 or other._data.ndim != 2:
            raise ValueError(
                f"mm: both operands must be 2-D matrices, got shapes {self._data.shape} and "
                f"{other._data.shape} (matmul takes other shapes)"
            )
        return _binary(ops.MATMUL, self, other)

    def bmm(self, other: Any) -> Tensor:
        """Batched matrix product of (b, n, k) and (b, k, m) tensors (same b, no broadcasting)."""
        other = _as_tensor(other, "bmm")
        a, b = self._data.shape, other._data.shape
        if len(a) != 3 or len(b) != 3 or a[0] != b[0]:
            raise ValueError(
                f"bmm: expected (b, n, k) and (b, k, m) tensors with the same b, got shapes "
                f"{a} and {b}"
            )
        return _binary(ops.MATMUL, self, other)

    # ---- in place: PyTorch's rules (see the module docstring) ----------------------------------

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        """``self += alpha * other`` in place; returns self."""
        return _in_place_binary(self, ops.ADD, np.add, _scaled(other, alpha, "add_"), "add_")

    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        """``self -= alpha * other`` in place; returns self."""
        return _in_place_binary(self, ops.SUB, np.subtract, _scaled(other, alpha, "sub_"), "sub_")

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place; returns self."""
        return _in_place_binary(self, ops.MUL, np.multiply, other, "mul_")

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place; returns self."""
        return _in_place_binary(self, ops.DIV, np.true_divide, other, "div_")

    def zero_(self) -> Tensor:
        """Set every entry to 0 in place; returns self."""
        return self.fill_(0, _name="zero_")

    def fill_(self, value: Any, _name: str = "fill_") -> Tensor:
        """Set every entry to ``value`` (a number or a one-element tensor) in place."""
        if isinstance(value, Tensor) and value._data.size != 1:
            raise ValueError(f"fill_: expected a number or a one-element tensor, got {value.shape}")
        everywhere = np.ones((), dtype=bool)
        return _in_place(
            self,
            _name,
            (value,),
            lambda data: data.__setitem__(Ellipsis, _raw(value)),
            lambda old: where(
                everywhere, value.reshape(()) if isinstance(value, Tensor) else value, old
            ),
        )

    def copy_(self, source: Any) -> Tensor:
        """Copy ``source``'s values (broadcast to this shape, cast to this dtype) in place."""
        return _in_place(
            self,
            "copy_",
            (source,),
            lambda data: np.copyto(data, _raw(source), casting="unsafe"),
            lambda old: where(np.ones((), dtype=bool), source, old),
        )

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Limit entries to [min, max] in place; returns self."""
        lo, hi = _clamp_bounds(min, max, "clamp_")
        return _in_place(
            self,
            "clamp_",
            (lo, hi),
            lambda data: np.clip(data, _raw(lo), _raw(hi), out=data),
            lambda old: old.clamp(lo, hi),
        )

    clip_ = clamp_

    def relu_(self) -> Tensor:
        """max(x, 0) in place (PyTorch's ``relu_``, what ``inplace=True`` layers do)."""
        return _in_place(
            self,
            "relu_",
            (),
            lambda data: np.maximum(data, 0, out=data),
            lambda old: old.relu(),
        )

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with draws from U[from_, to) in place, from the ``manual_seed`` generator (or
        ``generator``: a ``numpy.random.Generator`` or an int seed)."""
        if not from_ <= to:
            raise ValueError(f"uniform_: expected from_ <= to, got from_={from_}, to={to}")
        return self._fill_drawn(
            "uniform_", lambda rng, shape: rng.uniform(from_, to, shape), generator
        )

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with draws from N(mean, std^2) in place (generators as :meth:`uniform_`)."""
        if not std >= 0:
            raise ValueError(f"normal_: expected std >= 0, got {std}")
        return self._fill_drawn(
            "normal_", lambda rng, shape: rng.normal(mean, std, shape), generator
        )

    def _fill_drawn(self, name: str, draw: Callable[..., np.ndarray], generator: Any) -> Tensor:
        if not dtypes.is_floating(self._data.dtype):
            raise TypeError(f"{name}: expected a floating tensor, got dtype {self._data.dtype}")
        values = draw(seeding.generator(generator), self._data.shape).astype(self._data.dtype)
        return _in_place(
            self,
            name,
            (),
            lambda data: data.__setitem__(Ellipsis, values),
            lambda old: where(np.ones((), dtype=bool), values, old),
        )

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """Set the entries where ``mask`` holds to ``value``, in place; returns self."""
        condition = _mask(mask, self._data.shape, "masked_fill_")
        return _in_place(
            self,
            "masked_fill_",
            (value,),
            lambda data: np.copyto(data, _raw(value), where=condition, casting="unsafe"),
            lambda old: where(condition, value, old),
        )

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in place, with the in-place rules; indices as ``__getitem__``."""
        index = _plain_index(index, self._data.shape, "setitem")
        _in_place(
            self,
            "setitem",
            (value,),
            lambda data: data.__setitem__(index, _raw(value)),
            lambda old: _put(old, index, value),
        )

    # ---- elementwise functions ---------------------------------------------------------------

    def exp(self) -> Tensor:
        return _apply(ops.EXP, (self,), None)

    def expm1(self) -> Tensor:
        """exp(x) - 1, accurate for x near 0."""
        return _apply(ops.EXPM1, (self,), None)

    def log(self) -> Tensor:
        return _apply(ops.LOG, (self,), None)

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for x near 0."""
        return _apply(ops.LOG1P, (self,), None)

    def tanh(self) -> Tensor:
        return _apply(ops.TANH, (self,), None)

    def relu(self) -> Tensor:
        return _apply(ops.RELU, (self,), None)

    def sigmoid(self) -> Tensor:
        return _apply(ops.SIGMOID, (self,), None)

    def sqrt(self) -> Tensor:
        return _apply(ops.SQRT, (self,), None)

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return _apply(ops.RSQRT, (self,), None)

    def abs(self) -> Tensor:
        return _apply(ops.ABS, (self,), None)

    __abs__ = abs

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of each entry (its gradient is 0)."""
        return _apply(ops.SIGN, (self,), None)

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

    def softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """exp(x) / sum(exp(x)) along ``dim`` (default: the last), with the max subtracted."""
        return _apply(ops.SOFTMAX, (self,), _one_axis(self, dim, axis, "softmax"))

    def log_softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """x - logsumexp(x) along ``dim`` (default: the last): finite for logits of any size."""
        return _apply(ops.LOG_SOFTMAX, (self,), _one_axis(self, dim, axis, "log_softmax"))

    def maximum(self, other: Any) -> Tensor:
        """The larger of the two, entry by entry (the gradient is split in halves at ties)."""
        return _binary(ops.MAXIMUM, self, other)

    def minimum(self, other: Any) -> Tensor:
        """The smaller of the two, entry by entry (the gradient is split in halves at ties)."""
        return _binary(ops.MINIMUM, self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Limit entries to [min, max] (numbers or tensors); the gradient passes where
        min <= x <= max, as PyTorch's ``clamp``."""
        return self._clamp(min, max, "clamp")

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Limit entries to [min, max]; the gradient passes where min <= x <= max."""
        return self._clamp(min, max, "clip")

    def _clamp(self, min: Any, max: Any, name: str) -> Tensor:  # noqa: A002
        lo, hi = _clamp_bounds(min, max, name)
        if isinstance(lo, Tensor) or isinstance(hi, Tensor):
            out = self if lo is None else _binary(ops.MAXIMUM, self, lo)
            return out if hi is None else _binary(ops.MINIMUM, out, hi)
        return _apply(ops.CLIP, (self,), (lo, hi))

    # ---- comparisons and logic: boolean tensors that no gradient flows through ----------------

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

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def _logic(self, other: Any, function: Any, name: str) -> Tensor:
        operands = [self._data] + ([] if other is None else [_raw(other)])
        for operand in operands:
            if np.asarray(operand).dtype.kind not in "biu":
                raise TypeError(f"{name}: needs boolean or integer tensors, got {operand.dtype}")
        out = Tensor._wrap(np.asarray(function(*operands)), False)
        if _tracer is not None:
            if other is None or isinstance(other, Tensor):
                inputs, params = (
                    (self,) if other is None else (self, other),
                    (function, False, None),
                )
            else:
                inputs, params = (self,), (function, True, other)
            _tracer.derived(name, _logic_forward, inputs, params, out)
        return out

    def __invert__(self) -> Tensor:
        return self._logic(None, np.invert, "~")

    def __and__(self, other: Any) -> Tensor:
        return self._logic(other, np.bitwise_and, "&")

    def __or__(self, other: Any) -> Tensor:
        return self._logic(other, np.bitwise_or, "|")

    def __xor__(self, other: Any) -> Tensor:
        return self._logic(other, np.bitwise_xor, "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def logical_not(self) -> Tensor:
        out = Tensor._wrap(np.logical_not(self._data), False)
        if _tracer is not None:
            _tracer.derived(
                "logical_not", _logic_forward, (self,), (np.logical_not, False, None), out
            )
        return out

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether every entry is nonzero (along ``dim``): a boolean constant."""
        axes = arguments.reduction_axes("all", self._data.ndim, dim, None)
        return _truth(self, "all", axes, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether some entry is nonzero (along ``dim``): a boolean constant."""
        axes = arguments.reduction_axes("any", self._data.ndim, dim, None)
        return _truth(self, "any", axes, keepdim)

    # Hashable by identity, as PyTorch's tensors: the engine keys its tables by node.
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if _tracer is not None:
            _tracer.exported(self, "bool")
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    # ---- reductions: dim=/keepdim= (PyTorch) or axis=/keepdims= (NumPy) ----------------------

    def sum(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        return self._reduce(ops.SUM, "sum", dim, keepdim, axis, keepdims)

    def mean(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        return self._reduce(ops.MEAN, "mean", dim, keepdim, axis, keepdims)

    def prod(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        """The product of the entries (along ``dim``); exact gradients where entries are 0."""
        return self._reduce(ops.PROD, "prod", dim, keepdim, axis, keepdims)

    def logsumexp(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        return self._reduce(ops.LOGSUMEXP, "logsumexp", dim, keepdim, axis, keepdims)

    def amax(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        """The largest entry (along ``dim``); the gradient is shared evenly between ties."""
        return self._reduce(ops.MAX, "amax", dim, keepdim, axis, keepdims)

    def amin(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        """The smallest entry (along ``dim``); the gradient is shared evenly between ties."""
        return self._reduce(ops.MIN, "amin", dim, keepdim, axis, keepdims)

    def max(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Any:
        """PyTorch's ``max``: ``max()`` the largest entry; ``max(dim)`` a (values, indices)
        pair, the gradient going to the entry each index names; ``max(other)`` the entrywise
        maximum. With NumPy's ``axis=`` it is NumPy's: the values alone, like ``amax``."""
        return self._extreme("max", ops.MAX, np.argmax, dim, keepdim, axis, keepdims)

    def min(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Any:
        """PyTorch's ``min``: see :meth:`max`."""
        return self._extreme("min", ops.MIN, np.argmin, dim, keepdim, axis, keepdims)

    def argmax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
        """The index of the largest entry (of the flattened tensor without ``dim``): int64."""
        return self._arg(np.argmax, "argmax", dim, keepdim, axis)

    def argmin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
        """The index of the smallest entry (of the flattened tensor without ``dim``): int64."""
        return self._arg(np.argmin, "argmin", dim, keepdim, axis)

    def var(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        ddof: Any = None,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """The variance, divided by N - correction: **1 by default, as in PyTorch** (NumPy's
        ``var`` divides by N; pass ``correction=0``, ``unbiased=False`` or ``ddof=0`` for that).
        Composed of mean, subtraction and sum: no row of its own."""
        axes = arguments.reduction_axes("var", self._data.ndim, dim, axis)
        keep = arguments.keep("var", keepdim, keepdims)
        count = math.prod(self._data.shape[a] for a in axes)
        centred = self - self.mean(axis=axes, keepdims=True)
        squares = (centred * centred).sum(axis=axes, keepdims=keep)
        return squares / (count - _correction(unbiased, correction, ddof))

    def std(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        ddof: Any = None,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """The square root of :meth:`var` (unbiased by default, as in PyTorch)."""
        return self.var(
            dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis, keepdims=keepdims
        ).sqrt()

    def norm(
        self,
        p: Any = "fro",
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """The p-norm of the entries (along ``dim``): ``"fro"`` or 2 (the default), any p >= 1,
        or ``inf``/``-inf`` (the largest/smallest absolute value). At the zero vector the
        gradient is 0, as in PyTorch."""
        axes = arguments.reduction_axes("norm", self._data.ndim, dim, axis)
        keep = arguments.keep("norm", keepdim, keepdims)
        if p == "fro":
            p = 2
        if isinstance(p, bool) or not isinstance(p, Number):
            raise ValueError(f"norm: p must be a number >= 1, inf, -inf or 'fro', got {p!r}")
        if p == math.inf:
            return self.abs().amax(axis=axes, keepdims=keep)
        if p == -math.inf:
            return self.abs().amin(axis=axes, keepdims=keep)
        if not 1 <= p < math.inf:
            raise ValueError(f"norm: p must be >= 1 (or inf, -inf, 'fro'), got {p!r}")
        return _apply(ops.NORM, (self,), (float(p), axes, keep))

    def _reduce(
        self, op: ops.Op, name: str, dim: Any, keepdim: Any, axis: Any, keepdims: Any
    ) -> Tensor:
        axes = arguments.reduction_axes(name, self._data.ndim, dim, axis)
        return _apply(op, (self,), (axes, arguments.keep(name, keepdim, keepdims)))

    def _extreme(
        self,
        name: str,
        op: ops.Op,
        arg: Callable[..., np.ndarray],
        dim: Any,
        keepdim: Any,
        axis: Any,
        keepdims: Any,
    ) -> Any:
        if isinstance(dim, Tensor | np.ndarray):
            if axis is not None or keepdim or keepdims is not None:
                raise TypeError(f"{name}(other): takes no dim, axis or keepdim")
            return _binary(ops.MAXIMUM if name == "max" else ops.MINIMUM, self, dim)
        if axis is not None or dim is None:  # NumPy's spelling, or the whole tensor: values
            return self._reduce(op, name, dim, keepdim, axis, keepdims)
        if keepdims is not None:
            raise TypeError(f"{name}(dim): use keepdim= (the values and indices form)")
        return _with_indices(self, arguments.single_dim(name, dim, self._data.ndim), keepdim, arg)

    def _arg(
        self, arg: Callable[..., np.ndarray], name: str, dim: Any, keepdim: bool, axis: Any
    ) -> Tensor:
        if dim is not None and axis is not None:
            raise TypeError(f"{name}: give dim= or axis=, not both")
        dim = dim if axis is None else axis
        x = self._data
        if x.size == 0:
            raise ValueError(f"{name}: the tensor of shape {x.shape} is empty")
        d = None if dim is None else arguments.single_dim(name, dim, x.ndim)
        out = Tensor._wrap(_arg_index(x, (arg, d, keepdim)), False)
        if _tracer is not None:
            _tracer.derived(name, _arg_index, (self,), (arg, d, keepdim), out)
        return out

    # ---- shape -------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        """This tensor's entries in a new shape (one -1 is inferred); a view when possible."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        new_shape = arguments.checked_reshape("reshape", self._data.shape, shape)
        return _apply(ops.RESHAPE, (self,), new_shape)

    def view(self, *shape: Any) -> Tensor:
        """:meth:`reshape` that must share memory, as PyTorch's ``view``: refused when the
        entries are not laid out for it (use reshape, or contiguous() first)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        new_shape = arguments.checked_reshape("view", self._data.shape, shape)
        try:
            np.reshape(self._data, new_shape, copy=False)
        except ValueError:
            raise ValueError(
                f"view: a tensor of shape {self._data.shape} laid out as it is (transposed or "
                f"strided) cannot be viewed as {new_shape} without copying; use "
                ".reshape(...) (which copies when it must) or .contiguous().view(...)"
            ) from None
        return _apply(ops.RESHAPE, (self,), new_shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other._data.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other._data.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """The dims from ``start_dim`` to ``end_dim`` merged into one (all of them by default)."""
        shape = arguments.flattened(self._data.shape, start_dim, end_dim)
        return _apply(ops.RESHAPE, (self,), shape)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new dim of size 1 at ``dim``."""
        return _apply(ops.RESHAPE, (self,), arguments.unsqueezed(self._data.shape, dim))

    def squeeze(self, dim: Any = None) -> Tensor:
        """Without its dims of size 1 (all, or the given ones; a given dim that is not 1 stays,
        as in PyTorch)."""
        return _apply(ops.RESHAPE, (self,), arguments.squeezed(self._data.shape, dim))

    def transpose(self, *axes: Any) -> Tensor:
        """PyTorch's ``transpose(dim0, dim1)`` with two ints (the two dims swapped); NumPy's
        ``transpose(axes)`` with a tuple, or with any other number of ints (a permutation of
        every axis); all axes reversed with none."""
        order = arguments.transpose_axes(axes, self._data.ndim, self._data.shape)
        return _apply(ops.TRANSPOSE, (self,), order)

    def permute(self, *dims: Any) -> Tensor:
        """The dims in a new order (NumPy's ``transpose(axes)``)."""
        order = arguments.permutation("permute", dims, self._data.ndim, self._data.shape)
        return _apply(ops.TRANSPOSE, (self,), order)

    def t(self) -> Tensor:
        """The transpose of a matrix (a tensor of at most 2 dims, as PyTorch's ``t()``)."""
        if self._data.ndim > 2:
            raise ValueError(
                f"t: expects a tensor with at most 2 dimensions, got shape {self._data.shape}; "
                "use transpose(dim0, dim1) or permute(...)"
            )
        return self.transpose() if self._data.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        """All axes reversed (NumPy's ``.T``): the matrix transpose for 2-D tensors."""
        return self.transpose()

    def expand(self, *sizes: Any) -> Tensor:
        """This tensor stretched over new or size-1 dims without copying (-1: keep the dim)."""
        shape = arguments.expanded(self._data.shape, arguments.shape_arguments("expand", sizes))
        return self.broadcast_to(shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other._data.shape)

    def repeat(self, *repeats: Any) -> Tensor:
        """PyTorch's ``repeat`` (NumPy's ``tile``): the whole tensor repeated along each dim.
        Composed of reshape, broadcast_to and reshape: no row of its own."""
        counts = arguments.shape_arguments("repeat", repeats)
        spaced, stretched, shape = arguments.repeat_shapes(self._data.shape, counts)
        out = self.reshape(spaced).broadcast_to(stretched).reshape(shape)
        return out if out._data.flags.writeable else out.clone()

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

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along ``dim``: of ``split_size_or_sections`` each (the last may be smaller),
        or of the listed sizes. Each piece is a slice of this tensor in the graph."""
        d = arguments.single_dim("split", dim, self._data.ndim)
        length = self._data.shape[d]
        return self._pieces(d, arguments.split_sections("split", length, split_size_or_sections))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """``chunks`` pieces along ``dim`` (fewer if the length does not allow as many)."""
        d = arguments.single_dim("chunk", dim, self._data.ndim)
        length = self._data.shape[d]
        size = arguments.chunk_size(length, chunks)
        return self._pieces(d, arguments.split_sections("chunk", length, size))

    def _pieces(self, dim: int, bounds: list[tuple[int, int]]) -> tuple[Tensor, ...]:
        lead = (slice(None),) * dim
        return tuple(self[(*lead, slice(start, stop))] for start, stop in bounds)

    def __getitem__(self, index: Any) -> Tensor:
        return _apply(ops.GETITEM, (self,), _plain_index(index, self._data.shape))

    def gather(self, dim: int, index: Any) -> Tensor:
        """``out[i][j] = self[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim), as
        PyTorch's ``gather``. Composed of indexing: the gradient is scattered back, adding up
        where an index repeats."""
        d = arguments.single_dim("gather", dim, self._data.ndim)
        idx = np.array(_raw(index), copy=True)
        shape = self._data.shape
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather: index must hold integers, got dtype {idx.dtype}")
        if idx.ndim != len(shape) or any(
            idx.shape[k] > shape[k] for k in range(len(shape)) if k != d
        ):
            raise ValueError(
                f"gather: index of shape {idx.shape} does not fit a tensor of shape {shape} "
                f"(same number of dims, and no larger outside dim {d})"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= shape[d]):
            raise IndexError(
                f"gather: index values must be in 0..{shape[d] - 1} for dim {d} of shape {shape}"
            )
        if not shape:
            return self.clone()
        grid = list(np.indices(idx.shape, sparse=True))
        grid[d] = idx
        return _apply(ops.GETITEM, (self,), tuple(grid))

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """A copy with ``value`` where ``mask`` holds (``mask`` broadcasts to this shape); no
        gradient reaches this tensor's masked entries. Composed of :func:`where`."""
        condition = _mask(mask, self._data.shape, "masked_fill")
        return where(condition, value, self)

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
        """Add each leaf's adjoint to its ``grad`` (a :class:`GradArray`).

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
            owner = adjoint.base
            if owner is None:  # a fresh array (VJPs never hand on a read-only one unviewed)
                owner = adjoint
                shared = id(owner) in owners
            else:
                shared = id(owner) in owners or not adjoint.flags.writeable
            if shared:
                adjoint = adjoint.copy()
            else:
                owners.add(id(owner))
            if adjoint.shape != data.shape:  # a 0-d result of a full reduction
                adjoint = adjoint.reshape(data.shape)
            grad = node.grad
            if grad is not None:
                adjoint = grad + adjoint
                if not isinstance(adjoint, np.ndarray):  # a graph gradient (create_graph) stays
                    node.grad = adjoint
                    continue
            node.grad = adjoint.view(GradArray)


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
    otherwise it is a constant, and holds no reference to its inputs. Recorded parents are
    marked ``_consumed``: an in-place write to them is then refused (see the module docstring).
    """
    if len(parents) == 1:  # the common arities spelled out: no list built per op
        data, ctx = op.forward(parents[0]._data, params)
    elif len(parents) == 2:
        data, ctx = op.forward(parents[0]._data, parents[1]._data, params)
    else:
        data, ctx = op.forward(*[p._data for p in parents], params)
    out = _new(Tensor)
    if grad_mode.enabled:
        for p in parents:  # (a loop, not a helper call: this runs once per op)
            if p.requires_grad:
                _build(out, data, op, parents, ctx, True)
                if op.saves:
                    _record_versions(out)
                for q in parents:
                    q._consumed = True  # an in-place write to q would now need refusing
                break
        else:
            _build(out, data)
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


# --------------------------------------------------------------------------------------------
# In-place ops: written into the array when nothing needs recording, recorded as PyTorch does
# otherwise (see the module docstring)
# --------------------------------------------------------------------------------------------


def _in_place(
    t: Tensor,
    name: str,
    operands: tuple[Any, ...],
    write: Callable[[np.ndarray], Any],
    record: Callable[[Tensor], Tensor],
) -> Tensor:
    """One in-place op on ``t``: ``write(array)`` changes the array when the graph need not see
    it; ``record(old)`` builds the out-of-place result from a node holding ``t``'s old value
    when it must. ``operands``: the op's other inputs (tensors among them may require grad)."""
    if _tracer is not None:
        _tracer.in_place(t, name)
    if grad_mode.enabled and (
        t.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in operands)
    ):
        return _record_in_place(t, name, record)
    try:
        write(t._data)
    except ValueError as exc:
        if not t._data.flags.writeable:
            raise ValueError(
                f"{name}: this tensor's memory is read-only (an expand()/broadcast_to() view, "
                "or a read-only array given to from_numpy); clone() it first"
            ) from None
        raise ValueError(f"{name}: {exc} (the tensor has shape {t._data.shape})") from None
    except TypeError as exc:
        raise TypeError(f"{name}: {exc} (the tensor has dtype {t._data.dtype})") from None
    bump_version(t)
    return t


def _in_place_binary(t: Tensor, row: ops.Op, ufunc: Any, other: Any, name: str) -> Tensor:
    """``t op= other``: the ufunc into ``t``'s own array, or ``row`` recorded."""
    return _in_place(
        t,
        name,
        (other,),
        lambda data: ufunc(data, _raw(other), out=data, casting="same_kind"),
        lambda old: _binary(row, old, old if other is t else other),
    )


def _record_in_place(t: Tensor, name: str, record: Callable[[Tensor], Tensor]) -> Tensor:
    """Make ``t`` the recorded result of ``record(old)``, ``old`` a node holding its old value,
    and write the result into ``t``'s memory (views and ``from_numpy`` arrays see it)."""
    _check_recordable(t, name)
    counter = _shared_counter(t)
    old = _build(_new(Tensor), t._data, t._row, t.parents, t._ctx, t.requires_grad)
    old._vjps, old._saved_versions, old._counter = t._vjps, t._saved_versions, counter
    result = record(old)
    if result._data.shape != t._data.shape:
        raise ValueError(
            f"{name}: the result has shape {result._data.shape}, but an in-place op keeps the "
            f"tensor's shape {t._data.shape}"
        )
    if any(p != ops.OUTPUT and result.parents[p] is old for p in result._row.saves):
        # the op's gradient reads the old value, which the write below replaces: keep a copy
        old._data = old._data.copy()
        old._counter = _VersionCounter(counter.count)
    try:
        np.copyto(t._data, result._data, casting="same_kind")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc} (the tensor has dtype {t._data.dtype})") from None
    counter.count += 1
    _build(t, t._data, result._row, result.parents, result._ctx, result.requires_grad)
    t._counter = counter
    if t._row.saves:
        _record_versions(t)
    return t


def _check_recordable(t: Tensor, name: str) -> None:
    """Refuse the in-place writes that PyTorch refuses, and those memograd cannot record."""
    if t.requires_grad and not t.parents:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place "
            "operation. (PyTorch's rule: update parameters inside `with mg.no_grad():`, as "
            "optimizers do)"
        )
    if not dtypes.is_floating(t._data.dtype):
        raise TypeError(
            f"{name}: the result would require grad, but the tensor has dtype "
            f"{t._data.dtype}; only floating tensors can be part of the graph"
        )
    base = t.parents[0] if t._row.view and t.parents else None
    if base is not None and t._counter is not None and t._counter is base._counter:
        kind = "a leaf that requires grad" if not base.parents else f"the result of {base.op!r}"
        raise RuntimeError(
            f"{name}: this tensor is a view ({t.op!r}) of {kind}, so writing it in place "
            "would change that tensor too; memograd does not record writes through views "
            "(PyTorch rewrites the base's history). Work on a copy (.clone()), or build the "
            "new values out of place (where, masked_fill, torch.cat...)"
        )
    if getattr(t, "_consumed", False):
        raise RuntimeError(
            f"{name}: this tensor ({t.op or 'a leaf'} of shape {t._data.shape}) was already "
            "used by an op recorded for the backward pass. In memograd a tensor is its own "
            "graph node, so that op would see the new value's history in place of the old "
            "one and get a wrong gradient; memograd refuses instead. Write the update out of "
            "place (`x = x + y` for `x += y`, `x = x.clamp(...)` for `x.clamp_(...)`)"
        )


def _raw(value: Any) -> Any:
    """The array or number behind a value (a Tensor's data)."""
    return value._data if isinstance(value, Tensor) else value


def _scaled(other: Any, alpha: Any, name: str) -> Any:
    """``alpha * other`` for ``add``/``sub``'s ``alpha=`` (``other`` itself when alpha is 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, Number):
        raise TypeError(f"{name}: alpha must be a number, got {alpha!r}")
    if alpha == 1:
        return other
    return other * alpha if isinstance(other, Tensor) else np.multiply(other, alpha)


def _clamp_bounds(lo: Any, hi: Any, name: str) -> tuple[Any, Any]:
    """clamp's bounds checked: numbers, tensors or None, at least one given."""
    if lo is None and hi is None:
        raise ValueError(f"{name}: give at least one of min and max")
    for label, bound in (("min", lo), ("max", hi)):
        if bound is None or isinstance(bound, Tensor):
            continue
        if isinstance(bound, bool) or not isinstance(bound, Number):
            raise TypeError(
                f"{name}: {label} must be a number, a tensor or None, got {type(bound).__name__}"
            )
    if isinstance(lo, Number) and isinstance(hi, Number) and lo > hi:
        raise ValueError(f"{name}: min ({lo}) is greater than max ({hi})")
    return lo, hi


def _mask(mask: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A boolean mask (copied: a later change to the caller's cannot reach the graph) that
    broadcasts to ``shape``."""
    condition = np.array(_raw(mask), copy=True)
    if condition.dtype != np.bool_:
        raise TypeError(f"{name}: mask must be boolean, got dtype {condition.dtype}")
    try:
        if np.broadcast_shapes(condition.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{name}: a mask of shape {condition.shape} does not broadcast to the tensor's "
            f"shape {shape}"
        ) from None
    return condition


def _put(old: Tensor, index: Any, value: Any) -> Tensor:
    """``old`` with ``value`` written at ``index``, as a graph: where(placed, scattered value,
    old). Composed of broadcast_to, scatter and where: no row of its own."""
    shape = old._data.shape
    placed = np.zeros(shape, dtype=bool)
    placed[index] = True
    if not ops._is_basic_index(index):
        hits = np.zeros(shape, dtype=np.int64)
        np.add.at(hits, index, 1)
        if hits.max(initial=0) > 1:
            raise ValueError(
                "setitem: the index names an entry more than once; which write wins is "
                "undefined (in PyTorch too), so memograd does not record it"
            )
    value = value if isinstance(value, Tensor) else _constant(value, old._data.dtype, "setitem")
    target = placed[index].shape
    try:
        spread = value.broadcast_to(target) if value._data.shape != target else value
    except ValueError:
        raise ValueError(
            f"setitem: a value of shape {value._data.shape} does not fit the {target} "
            "entries the index names"
        ) from None
    return where(placed, spread._scatter(shape, index), old)


def _astype(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return x.astype(dtype)


def _logic_forward(*arrays_and_params: Any) -> np.ndarray:
    """``&``, ``|``, ``^``, ``~``, logical_not on arrays; the last argument is (function,
    whether a constant operand follows, that constant)."""
    *arrays, (function, has_constant, constant) = arrays_and_params
    return np.asarray(function(*arrays, constant) if has_constant else function(*arrays))


def _truth(x: Tensor, name: str, axes: Any, keepdim: bool) -> Tensor:
    out = Tensor._wrap(_truth_forward(x._data, (name, axes, keepdim)), False)
    if _tracer is not None:
        _tracer.derived(name, _truth_forward, (x,), (name, axes, keepdim), out)
    return out


def _truth_forward(x: np.ndarray, params: tuple[str, Any, bool]) -> np.ndarray:
    name, axes, keepdim = params
    return np.asarray(getattr(x, name)(axis=axes, keepdims=keepdim))


def _arg_index(x: np.ndarray, params: tuple[Any, int | None, bool]) -> np.ndarray:
    """argmax/argmin's int64 indices (over the flattened array when ``d`` is None)."""
    arg, d, keepdim = params
    if d is None:
        index = np.asarray(arg(x.reshape(-1)))
        if keepdim:
            index = index.reshape((1,) * x.ndim)
    else:
        index = np.asarray(arg(x.reshape(-1) if x.ndim == 0 else x, axis=d, keepdims=keepdim))
    return index.astype(np.int64)


def _with_indices(x: Tensor, dim: int, keepdim: bool, arg: Callable[..., Any]) -> ValuesIndices:
    """max(dim)/min(dim): the values (gathered at the indices, so the gradient goes to the
    entry each index names, as in PyTorch) and the int64 indices."""
    if _tracer is not None:
        _tracer.unsupported(
            f"max(dim)/min(dim) (on a tensor of shape {x._data.shape}) gathers at indices "
            "computed from its values, which the plan would freeze; use amax/amin (the values) "
            "or argmax/argmin (the indices)"
        )
    if x._data.ndim == 0:
        return ValuesIndices(x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64), False))
    if x._data.shape[dim] == 0:
        raise ValueError(f"max/min: dim {dim} of shape {x._data.shape} is empty")
    index = np.asarray(arg(x._data, axis=dim, keepdims=True)).astype(np.int64)
    values = x.gather(dim, index)
    if not keepdim:
        values = values.squeeze(dim)
        index = index.squeeze(dim)
    return ValuesIndices(values, Tensor._wrap(index, False))


def _correction(unbiased: Any, correction: Any, ddof: Any) -> float:
    """var/std's divisor offset from PyTorch's ``unbiased``/``correction`` or NumPy's ``ddof``."""
    given = [v for v in (unbiased, correction, ddof) if v is not None]
    if len(given) > 1:
        raise TypeError("var/std: give one of unbiased=, correction= and ddof=")
    if unbiased is not None:
        return 1.0 if unbiased else 0.0
    value = correction if correction is not None else ddof
    return 1.0 if value is None else _number(value, "var/std correction")


def _is_device(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.split(":")[0] in ("cpu", "cuda", "mps")
        or (type(value).__name__ == "device")
    )


def _check_device(device: Any, name: str) -> None:
    if str(device).split(":")[0] != "cpu":
        raise RuntimeError(
            f"{name}: memograd computes with NumPy on the CPU; device {str(device)!r} is not "
            "available (use 'cpu', or cross to PyTorch for GPUs)"
        )


def _binary(op: ops.Op, x: Any, y: Any) -> Tensor:
    """An elementwise binary op (or matmul): lift non-tensors, then apply with clear errors."""
    x, y = _lift_pair(x, y, op.name)
    if op is ops.DIV and x._data.dtype.kind != "f" and y._data.dtype.kind != "f":
        x = _build(_new(Tensor), x._data.astype(dtypes.DEFAULT_FLOAT))  # torch: int / int is a
        y = _build(_new(Tensor), y._data.astype(dtypes.DEFAULT_FLOAT))  # float32 (not NumPy's f8)
    try:
        return _apply(op, (x, y), None)
    except ValueError:
        if op is ops.MATMUL:
            raise
        try:
            np.broadcast_shapes(x._data.shape, y._data.shape)
        except ValueError:
            raise ValueError(
                f"{op.name}: operands of shapes {x._data.shape} and {y._data.shape} "
                "do not broadcast"
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
    elif array.dtype.kind == "f" and not isinstance(value, np.ndarray | np.generic):
        array = array.astype(dtypes.DEFAULT_FLOAT)  # an integer tensor times 2.5: float32, as torch
    elif not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{op_name}: unsupported operand of dtype {array.dtype}")
    return _build(_new(Tensor), array)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new leaf holding a copy of ``data`` (``torch.tensor``): later writes to it are not seen.

    The dtype is PyTorch's choice when none is given: Python floats become float32 (PyTorch's
    default dtype, :data:`~memograd.engine.dtypes.DEFAULT_FLOAT`), Python ints int64, bools bool;
    NumPy arrays, NumPy numbers and tensors keep their own dtype.
    """
    if device is not None:
        _check_device(device, "tensor")
    if _tracer is not None and isinstance(data, Tensor):
        _tracer.exported(data, "copy")
    source = data._data if isinstance(data, Tensor) else data
    if dtype is not None:
        dtype = dtypes.resolve_dtype(dtype, "tensor")
    array = np.array(source, dtype=dtype, copy=True)
    if dtype is None and not _holds_numpy(source):
        if array.dtype.kind == "f":
            array = array.astype(dtypes.DEFAULT_FLOAT)
        elif array.dtype.kind in "iu":
            array = array.astype(dtypes.int64)
    return Tensor._wrap(_checked_array(array, requires_grad, copy=False), requires_grad)


def _holds_numpy(data: Any) -> bool:
    """Whether ``data`` is (or nests) NumPy arrays or numbers, whose dtypes are kept."""
    if isinstance(data, np.ndarray | np.generic | Tensor):
        return True
    if isinstance(data, list | tuple):
        return any(_holds_numpy(item) for item in data)
    return False


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
    if dtype is not None:
        dtype = dtypes.resolve_dtype(dtype, "as_tensor")
    if isinstance(data, Tensor):
        if dtype is None or data._data.dtype == dtype:
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


def _plain_index(index: Any, shape: tuple[int, ...], name: str = "getitem") -> Any:
    """An index with Tensors and lists replaced by arrays, checked against ``shape`` up front."""

    def plain(i: Any) -> Any:
        if isinstance(i, Tensor):
            return i._data.copy()  # copies: backward scatters through the index it saved
        if isinstance(i, list | np.ndarray):
            return np.array(i)
        if isinstance(i, float):
            raise TypeError(f"{name}: indices must be integers, slices or arrays, got {i!r}")
        return i

    index = tuple(plain(i) for i in index) if isinstance(index, tuple) else plain(index)
    try:
        np.empty(shape, dtype=np.bool_)[index]
    except IndexError as exc:
        raise IndexError(f"{name}: {exc} (tensor shape {shape})") from None
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


def concat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (NumPy's ``concatenate``, PyTorch's ``cat``)."""
    axis = _dim_or_axis(dim, axis, 0, "concat")
    parts = _tensor_list(tensors, "concat")
    ndim = parts[0]._data.ndim
    if ndim == 0:
        raise ValueError("concat: zero-dimensional tensors cannot be concatenated; use stack")
    (axis,) = ops.normalize_axes(axis, ndim, "concat")
    for t in parts[1:]:
        shape0, shape = parts[0]._data.shape, t._data.shape
        if (
            len(shape) != ndim
            or shape[:axis] + shape[axis + 1 :] != shape0[:axis] + shape0[axis + 1 :]
        ):
            raise ValueError(f"concat: shapes {shape0} and {shape} differ outside axis {axis}")
    return _apply(ops.concat_op(len(parts)), parts, axis)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """PyTorch's name for :func:`concat`: join tensors along the existing dim ``dim``."""
    return concat(tensors, dim)


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shape tensors along a new axis."""
    axis = _dim_or_axis(dim, axis, 0, "stack")
    parts = _tensor_list(tensors, "stack")
    shapes = {t._data.shape for t in parts}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    (axis,) = ops.normalize_axes(axis, parts[0]._data.ndim + 1, "stack")
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


def _dim_or_axis(dim: Any, axis: Any, default: Any, name: str) -> Any:
    """``dim`` (PyTorch) or ``axis`` (NumPy), whichever was given (not both)."""
    if dim is not None and axis is not None and axis != default:
        raise TypeError(f"{name}: give dim= or axis=, not both")
    return axis if dim is None else dim


def _one_axis(x: Tensor, dim: Any, axis: Any, name: str) -> int:
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: give dim= or axis=, not both")
    chosen = dim if axis is None else axis
    (chosen,) = ops.normalize_axes(-1 if chosen is None else chosen, x._data.ndim, name)
    return chosen


def softmax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (default: the last), with the max subtracted."""
    return _as_tensor(x, "softmax").softmax(dim, axis=axis)


def log_softmax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (default: the last): finite for logits of any size."""
    return _as_tensor(x, "log_softmax").log_softmax(dim, axis=axis)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Number):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def logsumexp(
    x: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    axis: Any = None,
    keepdims: Any = None,
) -> Tensor:
    """log(sum(exp(x))) over ``dim``, with the max factored out so that it never overflows."""
    return _as_tensor(x, "logsumexp").logsumexp(dim, keepdim, axis=axis, keepdims=keepdims)


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
