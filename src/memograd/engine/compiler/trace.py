"""Recording a step: one eager run, watched by the engine's hooks.

The first call of a compiled step with a new signature runs the user's function for real (its
results are the eager results) while a :class:`Tracer` sits in ``tensor._tracer`` and
``graph._tracer``. The hooks report every op (``_apply`` and the comparisons), every
``backward()``, every call of a method marked :func:`host_call` (an optimizer's ``step`` and
``zero_grad``), and every way a value could leave the engine for Python: ``.item()``, ``bool()``
(an ``if`` on a tensor), ``.data`` or ``np.asarray`` read by the user's code, ``.data``
assigned, a tensor copied into a new one, a pass of the engine the tracer did not start. Those
are what a plan cannot replay: Python would compute something from values the plan never shows
it again. The tracer refuses them with a :class:`TraceError` naming the user's line, or, when the
step was compiled with ``fallback="eager"``, gives up on the trace (the run goes on eagerly and
the signature stays eager, with one warning).

The record is a list of events (:class:`OpEvent`, :class:`BackwardEvent`, :class:`HostEvent`)
over *references*: ``("arg", k)`` for the k-th array argument, ``("op", i)`` for the output of
event i, ``("leaf", j)`` for the j-th tensor that came from outside the ops (a parameter, a
constant). Two records of the same signature can be compared (:func:`first_difference`): the
second call traces again and must do exactly the same, so a step whose constants change from
call to call (a random mask, a Python counter) is refused instead of frozen into a plan.
"""

from __future__ import annotations

import functools
import linecache
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import memograd.seeding as seeding
from memograd.engine import graph, ops
from memograd.engine import tensor as tensor_module
from memograd.engine.tensor import Tensor

Ref = tuple[str, int]

# One trace at a time in the process: the hooks are module globals. A second thread that wants to
# trace waits; threads running eager code meanwhile are ignored by the hooks (thread check).
_trace_lock = threading.RLock()


class TraceError(RuntimeError):
    """The step does something a compiled plan could not replay (the message names the line)."""


def _is_memograd(frame: Any) -> bool:
    name = frame.f_globals.get("__name__", "")
    return name == "memograd" or name.startswith("memograd.")


def user_line(depth: int = 1) -> str:
    """``file:line in function: source`` of the innermost frame outside memograd."""
    frame = sys._getframe(depth)
    while frame is not None and _is_memograd(frame):
        frame = frame.f_back
    if frame is None:
        return "<inside memograd>"
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    where = f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
    return f"{where}: {source}" if source else where


# What each kind of value read means, and what to do instead (the second half of the error).
_EXPORTS = {
    "item": (".item() reads a value into Python", "return the tensor and call .item() outside"),
    "bool": (
        "an `if`/`while` on a tensor decides by its value",
        "value-dependent control flow cannot be compiled: compute both sides with tensor ops "
        "(a mask as a product), or run this step eagerly",
    ),
    "data": (
        "reading .data hands the array to Python",
        "use tensor ops inside the step (x.shape, x.dtype are fine) and read .data outside",
    ),
    "numpy": (".numpy() hands the array to Python", "call it outside the step"),
    "array": (
        "np.asarray(tensor) hands the array to NumPy",
        "use tensor ops inside the step, or convert outside it",
    ),
    "tolist": (".tolist() reads the values into Python", "return the tensor and convert outside"),
    "float": ("float(tensor) reads a value into Python", "return the tensor and convert outside"),
    "int": ("int(tensor) reads a value into Python", "return the tensor and convert outside"),
    "index": (
        "using a tensor as a Python index (range(t), a list index) reads its value",
        "index with tensor ops (t[idx] with idx a tensor), or compute the index outside",
    ),
    "format": (
        'formatting a tensor (f"{loss:.4f}") reads its value into Python',
        "return the tensor and print it outside the step",
    ),
    "equal": (
        "mg.equal / mg.allclose read values into a Python bool",
        "value-dependent decisions cannot be compiled: make them outside the step",
    ),
    "copy": (
        "copying a tensor into a new one (Tensor(t), mg.tensor(t)) freezes its current values",
        "use the tensor itself, or .detach()",
    ),
}


class _Compare(ops.Op):
    """A comparison as a row of its own (no VJPs): the trace replays ``x > y`` like any op."""


@functools.lru_cache(maxsize=16)
def compare_row(compare: Callable[..., Any]) -> ops.Op:
    return _Compare(compare.__name__, lambda x, y, p: (np.asarray(compare(x, y)), None), ())


class _Derived(ops.Op):
    """A value computed from traced values without a graph node, as a row (no library kernel:
    the replay calls its forward)."""


@functools.lru_cache(maxsize=64)
def derived_row(name: str, forward: Callable[..., Any]) -> ops.Op:
    """A value computed without a graph node (see :meth:`Tracer.derived`), as a row: the replay
    runs ``forward(*arrays, params)`` again, with no VJPs (no gradient flows through it)."""
    return _Derived(name, lambda *args: (np.asarray(forward(*args)), None), ())


@dataclass(eq=False)
class OpEvent:
    row: ops.Op
    inputs: tuple[Ref, ...]
    params: Any
    out: Tensor  # the trace's output (its data gives shape and dtype; kept until the plan)
    ctx: Any  # the row's context, kept before backward frees it
    bound: dict[int, Ref]  # id(array in params) -> the value it is (a parameter read live)
    line: str


@dataclass(eq=False)
class BackwardEvent:
    root: Ref
    seed: Any  # None (ones), a Ref, or a constant array
    retain_graph: bool | None
    leaves: list[int]  # leaf indices that receive a gradient, in delivery order
    assign: list[bool]  # per leaf: its .grad was None before (the gradient is assigned)
    none_before: list[int]  # leaves (of all seen so far) whose .grad was None at this point
    line: str


@dataclass(eq=False)
class HostEvent:
    obj: Any
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    none_before: list[int]
    line: str
    settings: Any = None  # an optimizer's hyperparameters when it was called (see host_call)


def settings_of(obj: Any) -> Any:
    """The hyperparameters of each parameter group of an optimizer (None for other objects).

    Python code in a step that sets them (``group["lr"] = ...``) is not replayed; two records
    whose settings differ show that it ran, and the step is refused rather than frozen.
    """
    groups = getattr(obj, "param_groups", None)
    if not isinstance(groups, list):
        return None
    return tuple(
        tuple(sorted((k, v) for k, v in g.items() if k not in ("params", "param_names")))
        for g in groups
    )


@dataclass(eq=False)
class Record:
    """What one traced call did, over references (see the module docstring)."""

    arg_tensors: list[Tensor]
    leaves: list[Tensor] = field(default_factory=list)
    leaf_alias: dict[int, Ref] = field(default_factory=dict)  # detached views of traced values
    events: list[Any] = field(default_factory=list)
    outputs: Any = None  # the return value, tensors replaced by ("ref", Ref) markers
    none_at_end: list[int] = field(default_factory=list)


_GRAD_SLOT = Tensor.__dict__["grad"]  # the slot behind Tensor.grad


class _WatchedGrad:
    """``Tensor.grad`` while a step is traced: the slot, plus a refusal when the step's own code
    reads a gradient array. NumPy code on a gradient is out of every hook's sight, so an ``if``
    on its values (``if np.isfinite(p.grad).all():``) would be frozen into the plan."""

    def __init__(self, slot: Any, tracer: Tracer) -> None:
        self.slot = slot
        self.tracer = tracer

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if value is not None and not self.tracer._ignored() and not _is_memograd(sys._getframe(1)):
            self.tracer.refuse(
                f"reading a parameter's .grad (shape {obj._data.shape}) inside a compiled step "
                "hands the gradient array to Python code, which the plan cannot replay (an `if` "
                "on its values would be frozen); read .grad after the step (a replay fills it), "
                "and clip or scale gradients with an optimizer",
                user_line(2),
            )
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self.slot.__set__(obj, value)


class Tracer:
    """Watches one eager run of a step and records it; installed in the engine's hooks."""

    def __init__(self, arg_tensors: list[Tensor], fallback: bool, watch: list[Tensor] = ()) -> None:
        self.record = Record(arg_tensors)
        self.fallback = fallback
        self.refused: str | None = None  # set when the trace gave up (fallback="eager")
        self.thread = threading.get_ident()
        self.suspended = 0  # inside a host call or the tracer's own backward: not recorded
        self.refs: dict[int, Ref] = {}
        self.by_root: dict[int, list[Ref]] = {}  # id(memory root) -> traced values on it
        self.keep: list[Any] = []  # keeps every id above alive, so that none is reused
        self.grad_leaves: list[int] = []  # leaves that require grad, in order of first sight
        self.grad_seen: dict[int, tuple[Any, np.ndarray]] = {}  # leaf -> (array, its values)
        self.last_line = "the start of the step"
        # The gradients at the start of the step of the tensors the first record of this
        # signature used (``watch``): Python code that writes one before the step first uses
        # its tensor is out of every hook's sight (np.copyto, p.grad = new array); the second
        # record, the one planned, compares at first sight (see :meth:`_check_start_grad`).
        self.grads_at_start = {
            id(t): (t, t.grad, None if t.grad is None else np.array(t.grad, copy=True))
            for t in watch
            if t.requires_grad
        }
        for k, t in enumerate(arg_tensors):
            self._register(t, ("arg", k))

    # ---- installing ------------------------------------------------------------------------

    def __enter__(self) -> Tracer:
        _trace_lock.acquire()
        tensor_module._tracer = self
        graph._tracer = self
        seeding._draw_hook = self.random_draw
        Tensor.grad = _WatchedGrad(_GRAD_SLOT, self)  # only while tracing: eager reads stay free
        return self

    def __exit__(self, *exc: Any) -> None:
        tensor_module._tracer = None
        graph._tracer = None
        seeding._draw_hook = None
        Tensor.grad = _GRAD_SLOT
        _trace_lock.release()

    def _ignored(self) -> bool:
        return (
            self.suspended > 0 or self.refused is not None or threading.get_ident() != self.thread
        )

    def refuse(self, message: str, line: str | None = None) -> None:
        """Raise a TraceError naming the line, or give the trace up (fallback="eager")."""
        where = line or user_line(3)
        text = f"{where}\n  mg.compile: {message}"
        self.refused = text  # kept even if the step's own code catches the error below
        if not self.fallback:
            raise TraceError(text)

    # ---- references ------------------------------------------------------------------------

    def _register(self, t: Tensor, ref: Ref) -> None:
        self.refs[id(t)] = ref
        self.keep.append(t)
        self.by_root.setdefault(id(tensor_module._memory_root(t._data)), []).append(ref)
        self.keep.append(t._data)

    def ref(self, t: Tensor) -> Ref:
        """The reference of a tensor an op reads; a new leaf is registered on first sight."""
        ref = self.refs.get(id(t))
        if ref is not None:
            return ref
        if t.parents:
            self.refuse(
                f"a tensor with a graph built outside the compiled step ({t.op!r}, shape "
                f"{t.shape}) is used inside it; the plan cannot run backward through the "
                "outside graph: compute it inside the step, or .detach() it"
            )
        index = len(self.record.leaves)
        ref = ("leaf", index)
        overlapping = self._overlapping(t._data)
        if overlapping:
            same = [r for r in overlapping if self._tensor_of(r)._data is t._data]
            if not same:
                self.refuse(
                    f"a tensor sharing memory with a traced value (shape {t.shape}) was made "
                    "outside the engine's ops; use the value itself, or .detach() it"
                )
            else:
                self.record.leaf_alias[index] = same[0]
        self.record.leaves.append(t)
        self.refs[id(t)] = ref
        self.keep.append(t)
        self.by_root.setdefault(id(tensor_module._memory_root(t._data)), []).append(ref)
        if t.requires_grad:
            self._check_start_grad(t)
            self.grad_leaves.append(index)
            if t.grad is not None:
                self.grad_seen[index] = (t.grad, np.array(t.grad, copy=True))
        return ref

    def _check_start_grad(self, t: Tensor) -> None:
        """Refuse a ``.grad`` that Python wrote between the start of the step and the step's
        first use of its tensor (the plan would add to whatever ``.grad`` holds then)."""
        start = self.grads_at_start.get(id(t))
        if start is None or t.grad is None:  # None: the plan assigns, as eager does
            return
        _, grad, values = start
        if t.grad is not grad or not np.array_equal(t.grad, values, equal_nan=True):
            self.refuse(
                f"the .grad of a parameter of shape {t._data.shape} was changed by Python code "
                "before the step first used the parameter; the plan cannot replay that write "
                "(call optimizer.zero_grad() or model.zero_grad(), which are replayed, or set "
                "p.grad = None)"
            )

    def _overlapping(self, array: np.ndarray) -> list[Ref]:
        """The traced values whose memory overlaps ``array``'s, in the order they were seen.

        Values on one memory root need not overlap: parameters that are disjoint views of one
        flat array (a vector an outside optimizer works on, cut into layers) are each a leaf
        of their own.
        """
        return [
            r
            for r in self.by_root.get(id(tensor_module._memory_root(array)), ())
            if np.may_share_memory(self._tensor_of(r)._data, array)
        ]

    def _tensor_of(self, ref: Ref) -> Tensor:
        kind, i = ref
        if kind == "arg":
            return self.record.arg_tensors[i]
        if kind == "leaf":
            return self.record.leaves[i]
        return self.record.events[i].out

    def _bind_params(self, params: Any, bound: dict[int, Ref]) -> None:
        """Arrays among an op's parameters that are traced values (cross-entropy's targets given
        as a tensor or argument) are read live by the plan; any other array is a constant."""
        if isinstance(params, np.ndarray):
            overlapping = self._overlapping(params)
            if overlapping:
                ref = overlapping[0]
                owner = self._tensor_of(ref)
                data = owner._data
                if not (
                    params is data
                    or (
                        params.size == data.size
                        and data.flags.c_contiguous
                        and params.flags.c_contiguous
                    )
                ):
                    self.refuse(
                        f"a parameter of an op is a strided view of a traced value (shape "
                        f"{params.shape}); pass it whole"
                    )
                bound[id(params)] = ref
        elif isinstance(params, tuple | list):
            for item in params:
                self._bind_params(item, bound)

    # ---- the hooks -------------------------------------------------------------------------

    def op(self, row: ops.Op, parents: tuple[Tensor, ...], params: Any, out: Tensor) -> None:
        if self._ignored():
            return
        inputs = tuple(self.ref(p) for p in parents)
        if self.refused is not None:
            return
        bound: dict[int, Ref] = {}
        self._bind_params(params, bound)
        if self.refused is not None:
            return
        line = user_line(3)
        self.last_line = line
        event = OpEvent(row, inputs, params, out, out._ctx, bound, line)
        self._register(out, ("op", len(self.record.events)))
        self.record.events.append(event)

    def derived(
        self,
        name: str,
        forward: Callable[..., Any],
        inputs: tuple[Tensor, ...],
        params: Any,
        out: Tensor,
    ) -> None:
        """A constant computed from traced values outside ``_apply`` (``&``, ``~``, ``any``,
        ``argmax``, an integer cast): recorded as an op of its own, so that the plan computes
        it again from each call's values instead of freezing the traced call's."""
        if self._ignored():
            return
        self.op(derived_row(name, forward), inputs, params, out)

    def random_draw(self) -> None:
        """A generator handed out (mg.rand, randn, randint, randperm, uniform_, normal_,
        dropout...): a plan would draw nothing and reuse the traced call's numbers."""
        if self._ignored():
            return
        self.refuse(
            "a random draw (mg.rand, randn, randint, randperm, uniform_, normal_, dropout, "
            "nn.Dropout) inside a compiled step; a plan would reuse the traced call's numbers "
            "on every call. Draw outside the step and pass the values as an argument, or run "
            "this step eagerly"
        )

    def unsupported(self, message: str) -> None:
        """Something the plan cannot replay, said in the engine's words."""
        if self._ignored():
            return
        self.refuse(f"{message} inside a compiled step")

    def compared(self, compare: Any, x: Tensor, other: Any, out: Tensor) -> None:
        if self._ignored():
            return
        if not isinstance(other, Tensor):
            other = tensor_module._constant(other, x._data.dtype, compare.__name__)
        self.op(compare_row(compare), (x, other), None, out)

    def exported(self, t: Tensor, what: str) -> None:
        if self._ignored():
            return
        if what in ("data", "numpy", "array") and _is_memograd(sys._getframe(2)):
            return  # the engine reading shapes, dtypes, a cross-entropy's targets
        reads, instead = _EXPORTS[what]
        self.refuse(
            f"{reads} (a tensor of shape {t._data.shape}) inside a compiled step; the plan "
            f"would freeze whatever Python computes from it. {instead}"
        )

    def written(self, t: Tensor) -> None:
        if self._ignored():
            return
        self.refuse(
            f"assigning .data (a tensor of shape {t._data.shape}) inside a compiled step is a "
            "write the plan cannot replay; update parameters with an mg.optim optimizer (its "
            "step() is replayed), or assign outside the step"
        )

    def written_in_place(self, t: Tensor) -> None:
        """Library code wrote into a tensor with NumPy (batch norm's running statistics,
        gradient clipping) outside a replayed call: the replay would skip that write."""
        if self._ignored():
            return
        self.refuse(
            f"a tensor of shape {t._data.shape} is written in place by NumPy code (such as "
            "BatchNorm's running statistics in training mode) that the plan cannot replay; "
            "run this step eagerly, or put the module in eval mode"
        )

    def in_place(self, t: Tensor, name: str) -> None:
        """An in-place op of the Tensor surface (``+=``, ``add_``, ``zero_``, ``copy_``,
        ``x[i] = v``, ``uniform_``...) inside the step: refused, before it writes.

        The plan replays ops as values in planned buffers; a write into a tensor's own memory
        (seen by its views, by arrays shared with NumPy, by a parameter the next call reads)
        is not among them, and a plan that skipped it would be silently wrong.
        """
        if self._ignored():
            return
        spelled = "+=, -=, *=, /=" if name in ("add_", "sub_", "mul_", "div_") else ""
        also = f" (or {spelled})" if spelled else ""
        self.refuse(
            f"the in-place op {name}(){also} on a tensor of shape {t._data.shape} inside a "
            "compiled step; the plan replays only out-of-place ops. Write it out of place "
            "(`x = x + y` for `x += y`, `x = x.clamp(...)`, `mg.where(mask, v, x)` for "
            "masked_fill_/x[i] = v), update parameters with an mg.optim optimizer (its step() "
            "is replayed), or run this step eagerly"
        )

    def grad_written(self, what: str) -> None:
        """Python code wrote into a parameter's ``.grad`` (a GradArray) inside the step."""
        if self._ignored():
            return
        self.refuse(
            f"{what} writes a gradient in place inside a compiled step; the plan cannot replay "
            "it (and the values it writes need not differ in the traced call, so it cannot be "
            "checked afterwards). Call optimizer.zero_grad() or model.zero_grad() (replayed), "
            "set p.grad = None, or write gradients outside the step"
        )

    def engine_pass(self, what: str) -> None:
        if self._ignored():
            return
        self.refuse(
            f"{what} other than loss.backward() (a transform such as mg.grad, or a Value's "
            "backward) runs inside the compiled step; the plan replays only the default "
            "backward() of a tensor: call it outside the step"
        )

    def backward(
        self,
        root: Tensor,
        gradient: Any,
        strategy: Any,
        stats: bool,
        create_graph: bool,
        retain_graph: bool | None,
    ) -> Any:
        """Tensor.backward inside the step: check what the plan supports, run it, record it."""
        if self._ignored():
            return graph.backward(
                root,
                root._seed(gradient, create_graph),
                strategy,
                stats=stats,
                create_graph=create_graph,
                retain_graph=retain_graph,
            )
        line = user_line(3)
        if strategy != "sweep" or create_graph or stats:
            self.refuse(
                "backward() with strategy=..., create_graph=True or stats=True inside a compiled "
                "step; the plan replays the default sweep: call backward() plainly"
            )
        root_ref = self.refs.get(id(root))
        if root_ref is None or root_ref[0] != "op":
            self.refuse("backward() of a tensor that was not computed inside the compiled step")
        seed: Any = None
        if gradient is not None:
            if isinstance(gradient, Tensor):
                seed = self.ref(gradient)
            else:
                seed = np.array(np.asarray(gradient), copy=True)
        if self.refused is not None:
            return self._suspended(
                lambda: graph.backward(root, root._seed(gradient), retain_graph=retain_graph)
            )
        leaves = self._leaves_of(root)
        if self.refused is not None:
            return self._suspended(
                lambda: graph.backward(root, root._seed(gradient), retain_graph=retain_graph)
            )
        self._check_grads(line)
        none_before = [j for j in self.grad_leaves if self.record.leaves[j].grad is None]
        assign = [self.record.leaves[j].grad is None for j in leaves]
        self._suspended(
            lambda: graph.backward(root, root._seed(gradient), retain_graph=retain_graph)
        )
        for j in leaves:
            grad = self.record.leaves[j].grad
            self.grad_seen[j] = (grad, np.array(grad, copy=True))
        self.record.events.append(
            BackwardEvent(root_ref, seed, retain_graph, leaves, assign, none_before, line)
        )
        self.last_line = line
        return None

    def _suspended(self, run: Callable[[], Any]) -> Any:
        self.suspended += 1
        try:
            return run()
        finally:
            self.suspended -= 1

    def _leaves_of(self, root: Tensor) -> list[int]:
        """The leaves a backward from ``root`` reaches; every node on the way must be traced."""
        leaves = []
        seen = {id(root)}
        stack = [root]
        while stack:
            node = stack.pop()
            for parent in node.parents:
                if not parent.requires_grad or id(parent) in seen:
                    continue
                seen.add(id(parent))
                ref = self.refs.get(id(parent))
                if ref is None:
                    self.refuse("backward() reaches a tensor that the trace did not record")
                    return []
                if ref[0] == "op":
                    stack.append(parent)
                elif ref[0] == "leaf" and ref[1] not in self.record.leaf_alias:
                    leaves.append(ref[1])
                else:
                    self.refuse(
                        "backward() reaches an argument of the step that requires grad; pass "
                        "parameters by closure (or as attributes of a model), not as arguments"
                    )
                    return []
        return sorted(leaves)

    def _check_grads(self, line: str) -> None:
        """Refuse a .grad that Python changed behind the engine's back since it was seen."""
        for j in self.grad_leaves:
            grad = self.record.leaves[j].grad
            if grad is None:
                continue
            seen = self.grad_seen.get(j)
            if seen is None:
                self.grad_seen[j] = (grad, np.array(grad, copy=True))
                continue
            if grad is not seen[0] or not np.array_equal(grad, seen[1], equal_nan=True):
                shape = self.record.leaves[j]._data.shape
                self.refuse(
                    f"the .grad of a parameter of shape {shape} was changed by Python code "
                    f"between {self.last_line!r} and here; the plan cannot replay it (clip or "
                    "scale gradients in an optimizer, or outside the step)",
                    line,
                )
                return

    def host_call(
        self, obj: Any, method: str, run: Callable[[], Any], args: Any, kwargs: Any
    ) -> Any:
        """A method marked :func:`host_call` (an optimizer's step): run and record it whole."""
        if self._ignored():
            return run()
        line = user_line(3)
        self._check_grads(line)
        none_before = [j for j in self.grad_leaves if self.record.leaves[j].grad is None]
        if self.refused is not None:
            return run()
        self.record.events.append(
            HostEvent(obj, method, args, kwargs, none_before, line, settings_of(obj))
        )
        result = self._suspended(run)
        if result is not None:
            self.refuse(f"{type(obj).__name__}.{method}() returned a value the plan would freeze")
        for key, (t, _, _) in self.grads_at_start.items():  # the replay makes these writes too
            self.grads_at_start[key] = (t, t.grad, None if t.grad is None else np.array(t.grad))
        for j in self.grad_leaves:  # the call may change gradients: that is part of what it does
            grad = self.record.leaves[j].grad
            if grad is not None:
                self.grad_seen[j] = (grad, np.array(grad, copy=True))
        self.last_line = line
        return result

    def finish(self, outputs: Any) -> None:
        """The step returned: check the gradients once more and record the return value."""
        if self.refused is not None:
            return
        self._check_grads("the end of the step")
        self.record.none_at_end = [
            j for j in self.grad_leaves if self.record.leaves[j].grad is None
        ]
        self.record.outputs = self._output_tree(outputs)

    def _output_tree(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            ref = self.refs.get(id(value))
            if ref is None:
                ref = self.ref(value)
            return ("ref", ref)
        if isinstance(value, np.ndarray):
            for j in self.grad_leaves:  # a parameter's .grad, handed back
                if self.record.leaves[j].grad is value:
                    return ("grad", j)
            self.refuse(
                "the step returns a NumPy array the plan did not compute; return tensors",
                "the return value of the step",
            )
            return None
        if isinstance(value, tuple | list):
            return (type(value), [self._output_tree(v) for v in value])
        if isinstance(value, dict):
            return (dict, [(k, self._output_tree(v)) for k, v in value.items()])
        return ("const", value)


def host_call(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a method whose whole effect a compiled step replays by calling it again.

    An optimizer's ``step()`` updates arrays in place with NumPy, out of the tracer's sight;
    marked, it is recorded as one event and called again by every replay (with the gradients the
    plan computed in ``.grad``). Its result must be None. Costs one global read when nothing is
    being traced.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = tensor_module._tracer
        if tracer is None:
            return method(self, *args, **kwargs)
        return tracer.host_call(
            self, method.__name__, lambda: method(self, *args, **kwargs), args, kwargs
        )

    return wrapper
