"""``mg.compile(step)``: a training step that memoizes itself, one plan per signature.

A step builds the same graph on every call: the graph is a function of the shapes. So its
*plan* is memoized, keyed by the call's signature (each array argument's shape and dtype, every
other argument's value), as ``jax.jit`` and ``torch.compile`` key theirs:

1. The first call with a signature runs the step eagerly while a :class:`~trace.Tracer` records
   it (the result is the eager result).
2. The second call runs and records it again, and the two records must agree op for op, constant
   for constant: a step whose Python makes different constants on each call (a random mask, a
   counter) is refused here rather than frozen into a plan. The plan is made from this record:
   lowered (:mod:`lower`), its buffers planned (:mod:`plan`), written as one Python function
   (:mod:`codegen`).
3. Every later call checks that the parameters still hold the arrays the plan was bound to and
   replays the plan: NumPy kernels writing into buffers planned once, no graph.

A new signature traces again; the cache holds ``cache_size`` signatures (least recently used
dropped first). Results equal the eager step's bitwise where the same kernels run in the same
order, which is everywhere the library's kernels are used (the tests check 20 steps of every
optimizer); a step returns copies of its tensors, without a graph.

What a plan cannot replay (a value read into Python, an ``if`` on a tensor, ``.data`` assigned,
a record that changes between calls) raises :class:`~trace.TraceError` naming the line, or, with
``fallback="eager"``, warns once and runs that signature eagerly from then on.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from memograd.engine import tensor as tensor_module
from memograd.engine.compiler.codegen import Generated, bind, generate
from memograd.engine.compiler.lower import lower
from memograd.engine.compiler.plan import MemoryReport, Plan, plan
from memograd.engine.compiler.trace import (
    BackwardEvent,
    HostEvent,
    OpEvent,
    Record,
    TraceError,
    Tracer,
)
from memograd.engine.graph import grad_mode
from memograd.engine.tensor import Tensor

FALLBACKS = ("raise", "eager")


class CacheInfo(NamedTuple):
    """How a compiled step's calls went: traced, replayed, run eagerly; plans held."""

    traces: int
    replays: int
    eager_calls: int
    plans: int
    maxsize: int


@dataclass(eq=False)
class CompiledPlan:
    """One signature's plan: its replay function, its source and its memory."""

    plan: Plan
    generated: Generated
    replay: Callable[..., Any]
    guard: Callable[[], bool]
    namespace: dict[str, Any]

    @property
    def source(self) -> str:
        """The replay function's Python source: the schedule, one NumPy call a line."""
        return self.generated.source

    @property
    def memory(self) -> MemoryReport:
        return self.plan.report

    def explain(self) -> str:
        m = self.memory
        return (
            f"{self.source}\n"
            f"# {m.values} planned values in {m.storages} buffers ({m.in_place} written in "
            f"place), arena {m.arena_bytes:,} bytes (one buffer per value: "
            f"{m.one_buffer_per_value_bytes:,}); gradients kept between steps "
            f"{m.pinned_bytes:,} bytes; ops run by their own row functions: {m.row_functions}"
        )


@dataclass(eq=False)
class _Entry:
    state: str  # "traced" (waiting for the second record), "planned" or "eager"
    record: Record | None = None
    compiled: CompiledPlan | None = None


def _describe(value: Any) -> Any:
    """One argument's part of the signature."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str)
    if isinstance(value, Tensor):
        return ("tensor", value._data.shape, value._data.dtype.str, value.requires_grad)
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"mg.compile: an argument of type {type(value).__name__} is not hashable; a compiled "
            "step takes arrays, tensors and hashable values (numbers, strings, tuples), each "
            "value a part of the plan's signature"
        ) from None
    return ("value", type(value), value)


def _as_arg_array(value: Any) -> np.ndarray:
    """An array argument as the plan reads it: integer arrays as np.intp (the index type)."""
    array = value._data if isinstance(value, Tensor) else value
    if array.dtype.kind in "iu" and array.dtype != np.intp:
        return array.astype(np.intp)
    return array


class CompiledStep:
    """A function whose plan is traced once per signature and replayed (see the module
    docstring). Made by :func:`compile`."""

    def __init__(
        self, fn: Callable[..., Any], fallback: str, cache_size: int, fuse: bool = False
    ) -> None:
        if not callable(fn):
            raise TypeError(f"mg.compile: expected a function, got {type(fn).__name__}")
        if fallback not in FALLBACKS:
            raise ValueError(f"mg.compile: fallback must be 'raise' or 'eager', got {fallback!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"mg.compile: cache_size must be an int >= 1, got {cache_size!r}")
        if not isinstance(fuse, bool):
            raise TypeError(f"mg.compile: fuse must be True or False, got {fuse!r}")
        self.fused = None
        if fuse:
            from memograd.engine.compiler import fused  # needs numba; says so in one line

            self.fused = fused
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.fallback = fallback
        self.cache_size = cache_size
        self._cache: OrderedDict[Any, _Entry] = OrderedDict()
        self._lock = threading.RLock()
        self._traces = self._replays = self._eager = 0
        self._latest: CompiledPlan | None = None

    # ---- calls -------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if tensor_module._tracer is not None:  # inside another step's trace: part of its record
            return self.fn(*args, **kwargs)
        key = self._key(args, kwargs)
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry.state == "planned" and entry.compiled.guard():
                self._cache.move_to_end(key)
                self._replays += 1
                return entry.compiled.replay(*self._arrays(args, kwargs))
            return self._slow(key, entry, args, kwargs)

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        parts = tuple(_describe(a) for a in args)
        if kwargs:
            parts += tuple((name, _describe(kwargs[name])) for name in sorted(kwargs))
        return (parts, grad_mode.enabled)

    @staticmethod
    def _ordered(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        return [*args, *(kwargs[name] for name in sorted(kwargs))]

    def _arrays(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        """The replay's arguments: the array of each array or tensor argument."""
        return [
            _as_arg_array(value)
            for value in self._ordered(args, kwargs)
            if isinstance(value, np.ndarray | Tensor)
        ]

    def _slow(self, key: Any, entry: _Entry | None, args: Any, kwargs: Any) -> Any:
        if entry is not None and entry.state == "eager":
            self._eager += 1
            return self.fn(*args, **kwargs)
        if entry is not None and entry.state == "planned":  # a parameter was given a new array
            entry = None
        result, tracer = self._trace(args, kwargs, [] if entry is None else entry.record.leaves)
        if tracer.refused is not None:
            if self.fallback == "raise":
                raise TraceError(tracer.refused)
            warnings.warn(
                f"{tracer.refused}\n  mg.compile: this signature runs eagerly from now on",
                RuntimeWarning,
                stacklevel=3,
            )
            self._store(key, _Entry("eager"))
            return result
        if entry is None:
            self._store(key, _Entry("traced", tracer.record))
            return result
        difference = first_difference(entry.record, tracer.record)
        if difference is not None:
            message = (
                f"{difference}\n  mg.compile: the step did something different on its second "
                "call with the same signature, so a plan of it would be stale (pass values that "
                "change from call to call as arguments; draw random numbers outside the step)"
            )
            if self.fallback == "raise":
                self._cache.pop(key, None)
                raise TraceError(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            self._store(key, _Entry("eager"))
            return result
        compiled = self._compile(tracer.record)
        self._store(key, _Entry("planned", None, compiled))
        return result

    def _trace(self, args: Any, kwargs: Any, watch: list[Tensor]) -> tuple[Any, Tracer]:
        self._traces += 1
        arg_tensors: list[Tensor] = []
        call_args = []
        for value in self._ordered(args, kwargs):
            if isinstance(value, np.ndarray):
                value = Tensor._wrap(_as_arg_array(value), False)
                arg_tensors.append(value)
            elif isinstance(value, Tensor):
                arg_tensors.append(value)
            call_args.append(value)
        positional = call_args[: len(args)]
        named = dict(zip(sorted(kwargs), call_args[len(args) :], strict=True))
        tracer = Tracer(arg_tensors, fallback=self.fallback == "eager", watch=watch)
        with tracer:
            try:
                result = self.fn(*positional, **named)
            except TraceError:
                raise
            if tracer.refused is None:
                tracer.finish(result)
        if tracer.refused is not None and self.fallback == "raise":
            raise TraceError(tracer.refused)
        return result, tracer

    def _compile(self, record: Record) -> CompiledPlan:
        program = lower(record, [False] * len(record.arg_tensors), self.fused)
        planned = plan(program)
        generated = generate(planned)
        replay, guard, namespace = bind(planned, generated)
        compiled = CompiledPlan(planned, generated, replay, guard, namespace)
        self._latest = compiled
        return compiled

    def _store(self, key: Any, entry: _Entry) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    # ---- looking at it ----------------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        plans = sum(1 for e in self._cache.values() if e.state == "planned")
        return CacheInfo(self._traces, self._replays, self._eager, plans, self.cache_size)

    def plan_for(self, *args: Any, **kwargs: Any) -> CompiledPlan | None:
        """The plan this signature replays (None until its second call has made it)."""
        entry = self._cache.get(self._key(args, kwargs))
        return entry.compiled if entry is not None else None

    def explain(self, *args: Any, **kwargs: Any) -> str:
        """The replay's source and its memory, for this signature (or the latest plan)."""
        compiled = self.plan_for(*args, **kwargs) if args or kwargs else self._latest
        if compiled is None:
            return "no plan yet: a plan is made on the second call with the same signature"
        return compiled.explain()

    def clear(self) -> None:
        """Forget every plan (the next call traces again)."""
        with self._lock:
            self._cache.clear()
            self._latest = None

    def __repr__(self) -> str:
        return f"<compiled step {getattr(self.fn, '__qualname__', self.fn)!r}>"


def compile(  # noqa: A001 - mg.compile, as torch.compile
    fn: Callable[..., Any] | None = None,
    *,
    fallback: str = "raise",
    cache_size: int = 8,
    fuse: bool = False,
) -> Any:
    """A training step that memoizes itself: traced once per signature, then replayed.

    ``step = mg.compile(step)`` (or ``@mg.compile``): call it as the function. The first two calls
    with a signature run eagerly and are recorded; from the third on, the step is a replay of
    NumPy kernels writing into buffers planned once. ``fallback="eager"``: where the step does
    something a plan cannot replay, warn and run that signature eagerly (default: raise
    :class:`TraceError` naming the line). ``cache_size``: signatures kept.

    ``fuse=True`` (needs numba, the ``memograd[fused]`` extra): each run of elementwise work
    around the matmuls (bias-add with ReLU, the ReLU's mask, cross-entropy forward and backward)
    is one compiled loop instead of a NumPy call per operation; at a small batch that is most of
    what a step spends outside its matmuls. Results then equal the eager step's to float rounding
    where the step has a cross-entropy (its ``exp``, ``log`` and row sums are computed another
    way), and bit for bit elsewhere (see :mod:`memograd.engine.compiler.fused`).
    """
    if fn is None:
        return lambda f: CompiledStep(f, fallback, cache_size, fuse)
    return CompiledStep(fn, fallback, cache_size, fuse)


# --------------------------------------------------------------------------------------------
# Two records of one signature must be the same program
# --------------------------------------------------------------------------------------------


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a is b or (
            a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        )
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_value, a, b))
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - an object whose == cannot answer is not the same
        return a is b


def _same_params(e1: OpEvent, e2: OpEvent) -> bool:
    def walk(a: Any, b: Any) -> bool:
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            r1, r2 = e1.bound.get(id(a)), e2.bound.get(id(b))
            if r1 is not None or r2 is not None:
                return r1 == r2
        if isinstance(a, tuple | list) and isinstance(b, tuple | list):
            return type(a) is type(b) and len(a) == len(b) and all(map(walk, a, b))
        return _same_value(a, b)

    return walk(e1.params, e2.params)


def _same_leaf(t1: Tensor, t2: Tensor) -> bool:
    if t1 is t2:
        return True
    return t1.requires_grad == t2.requires_grad and _same_value(t1._data, t2._data)


def first_difference(r1: Record, r2: Record) -> str | None:
    """Where the second record departs from the first (None: the same program)."""
    if len(r1.arg_tensors) != len(r2.arg_tensors):
        return "the number of array arguments changed"
    for j in range(min(len(r1.leaves), len(r2.leaves))):
        if r1.leaf_alias.get(j) != r2.leaf_alias.get(j) or not _same_leaf(
            r1.leaves[j], r2.leaves[j]
        ):
            return (
                f"a tensor from outside the ops (shape {r2.leaves[j]._data.shape}) is a new "
                "object with other values than on the first call" + _where_used(r2, ("leaf", j))
            )
    if len(r1.leaves) != len(r2.leaves):
        return "the step used a different number of tensors from outside its ops"
    # An optimizer whose rates a schedule in the step sets: the schedule's step is replayed, so
    # its settings may differ between the records.
    scheduled = {
        id(e.obj.optimizer)
        for e in r2.events
        if isinstance(e, HostEvent) and getattr(e.obj, "optimizer", None) is not None
    }
    for e1, e2 in zip(r1.events, r2.events, strict=False):
        problem = _event_difference(e1, e2, scheduled)
        if problem is not None:
            return f"{getattr(e2, 'line', '?')}\n  ({problem})"
    if len(r1.events) != len(r2.events):
        longer = r1 if len(r1.events) > len(r2.events) else r2
        extra = longer.events[min(len(r1.events), len(r2.events))]
        return f"{getattr(extra, 'line', '?')}\n  (one call did more than the other from here)"
    if not _same_outputs(r1.outputs, r2.outputs):
        return "the return value differs between the two calls"
    return None


def _where_used(record: Record, ref: Any) -> str:
    for event in record.events:
        if isinstance(event, OpEvent) and ref in event.inputs:
            return f"\n  first used at {event.line}"
    return ""


def _event_difference(e1: Any, e2: Any, scheduled: set[int]) -> str | None:
    if type(e1) is not type(e2):
        return "a different kind of step: an op on one call, a backward or optimizer on the other"
    if isinstance(e1, OpEvent):
        if e1.row is not e2.row:
            return f"{e1.row.name!r} on the first call, {e2.row.name!r} on the second"
        if e1.inputs != e2.inputs or e1.line != e2.line:
            return f"{e2.row.name!r} on different inputs"
        if not _same_params(e1, e2):
            return f"{e2.row.name!r} with different parameters"
        return None
    if isinstance(e1, BackwardEvent):
        if e1.root != e2.root or e1.leaves != e2.leaves or not _same_value(e1.seed, e2.seed):
            return "backward() from a different tensor or seed"
        return None
    if isinstance(e1, HostEvent):
        if e1.obj is not e2.obj or e1.method != e2.method:
            return f"{type(e2.obj).__name__}.{e2.method}() on a different object"
        if not (_same_value(e1.args, e2.args) and _same_value(e1.kwargs, e2.kwargs)):
            return f"{type(e2.obj).__name__}.{e2.method}() with different arguments"
        if id(e2.obj) not in scheduled and not _same_value(e1.settings, e2.settings):
            return (
                f"{type(e2.obj).__name__}.{e2.method}() with other hyperparameters than on the "
                "first call (code in the step that sets them is not replayed: set them outside "
                "the step, or step the learning-rate schedule inside it, which is replayed)"
            )
    return None


def _same_outputs(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple) and a and a[0] in ("ref", "grad"):
        return a == b
    if isinstance(a, tuple) and a and a[0] == "const":
        return _same_value(a[1], b[1])
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], list):
        return (
            a[0] == b[0]
            and len(a[1]) == len(b[1])
            and all(_same_outputs(x, y) for x, y in zip(a[1], b[1], strict=True))
        )
    return _same_value(a, b)
