"""The compiler's kernels: the rows of a training step as NumPy calls that write into buffers.

The derivative table's functions allocate their results; a plan wants every result written into
a buffer it planned (``out=``), and an input overwritten in place when nothing reads it later.
This library does that for the rows a training step spends its time in: ``linear``, ``matmul``,
``add``, ``relu``, ``cross_entropy``, ``sum`` and the comparisons. Each kernel performs the row's
own arithmetic, the same NumPy operations on the same operands in the same order, so a replay is
bitwise equal to the eager step (``tests/engine/test_compile.py`` checks whole steps of every
optimizer); only where the result lands differs. Two places compute the same numbers by an
equivalent route, chosen because it lets a buffer be reused: the ReLU's VJP masks with
``out > 0`` instead of ``x > 0`` (the same mask for every x, NaN included, so its input's buffer
can hold its output), and cross-entropy subtracts the one-hot by ``take``/``put`` at the targets
instead of subtracting a dense one-hot (``p - 0.0`` is ``p``).

With ``fuse=True`` (``lowering.fused`` set), a bias-add followed by a ReLU, the ReLU's VJP and
cross-entropy's forward and VJP emit one call of a :mod:`fused` kernel each instead of their
NumPy calls (the two VJP kernels also sum a bias gradient when one is asked of their result
next); everything else, and any operand not in float32 or float64, is as without it.

Every other row, and a library row in a case it does not cover (a batched matmul, 1-D logits),
goes through :func:`fallback_forward` / :func:`fallback_vjp`: the row's own forward and VJP
functions, called by the plan on a stand-in node (:class:`NodeView`). Their results are
allocated by the row on every call, and the plan keeps their inputs alive as long as they live,
since a row may return a view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from memograd.engine import ops
from memograd.engine.compiler.program import Instr, Slot

if TYPE_CHECKING:
    from memograd.engine.compiler.lower import Lowering
    from memograd.engine.compiler.trace import OpEvent

add_reduce = np.add.reduce
max_reduce = np.maximum.reduce


class NodeView:
    """What a row's VJP reads of its node (``parents[i]._data``, ``_data``, ``_ctx``, ``op``)."""

    __slots__ = ("parents", "_data", "_ctx", "op")

    def __init__(self, op: str, ctx: Any, out: Any, *inputs: Any) -> None:
        self.op = op
        self._ctx = ctx
        self._data = out
        self.parents = tuple(_Held(x) for x in inputs)


class _Held:
    __slots__ = ("_data",)

    def __init__(self, data: Any) -> None:
        self._data = data


def _same(a: Slot, b: Slot) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def _result_dtype(*slots: Slot) -> np.dtype:
    return np.result_type(*(s.dtype for s in slots))


def _fusable(L: Lowering, *slots: Slot) -> bool:
    """fuse=True, and every operand in a dtype the fused kernels take (``fused.DTYPES``; any
    other keeps its NumPy calls, as without fuse=True)."""
    return L.fused is not None and all(s.dtype in L.fused.DTYPES for s in slots)


def _note_bias_add(L: Lowering, instr: Instr, x: Slot, y: Slot, out: Slot) -> None:
    """Remember ``out = x + y`` when it is a 2-D value plus a bias along its last axis, so that
    a ReLU right after it can take both in one fused pass (fuse=True only)."""
    if not _fusable(L, out) or len(out.shape) != 2:
        return
    for a, b in ((x, y), (y, x)):
        if _same(a, out) and b.shape == out.shape[1:] and b.dtype == out.dtype:
            L.bias_adds[out.index] = (instr, a, b)
            return


def _no_sums(L: Lowering, dtype: np.dtype) -> Slot:
    """An empty array for a fused kernel's ``sums``: no column sums wanted (yet)."""
    return L.program.slot("const", (0,), dtype, np.empty(0, dtype))


def _column_sums_fused(L: Lowering, g: Slot, out: Slot) -> bool:
    """``out = g.sum(0)`` taken by the fused kernel that just wrote g, if one did (fuse=True):
    its instruction gets ``out`` for its ``sums``. Only when that instruction is the last one
    (no contribution was added into g since) and g has two columns or more, where the kernel's
    order (from 0, each row added in turn) is NumPy's own for ``add.reduce(g, 0)``."""
    instr = L.column_sums.get(g.index)
    P = L.program
    if instr is None or not P.instrs or P.instrs[-1] is not instr:
        return False
    if len(g.shape) != 2 or g.shape[1] < 2 or out.shape != g.shape[1:] or out.dtype != g.dtype:
        return False
    instr.items = (*instr.items[:-1], out)
    instr.writes = (*instr.writes, out)
    del L.column_sums[g.index]
    return True


def _transposed(L: Lowering, s: Slot) -> Slot:
    return L.program.view(s, "{}.T", s.shape[::-1])


# --------------------------------------------------------------------------------------------
# linear and matmul (2-D operands)
# --------------------------------------------------------------------------------------------


class Linear:
    """``x @ W (+ b)``: one matmul into the output buffer, the bias added in place (as the row)."""

    def applies(self, ev: OpEvent, xs: list[Slot]) -> bool:
        return xs[0].kind != "obj" and len(xs[0].shape) == 2 and len(xs[1].shape) == 2

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        P = L.program
        out = P.buf(ev.out._data.shape, ev.out._data.dtype)
        P.emit("{0}({1}, {2}, {3})", np.matmul, xs[0], xs[1], out, reads=xs[:2], writes=(out,))
        if len(xs) == 3:
            add = P.emit(
                "{0}({1}, {2}, {1})", np.add, out, xs[2], reads=(out, xs[2]), writes=(out,)
            )
            _note_bias_add(L, add, out, xs[2], out)
        return out

    def vjp(self, L: Lowering, ev: OpEvent, i: int, g: Slot) -> Slot:
        P = L.program
        x, w = L.inputs(ev)[:2]
        key = ("bias gradient", id(ev))
        if L.fused is not None and len(ev.inputs) == 3 and key not in L.state:
            # The sweep asks for db last, after two matmuls; the fused kernel that wrote g is
            # the last instruction only now, at the first of the three: it sums db right away.
            db = P.buf(g.shape[1:], g.dtype)
            L.state[key] = db if _column_sums_fused(L, g, db) else None
        if i == 0:  # dx = g @ W^T
            out = P.buf(x.shape, _result_dtype(g, w))
            P.emit(
                "{0}({1}, {2}, {3})", np.matmul, g, _transposed(L, w), out,
                reads=(g, w), writes=(out,),
            )  # fmt: skip
        elif i == 1:  # dW = x^T @ g
            out = P.buf(w.shape, _result_dtype(x, g))
            P.emit(
                "{0}({1}, {2}, {3})", np.matmul, _transposed(L, x), g, out,
                reads=(x, g), writes=(out,),
            )  # fmt: skip
        else:  # db = g summed over the batch
            out = L.state.get(key)
            if out is None:
                out = P.buf(g.shape[1:], g.dtype)
                P.emit("{0}({1}, 0, None, {2})", add_reduce, g, out, reads=(g,), writes=(out,))
        return out


class Matmul(Linear):
    """``x @ y`` for 2-D operands; its VJPs are linear's first two."""

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        return Linear.forward(self, L, ev, xs[:2])


# --------------------------------------------------------------------------------------------
# add, relu, sum, comparisons
# --------------------------------------------------------------------------------------------


class Add:
    """``x + y`` into a buffer that may be either input's (a bias added in place)."""

    def applies(self, ev: OpEvent, xs: list[Slot]) -> bool:
        return True

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        P = L.program
        out = P.buf(ev.out._data.shape, ev.out._data.dtype)
        inplace = tuple((x, out) for x in xs if _same(x, out))
        add = P.emit(
            "{0}({1}, {2}, {3})", np.add, xs[0], xs[1], out,
            reads=tuple(xs), writes=(out,), inplace=inplace,
        )  # fmt: skip
        _note_bias_add(L, add, xs[0], xs[1], out)
        return out

    def vjp(self, L: Lowering, ev: OpEvent, i: int, g: Slot) -> Slot:
        target = L.inputs(ev)[i]
        if g.shape == target.shape:
            return g  # the partial is 1: g is handed on as it is
        axes = ops.unbroadcast_axes(g.shape, target.shape)
        P = L.program
        out = P.buf(target.shape, g.dtype)
        reduced = tuple(n for a, n in enumerate(g.shape) if a not in axes)
        flat = P.view(out, f"{{}}.reshape({reduced!r})", reduced)
        if axes == (0,) and _column_sums_fused(L, g, flat):
            return out
        P.emit("{0}({1}, {2}, None, {3})", add_reduce, g, axes, flat, reads=(g,), writes=(flat,))
        return out


class Relu:
    """``max(x, 0)`` in place over its input; the VJP masks with the output (``out > 0``)."""

    def applies(self, ev: OpEvent, xs: list[Slot]) -> bool:
        return True

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        P = L.program
        out = P.buf(ev.out._data.shape, ev.out._data.dtype)
        bias_add = L.bias_adds.get(xs[0].index)
        if bias_add is not None and P.instrs and P.instrs[-1] is bias_add[0] and _same(xs[0], out):
            # The bias-add just emitted and this ReLU, in one pass (fuse=True): the sum is still
            # written (a later op may read it), the ReLU may take its memory (in place).
            P.instrs.pop()
            _, a, b = bias_add
            P.emit(
                "{0}({1}, {2}, {3}, {4})", L.fused.bias_relu, a, b, xs[0], out,
                reads=(a, b), writes=(xs[0], out), inplace=((a, xs[0]), (xs[0], out)),
                note="bias-add and relu, fused",
            )  # fmt: skip
            return out
        inplace = ((xs[0], out),) if _same(xs[0], out) else ()
        P.emit(
            "{0}({1}, 0, out={2})", np.maximum, xs[0], out,
            reads=(xs[0],), writes=(out,), inplace=inplace,
        )  # fmt: skip
        return out

    def vjp(self, L: Lowering, ev: OpEvent, i: int, g: Slot) -> Slot:
        P = L.program
        out = L.output(ev)
        if _fusable(L, g) and len(g.shape) == 2 and _same(g, out):
            result = P.buf(g.shape, g.dtype)
            L.column_sums[result.index] = P.emit(
                "{0}({1}, {2}, {3}, {4})", L.fused.relu_backward, g, out, result,
                _no_sums(L, g.dtype), reads=(g, out), writes=(result,), inplace=((g, result),),
            )  # fmt: skip
            return result
        mask = P.buf(out.shape, np.bool_)
        P.emit("{0}({1}, 0, {2})", np.greater, out, mask, reads=(out,), writes=(mask,))
        result = P.buf(g.shape, g.dtype)
        P.emit(
            "{0}({1}, {2}, {3})", np.multiply, g, mask, result,
            reads=(g, mask), writes=(result,), inplace=((g, result),),
        )  # fmt: skip
        return result


class Sum:
    """``x.sum(axis, keepdims)`` into a buffer; the VJP is a broadcast view of g (no copy)."""

    def applies(self, ev: OpEvent, xs: list[Slot]) -> bool:
        return True

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        P = L.program
        axes, keepdims = ev.params
        out = P.buf(ev.out._data.shape, ev.out._data.dtype)
        P.emit(
            "{0}({1}, {2}, None, {3}, {4})", add_reduce, xs[0], axes, out, keepdims,
            reads=(xs[0],), writes=(out,),
        )  # fmt: skip
        return out

    def vjp(self, L: Lowering, ev: OpEvent, i: int, g: Slot) -> Slot:
        axes, keepdims = ev.params
        shape = L.inputs(ev)[0].shape
        return L.program.view(
            g, f"expand_reduced({{}}, {axes!r}, {keepdims!r}, {shape!r})", shape, g.dtype
        )


class Compare:
    """``x > y`` and the other comparisons, into a boolean buffer (no VJP: not differentiable)."""

    def applies(self, ev: OpEvent, xs: list[Slot]) -> bool:
        return True

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        P = L.program
        out = P.buf(ev.out._data.shape, ev.out._data.dtype)
        ufunc = getattr(np, ev.row.name)
        P.emit("{0}({1}, {2}, {3})", ufunc, xs[0], xs[1], out, reads=tuple(xs), writes=(out,))
        return out


# --------------------------------------------------------------------------------------------
# cross-entropy of (N, C) logits against N integer targets
# --------------------------------------------------------------------------------------------


def check_targets(targets: np.ndarray, classes: int) -> None:
    """The eager op's check of the targets, run by every replay before the loss is computed."""
    if targets.dtype != np.intp:
        raise TypeError(
            f"cross_entropy: the compiled step's targets changed dtype to {targets.dtype}"
        )
    unsigned = targets.view(np.uintp)
    if targets.size and unsigned.max() >= classes:
        from memograd.engine.tensor import cross_entropy  # the eager op raises its own message

        cross_entropy(np.zeros((targets.shape[0], classes), np.float32), targets)


def minus_onehot(probs: np.ndarray, flat_index: np.ndarray, picked: np.ndarray, out: np.ndarray):
    """``out = probs - onehot``: 1 subtracted at the targets only (``p - 0.0`` is ``p``)."""
    if out is not probs:
        np.copyto(out, probs)
    flat = out.reshape(-1)
    np.take(flat, flat_index, None, picked)
    np.subtract(picked, 1, picked)
    np.put(flat, flat_index, picked)


class CrossEntropy:
    """The row's log-softmax + NLL, every step into a buffer; probabilities kept for the VJP."""

    def applies(self, ev: OpEvent, xs: list[Slot]) -> bool:
        return len(xs[0].shape) == 2 and ev.params[1] in ("mean", "sum", "none")

    def forward(self, L: Lowering, ev: OpEvent, xs: list[Slot]) -> Slot:
        P = L.program
        x = xs[0]
        n, c = x.shape
        targets, reduction = ev.params
        t = L.param_array(ev, targets)
        dtype = ev.out._data.dtype
        if _fusable(L, x):  # the kernel checks the targets; a bad one raises the op's error
            losses = P.buf((n,), x.dtype)
            probs = P.buf(x.shape, x.dtype)
            if reduction == "none":
                out, total = losses, _no_sums(L, dtype)
            else:  # the sum (divided by n for a mean) in the kernel too
                out = P.buf((), dtype)
                total = P.view(out, "{}.reshape(1)", (1,))
            divisor = x.dtype.type(n if reduction == "mean" else 1)
            P.emit(
                "if {0}({1}, {2}, {3}, {4}, {5}, {6}): {7}({2}, {8})",
                L.fused.softmax_cross_entropy, x, t, losses, probs, total, divisor,
                check_targets, c,
                reads=(x, t), writes=(losses, probs, total), inplace=((x, probs),),
                note="log-softmax, its loss and its probabilities, fused",
            )  # fmt: skip
            L.state[id(ev)] = (probs, t, reduction, True)
            return out
        P.emit("{0}({1}, {2})", check_targets, t, c, reads=(t,))
        top = P.buf((n, 1), x.dtype)
        P.emit("{0}({1}, -1, None, {2}, True)", max_reduce, x, top, reads=(x,), writes=(top,))
        shifted = P.buf(x.shape, x.dtype)
        P.emit(
            "{0}({1}, {2}, {3})", np.subtract, x, top, shifted,
            reads=(x, top), writes=(shifted,), inplace=((x, shifted),),
        )  # fmt: skip
        index = self._flat_index(P, t, n, c)
        picked = P.buf((n,), x.dtype)
        P.emit(
            "{0}({1}, {2}, None, {3})", np.take, P.view(shifted, "{}.reshape(-1)", (n * c,)),
            index, picked, reads=(shifted, index), writes=(picked,),
        )  # fmt: skip
        e = P.buf(x.shape, x.dtype)
        P.emit(
            "{0}({1}, {2})", np.exp, shifted, e,
            reads=(shifted,), writes=(e,), inplace=((shifted, e),),
        )  # fmt: skip
        total = P.buf((n, 1), x.dtype)
        P.emit("{0}({1}, -1, None, {2}, True)", add_reduce, e, total, reads=(e,), writes=(total,))
        losses = P.buf((n,), x.dtype)
        P.emit(
            "{0}({1}, {2})", np.log, P.view(total, "{}[:, 0]", (n,)), losses,
            reads=(total,), writes=(losses,),
        )  # fmt: skip
        P.emit(
            "{0}({1}, {2}, {1})",
            np.subtract,
            losses,
            picked,
            reads=(losses, picked),
            writes=(losses,),
        )
        if reduction == "none":
            out = losses
        else:
            out = P.buf((), dtype)
            P.emit(
                "{0}({1}, None, None, {2})", add_reduce, losses, out, reads=(losses,), writes=(out,)
            )
            if reduction == "mean":
                P.emit("{0}({1}, {2}, {1})", np.divide, out, n, reads=(out,), writes=(out,))
        if ev.out.requires_grad:
            probs = P.buf(x.shape, x.dtype)
            P.emit(
                "{0}({1}, {2}, {3})", np.divide, e, total, probs,
                reads=(e, total), writes=(probs,), inplace=((e, probs),),
            )  # fmt: skip
            L.state[id(ev)] = (probs, index, reduction, False)
        return out

    @staticmethod
    def _flat_index(P: Any, t: Slot, n: int, c: int) -> Slot:
        """Each row's target as an index into the flattened (n, c) array: row * c + target."""
        index = P.buf((n,), np.intp)
        rows = P.slot("const", (n,), np.intp, np.arange(n, dtype=np.intp) * c)
        P.emit("{0}({1}, {2}, {3})", np.add, rows, t, index, reads=(rows, t), writes=(index,))
        return index

    def vjp(self, L: Lowering, ev: OpEvent, i: int, g: Slot) -> Slot:
        P = L.program
        probs, index, reduction, fused = L.state[id(ev)]
        n = probs.shape[0]
        result = P.buf(probs.shape, probs.dtype)
        if fused and not _fusable(L, g):  # an adjoint in another dtype: the NumPy calls
            index = self._flat_index(P, index, n, probs.shape[1])
        elif fused:  # index: the targets themselves; g / n in the kernel
            rows = n if reduction == "none" else 1
            g2 = P.view(g, f"{{}}.reshape({rows}, 1)", (rows, 1))
            divisor = g.dtype.type(n if reduction == "mean" else 1)
            L.column_sums[result.index] = P.emit(
                "{0}({1}, {2}, {3}, {4}, {5}, {6})", L.fused.cross_entropy_grad, probs, index,
                g2, divisor, result, _no_sums(L, result.dtype), reads=(probs, index, g2),
                writes=(result,), inplace=((probs, result),),
                note="softmax minus one-hot, scaled, fused",
            )  # fmt: skip
            return result
        picked = P.buf((n,), probs.dtype)
        P.emit(
            "{0}({1}, {2}, {3}, {4})", minus_onehot, probs, index, picked, result,
            reads=(probs, index), writes=(picked, result), inplace=((probs, result),),
        )  # fmt: skip
        if reduction == "mean":
            scale = P.buf(
                (), np.result_type(g.dtype, np.float32) if g.dtype.kind != "f" else g.dtype
            )
            P.emit("{0}({1}, {2}, {3})", np.divide, g, n, scale, reads=(g,), writes=(scale,))
        elif reduction == "none":
            scale = P.view(g, f"{{}}.reshape(({n}, 1))", (n, 1))
        else:
            scale = g
        P.emit(
            "{0}({1}, {2}, {1})",
            np.multiply,
            result,
            scale,
            reads=(result, scale),
            writes=(result,),
        )
        return result


# The library, by row (identity): the rows of an MLP training step.
KERNELS: dict[int, Any] = {
    id(ops.LINEAR): Linear(),
    id(ops.MATMUL): Matmul(),
    id(ops.ADD): Add(),
    id(ops.RELU): Relu(),
    id(ops.SUM): Sum(),
    id(ops.CROSS_ENTROPY): CrossEntropy(),
}


def kernel_for(ev: OpEvent, xs: list[Slot]) -> Any:
    """The library kernel for this op, or None (the row's own functions are called)."""
    from memograd.engine.compiler.trace import _Compare

    if isinstance(ev.row, _Compare):
        return Compare()
    kernel = KERNELS.get(id(ev.row))
    if kernel is not None and kernel.applies(ev, xs):
        return kernel
    return None
