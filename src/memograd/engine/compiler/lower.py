"""From a record to a program: the forward ops, the backward sweep, the host calls, in order.

The forward is the record's ops, each lowered by its library kernel or by the row's own function.
The backward is not re-derived here: the engine's own sweep (``graph._sweep``, Kahn's order, the
same pending counts, the same rule for when an adjoint is added into in place) runs over stand-in
nodes (:class:`_Proxy`) whose VJPs *emit* instructions instead of computing, and whose adjoints are
symbols (:class:`_Sym`) whose ``+`` and ``+=`` emit additions. So the plan's backward is the very
sequence of VJP calls and accumulations that the eager sweep performs, recorded once: the sweep's
table of adjoints, memoized as a program.

Gradients reach the parameters as eager delivery does (assigned when ``.grad`` was None, added
otherwise), into buffers that persist from step to step. A ``.grad`` that Python set to None in the
step (``p.grad = None``, which no hook sees) is set to None again by the plan at the same point.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from memograd.engine import graph, ops
from memograd.engine.compiler import kernels
from memograd.engine.compiler.program import Program, Slot
from memograd.engine.compiler.trace import (
    BackwardEvent,
    HostEvent,
    OpEvent,
    Record,
    Ref,
    TraceError,
)
from memograd.engine.stats import BackwardStats

_NO_SAVES = ops.Op("", None, ())


class _Proxy:
    """A node of the traced graph as the sweep sees it; its VJPs lower instead of computing."""

    _SCALAR = False
    __slots__ = ("parents", "requires_grad", "_keeps_grad", "_row", "_vjps", "event", "ref")

    def __init__(self, ref: Ref, requires_grad: bool) -> None:
        self.ref = ref
        self.requires_grad = requires_grad
        self.parents: tuple[_Proxy, ...] = ()
        self._keeps_grad = True
        self._row = _NO_SAVES
        self._vjps: tuple[Any, ...] = ()
        self.event: OpEvent | None = None


class _Sym:
    """An adjoint during the symbolic sweep: a slot whose ``+``/``+=`` emit the addition."""

    __slots__ = ("slot", "lowering")

    def __init__(self, slot: Slot, lowering: Lowering) -> None:
        self.slot = slot
        self.lowering = lowering

    def __add__(self, other: _Sym) -> _Sym:
        a, b = self.slot, other.slot
        P = self.lowering.program
        out = P.buf(np.broadcast_shapes(a.shape, b.shape), np.result_type(a.dtype, b.dtype))
        inplace = tuple((s, out) for s in (a, b) if s.shape == out.shape and s.dtype == out.dtype)
        P.emit(
            "{0}({1}, {2}, {3})", np.add, a, b, out,
            reads=(a, b), writes=(out,), inplace=inplace, note="an adjoint's second contribution",
        )  # fmt: skip
        return _Sym(out, self.lowering)

    def __iadd__(self, other: _Sym) -> _Sym:
        a, b = self.slot, other.slot
        self.lowering.program.emit(
            "{0}({1}, {2}, {1})", np.add, a, b, reads=(a, b), writes=(a,),
            note="a further contribution, added in place",
        )  # fmt: skip
        return self


class Lowering:
    """Builds the :class:`Program` of one record (:meth:`run`)."""

    def __init__(self, record: Record, arg_is_tensor: list[bool], fused: Any = None) -> None:
        self.record = record
        self.fused = fused  # the fused kernels' module (fuse=True), or None: NumPy calls only
        self.bias_adds: dict[int, tuple[Any, Slot, Slot]] = {}  # out slot -> (instr, x, bias)
        self.column_sums: dict[int, Any] = {}  # adjoint slot -> the fused instr that wrote it
        self.program = Program(len(record.arg_tensors), arg_is_tensor)
        self.values: dict[Ref, Slot] = {}
        self.state: dict[Any, Any] = {}  # a kernel's own slots, by id(event) (or a tuple with it)
        self.kernels: dict[int, Any] = {}  # id(event) -> library kernel (None: the row's own)
        self.forward_instr: dict[int, int] = {}  # id(event) -> index of its last instruction
        self.fallback: dict[int, tuple[Slot, Slot]] = {}  # id(event) -> (output, ctx) slots
        self.nodeviews: dict[int, Slot] = {}
        self.grad_state: dict[int, str] = {}  # leaf -> "none" | "set" (absent: unknown)
        self.event_index = {id(e): i for i, e in enumerate(record.events)}

    # ---- values ----------------------------------------------------------------------------

    def slot_of(self, ref: Ref) -> Slot:
        slot = self.values.get(ref)
        if slot is not None:
            return slot
        kind, i = ref
        if kind == "arg":
            data = self.record.arg_tensors[i]._data
            slot = self.program.slot("arg", data.shape, data.dtype, i)
            slot.name = f"a{i}"
        elif kind == "leaf":
            alias = self.record.leaf_alias.get(i)
            if alias is not None:
                slot = self.slot_of(alias)
            else:
                t = self.record.leaves[i]
                slot = self.program.slot("leaf", t._data.shape, t._data.dtype, t)
                self.program.leaf_tensors[slot.index] = t
        else:
            raise TraceError(f"internal: value {ref} used before it was computed")
        self.values[ref] = slot
        return slot

    def inputs(self, ev: OpEvent) -> list[Slot]:
        return [self.slot_of(r) for r in ev.inputs]

    def output(self, ev: OpEvent) -> Slot:
        return self.values[("op", self.event_index[id(ev)])]

    def param_array(self, ev: OpEvent, array: np.ndarray) -> Slot:
        """An array parameter: the traced value it is (read live), or a constant."""
        ref = ev.bound.get(id(array))
        if ref is None:
            return self.program.slot("const", array.shape, array.dtype, array)
        slot = self.slot_of(ref)
        if slot.shape != array.shape:
            slot = self.program.view(slot, f"{{}}.reshape({array.shape!r})", array.shape)
        return slot

    def trace_array(self, ref: Ref) -> np.ndarray:
        kind, i = ref
        if kind == "arg":
            return self.record.arg_tensors[i]._data
        if kind == "leaf":
            alias = self.record.leaf_alias.get(i)
            return self.trace_array(alias) if alias else self.record.leaves[i]._data
        return self.record.events[i].out._data

    # ---- the record, event by event ----------------------------------------------------------

    def run(self) -> Program:
        for k in range(len(self.record.arg_tensors)):
            self.slot_of(("arg", k))
        for index, event in enumerate(self.record.events):
            if isinstance(event, OpEvent):
                self._op(index, event)
            elif isinstance(event, BackwardEvent):
                self._backward(event)
            elif isinstance(event, HostEvent):
                self._host(event)
        self._set_none(self.record.none_at_end, "the end of the step")
        self.program.outputs = self._outputs(self.record.outputs)
        return self.program

    def _op(self, index: int, ev: OpEvent) -> None:
        xs = self.inputs(ev)
        kernel = kernels.kernel_for(ev, xs)
        self.kernels[id(ev)] = kernel
        start = len(self.program.instrs)
        if kernel is not None:
            out = kernel.forward(self, ev, xs)
        else:
            out = self._fallback_forward(ev, xs)
        for instr in self.program.instrs[start:]:
            instr.note = instr.note or f"{ev.row.name}  # {ev.line}"
        self.forward_instr[id(ev)] = len(self.program.instrs) - 1
        self.values[("op", index)] = out

    def _fallback_forward(self, ev: OpEvent, xs: list[Slot]) -> Slot:
        if ev.bound:
            raise TraceError(
                f"{ev.line}\n  mg.compile: {ev.row.name!r} takes a traced value as a parameter, "
                "which the plan supports for cross_entropy's targets only"
            )
        P = self.program
        data = ev.out._data
        out = P.slot("dyn", data.shape, data.dtype)
        out.keeps = tuple(xs)
        ctx = P.slot("obj", (), object)
        holes = ", ".join(f"{{{k + 3}}}" for k in range(len(xs)))
        P.emit(
            "{0}, {1} = {2}(" + holes + f", {{{len(xs) + 3}}})",
            out, ctx, ev.row.forward, *xs, ev.params,
            reads=tuple(xs), writes=(out, ctx),
            note=f"{ev.row.name} (its own forward)  # {ev.line}",
        )  # fmt: skip
        self.fallback[id(ev)] = (out, ctx)
        return out

    def _nodeview(self, ev: OpEvent) -> Slot:
        """A stand-in node for the row's VJPs, made right after the forward that it describes."""
        view = self.nodeviews.get(id(ev))
        if view is not None:
            return view
        out, ctx = self.fallback[id(ev)]
        xs = self.inputs(ev)
        P = self.program
        view = P.slot("obj", (), object)
        view.keeps = (*xs, out, ctx)
        holes = "".join(f", {{{k + 5}}}" for k in range(len(xs)))
        at = self.forward_instr[id(ev)] + 1
        P.emit(
            "{0} = {1}({2}, {3}, {4}" + holes + ")", view, kernels.NodeView, ev.row.name, ctx, out,
            *xs, reads=(*xs, out, ctx), writes=(view,),
        )  # fmt: skip
        P.instrs.insert(at, P.instrs.pop())
        for key, position in self.forward_instr.items():
            if position >= at:
                self.forward_instr[key] = position + 1
        self.nodeviews[id(ev)] = view
        return view

    def _fallback_vjp(self, ev: OpEvent, i: int, g: Slot) -> Slot:
        if id(ev) not in self.fallback:
            raise TraceError(f"internal: no fallback forward for {ev.row.name}")
        view = self._nodeview(ev)
        example = ev.row.vjps[i](
            np.zeros(g.shape, g.dtype),
            kernels.NodeView(
                ev.row.name, ev.ctx, ev.out._data, *[self.trace_array(r) for r in ev.inputs]
            ),
        )
        example = np.asarray(example)
        P = self.program
        out = P.slot("dyn", example.shape, example.dtype)
        out.keeps = (g, view)
        P.emit(
            "{0} = {1}({2}, {3})", out, ev.row.vjps[i], g, view,
            reads=(g, view), writes=(out,), note=f"{ev.row.name} VJP {i} (its own)  # {ev.line}",
        )  # fmt: skip
        return out

    # ---- backward ------------------------------------------------------------------------------

    def _backward(self, ev: BackwardEvent) -> None:
        self._set_none(ev.none_before, ev.line)
        proxies: dict[Ref, _Proxy] = {}

        def proxy(ref: Ref) -> _Proxy:
            p = proxies.get(ref)
            if p is not None:
                return p
            kind, i = ref
            if kind == "op":
                event = self.record.events[i]
                p = _Proxy(ref, bool(event.out.requires_grad))
                p.event = event
                proxies[ref] = p
                if p.requires_grad:
                    p.parents = tuple(proxy(r) for r in event.inputs)
                    p._keeps_grad = False
                    p._vjps = tuple(
                        functools.partial(self._vjp, event, k) for k in range(len(event.inputs))
                    )
            else:
                requires = kind == "leaf" and i not in self.record.leaf_alias
                p = _Proxy(ref, requires and bool(self.record.leaves[i].requires_grad))
                proxies[ref] = p
            return p

        root = proxy(ev.root)
        seed = self._seed(ev)
        delivered, _ = graph._sweep(root, _Sym(seed, self), BackwardStats("sweep"))
        given: set[int] = set()
        for node, sym in delivered:
            kind, j = node.ref
            t = self.record.leaves[j]
            grad = self._grad_buffer(sym.slot, t, given)
            if ev.assign[ev.leaves.index(j)]:
                code = "{0}.grad = {1}"
            else:
                code = "{0}.grad = {1} if {0}.grad is None else {0}.grad + {1}"
            self.program.emit(code, t, grad, reads=(grad,), note=f"gradient of a leaf  # {ev.line}")
            self.grad_state[j] = "set"

    def _seed(self, ev: BackwardEvent) -> Slot:
        root_data = self.trace_array(ev.root)
        P = self.program
        if ev.seed is None:
            return P.slot("const", root_data.shape, root_data.dtype, np.ones_like(root_data))
        if isinstance(ev.seed, tuple):  # a traced tensor: copied, as the eager seed is
            source = self.slot_of(ev.seed)
            seed = P.buf(root_data.shape, root_data.dtype)
            P.emit(
                "{0}({1}, {2}, casting='unsafe')", np.copyto, seed, source,
                reads=(source,), writes=(seed,),
            )  # fmt: skip
            return seed
        array = np.asarray(ev.seed).astype(root_data.dtype)
        return P.slot("const", array.shape, array.dtype, array)

    def _vjp(self, ev: OpEvent, i: int, g: _Sym, node: Any) -> _Sym:
        kernel = self.kernels[id(ev)]
        if kernel is not None:
            slot = kernel.vjp(self, ev, i, g.slot)
        else:
            slot = self._fallback_vjp(ev, i, g.slot)
        return _Sym(slot, self)

    def _grad_buffer(self, slot: Slot, t: Any, given: set[int]) -> Slot:
        """The buffer a leaf's gradient lives in from step to step: the adjoint's own when only
        this leaf receives it, else a copy (the eager delivery copies in the same cases)."""
        shape, dtype = t._data.shape, t._data.dtype
        if slot.kind == "buf" and slot.index not in given and slot.shape == shape:
            if slot.dtype == dtype:
                slot.pinned = True
                given.add(slot.index)
                return slot
        P = self.program
        grad = P.buf(shape, dtype)
        grad.pinned = True
        source = slot
        if slot.shape != shape:
            source = P.view(slot, f"{{}}.reshape({shape!r})", shape)
        P.emit(
            "{0}({1}, {2}, casting='unsafe')", np.copyto, grad, source,
            reads=(source,), writes=(grad,), note="a gradient copied to its own buffer",
        )  # fmt: skip
        given.add(grad.index)
        return grad

    # ---- host calls and gradient states -------------------------------------------------------

    def _set_none(self, leaves: list[int], line: str) -> None:
        for j in leaves:
            if self.grad_state.get(j) != "none":
                t = self.record.leaves[j]
                self.program.emit("{0}.grad = None", t, note=f"p.grad = None  # before {line}")
                self.grad_state[j] = "none"

    def _host(self, ev: HostEvent) -> None:
        self._set_none(ev.none_before, ev.line)
        for value in (*ev.args, *ev.kwargs.values()):
            if isinstance(value, np.ndarray) or hasattr(value, "_data"):
                raise TraceError(
                    f"{ev.line}\n  mg.compile: {type(ev.obj).__name__}.{ev.method}() is called "
                    "with an array argument, which a replay could not supply"
                )
        method = getattr(ev.obj, ev.method)
        fused = getattr(ev.obj, "fused_" + ev.method, None) if self.fused is not None else None
        if fused is not None and not (ev.args or ev.kwargs):  # the object's own fused version
            self.program.emit(
                "{0}({1})", fused, self.fused,
                note=f"{type(ev.obj).__name__}.{ev.method}, fused  # {ev.line}",
            )  # fmt: skip
        elif ev.args or ev.kwargs:
            self.program.emit(
                "{0}(*{1}, **{2})", method, ev.args, ev.kwargs,
                note=f"{type(ev.obj).__name__}.{ev.method}  # {ev.line}",
            )  # fmt: skip
        else:
            self.program.emit(
                "{0}()", method, note=f"{type(ev.obj).__name__}.{ev.method}  # {ev.line}"
            )
        self.grad_state.clear()  # the call may have changed any gradient

    def _outputs(self, tree: Any) -> Any:
        kind = tree[0]
        if kind == "ref":
            return ("slot", self.slot_of(tree[1]))
        if kind == "grad":
            return ("grad", self.record.leaves[tree[1]])
        if kind == "const":
            return tree
        container, items = tree
        if container is dict:
            return (dict, [(k, self._outputs(v)) for k, v in items])
        return (container, [self._outputs(v) for v in items])


def lower(record: Record, arg_is_tensor: list[bool], fused: Any = None) -> Program:
    """The program of one record: forward, backward and host calls as a flat list
    (``fused``: the module of fused kernels to use where they apply)."""
    return Lowering(record, arg_is_tensor, fused).run()
