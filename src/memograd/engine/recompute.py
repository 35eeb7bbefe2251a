"""Store or recompute: ``mg.checkpoint(fn, *inputs)`` keeps a segment's inputs, not its insides.

Backpropagation is the chain rule plus memoization: the forward pass stores every activation so
that the backward pass never computes one twice. That memory, not time, is what limits a deep
network. A checkpointed segment makes the trade the other way: its forward pass runs ``fn``,
keeps the output and the inputs, and lets every activation inside go; when the backward pass
reaches it, it runs ``fn`` again on the same inputs, with the same randomness, and backpropagates
through that fresh graph.

How it fits the engine. The segment becomes one node of the graph, op ``checkpoint``, whose
parents are its inputs and every parameter ``fn`` read (the leaves that require grad, found by
walking the graph ``fn`` built once), so the engine's three strategies, ``mg.grad`` and
``retain_graph`` treat it as any other op. Its VJPs rerun ``fn`` once per backward pass (not once
per input) and hand each parent its gradient. The version counters of the inputs, the
parameters and the output are recorded as for any op, so an optimizer step or an in-place write
between the forward and the backward pass raises instead of recomputing with the new values.

Exactness. The numbers of the rerun are the numbers of the forward pass: the same arrays go
through the same NumPy calls, and the NumPy Generators ``fn`` draws from (dropout masks) are set
back to their state at the forward pass for the rerun, then returned to where they were. Which
Generators: memograd's global one, those of any Module ``fn`` is or closes over (``Dropout``'s),
and those given as ``rngs=``; of these, the ones whose state the forward pass changed. The rerun's
output is compared with the forward pass's, bit for bit: anything that made them differ (a
Generator not found, an array changed in place behind memograd's back) raises
:class:`RecomputationError` rather than giving a gradient of some other function.

Higher derivatives. Under ``create_graph`` (``loss.backward(create_graph=True)``,
``mg.grad(mg.grad(f))``) the segment's gradient must itself be differentiable with respect to the
inputs, the parameters and the incoming adjoint. The VJP then returns slices of a second
checkpointed segment whose function is "rerun fn and take its gradient with create_graph": the
derivative of a checkpoint is checkpointed in turn, so memory stays bounded at every order.
Forward mode (``jvp``, ``jacfwd``, ``hessian``) runs through a segment with plain array tangents;
graph-valued tangents (forward mode nested in another transform) raise a clear error.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from memograd.engine import graph, ops, tensor
from memograd.engine.graph import grad_mode
from memograd.engine.schedules import schedule
from memograd.engine.tensor import Tensor

NAME = "checkpoint"


class RecomputationError(RuntimeError):
    """A checkpointed segment's rerun did not reproduce its forward pass."""


# --------------------------------------------------------------------------------------------
# Randomness: which Generators a segment drew from, and replaying them
# --------------------------------------------------------------------------------------------


def same_state(a: Any, b: Any) -> bool:
    """Equality of two ``bit_generator.state`` values (dicts of ints, and arrays for MT19937)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return bool(a == b)


def _generators_in(obj: Any, found: dict[int, np.random.Generator]) -> None:
    """Generators that ``obj`` is, or that a module tree ``obj`` is holds as attributes."""
    if isinstance(obj, np.random.Generator):
        found.setdefault(id(obj), obj)
        return
    # A module tree, told by its class having modules() and parameters() (memograd's Module,
    # and torch's, which holds no numpy Generator): never a class, never a Python module.
    kind = type(obj)
    if hasattr(kind, "modules") and hasattr(kind, "parameters"):
        if isinstance(obj, type | types.ModuleType):
            return
        for module in obj.modules():
            for value in getattr(module, "__dict__", {}).values():
                if isinstance(value, np.random.Generator):
                    found.setdefault(id(value), value)


def candidate_generators(
    fn: Callable[..., Any], args: Sequence[Any], rngs: Sequence[np.random.Generator]
) -> list[np.random.Generator]:
    """The Generators ``fn`` may draw from: memograd's global one, ``rngs``, and those held by
    ``fn``, its bound object, its closure, the globals its code names and its arguments."""
    from memograd.seeding import global_generator

    found: dict[int, np.random.Generator] = {}
    for rng in rngs:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"checkpoint: rngs must be numpy Generators, got {type(rng).__name__}")
        found.setdefault(id(rng), rng)
    found.setdefault(id(global_generator()), global_generator())
    objects: list[Any] = [fn, getattr(fn, "__self__", None), *args]
    if isinstance(fn, functools.partial):
        objects += [fn.func, *fn.args, *fn.keywords.values()]
    function = fn.func if isinstance(fn, functools.partial) else fn
    if isinstance(function, types.MethodType):
        function = function.__func__
    if isinstance(function, types.FunctionType):
        objects += [cell.cell_contents for cell in function.__closure__ or () if _filled(cell)]
        objects += list(function.__defaults__ or ())
        names = function.__code__.co_names
        objects += [function.__globals__[n] for n in names if n in function.__globals__]
    for obj in objects:
        _generators_in(obj, found)
    return list(found.values())


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


class RandomReplay:
    """The Generators a forward pass changed, with their states before and after it.

    ``replayed()`` sets them back to their states before, for a rerun, checks that the rerun
    left them where the forward pass did (so it drew exactly the same numbers), and returns
    them to wherever they were: a recomputation never moves the caller's random stream.
    """

    __slots__ = ("generators", "before", "after")

    def __init__(self, generators: list[np.random.Generator], before: list[Any]) -> None:
        after = [g.bit_generator.state for g in generators]
        changed = [
            i for i, (a, b) in enumerate(zip(before, after, strict=True)) if not same_state(a, b)
        ]
        self.generators = [generators[i] for i in changed]
        self.before = [before[i] for i in changed]
        self.after = [after[i] for i in changed]

    @staticmethod
    def states(generators: list[np.random.Generator]) -> list[Any]:
        return [g.bit_generator.state for g in generators]

    @contextmanager
    def replayed(self) -> Iterator[None]:
        now = self.states(self.generators)
        for g, state in zip(self.generators, self.before, strict=True):
            g.bit_generator.state = state
        try:
            yield
            for g, state in zip(self.generators, self.after, strict=True):
                if not same_state(g.bit_generator.state, state):
                    raise RecomputationError(
                        "checkpoint: the rerun of fn drew a different amount of randomness "
                        "than its forward pass, so its dropout masks (or other draws) differ; "
                        "fn must draw the same numbers each time it runs"
                    )
        finally:
            for g, state in zip(self.generators, now, strict=True):
                g.bit_generator.state = state


@contextmanager
def _recording() -> Iterator[None]:
    """Record the graph, whatever the caller's grad mode (a rerun always needs its graph)."""
    previous = grad_mode.enabled
    grad_mode.enabled = True
    try:
        yield
    finally:
        grad_mode.enabled = previous


# --------------------------------------------------------------------------------------------
# The segment: what the node keeps, and how it runs again
# --------------------------------------------------------------------------------------------


class Segment:
    """A checkpoint node's context: ``fn``, its arguments, the parameters it read, its
    randomness and its forward output (the node's own array, not a copy)."""

    __slots__ = ("fn", "args", "positions", "inputs", "params", "replay", "output", "cache")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        positions: list[int],
        params: list[Tensor],
        replay: RandomReplay,
        output: np.ndarray,
    ) -> None:
        self.fn = fn
        self.args = args
        self.positions = positions  # where the Tensors are among args
        self.inputs = [args[p] for p in positions]
        self.params = params
        self.replay = replay
        self.output = output
        self.cache: list[Any] | None = None  # [adjoint, gradients, positions not yet served]

    @property
    def parents(self) -> list[Tensor]:
        return [*self.inputs, *self.params]

    def held_arrays(self) -> list[np.ndarray]:
        """Arrays the segment keeps besides its parents' and its output: array arguments."""
        return [a for a in self.args if isinstance(a, np.ndarray)]

    def fresh_inputs(self) -> list[Tensor]:
        return fresh_leaves(self.inputs)

    def rerun(self, inputs: Sequence[Tensor]) -> Tensor:
        """``fn`` once more on ``inputs`` with the forward pass's randomness, recording its
        graph; RecomputationError unless its output is the forward pass's, bit for bit."""
        args = list(self.args)
        for position, t in zip(self.positions, inputs, strict=True):
            args[position] = t
        with self.replay.replayed(), _recording():
            out = _single_output(self.fn(*args))
        old, new = self.output, out._data
        if old.shape != new.shape or old.dtype != new.dtype:
            raise RecomputationError(
                f"checkpoint: the rerun of fn returned {new.dtype} {new.shape}, the forward pass "
                f"{old.dtype} {old.shape}"
            )
        if not np.array_equal(old, new, equal_nan=True):
            with np.errstate(all="ignore"):
                gap = float(np.nanmax(np.abs(old.astype(np.float64) - new)))
            raise RecomputationError(
                f"checkpoint: the rerun of fn in the backward pass gave a different output than "
                f"its forward pass (largest difference {gap:.3g}, shape {old.shape}); fn depends "
                "on something that changed in between, or draws from a numpy Generator that "
                "checkpoint did not find (pass it with rngs=[...])"
            )
        return out

    def contribution(self, position: int, g: Any) -> Any:
        """The gradient for parent ``position`` from ``g = dL/doutput``: the whole segment is
        rerun once per adjoint ``g`` and each parent is then served from that one run."""
        cache = self.cache
        if cache is None or cache[0] is not g:
            parents = self.parents
            gradients = self._graph_gradients(g) if isinstance(g, Tensor) else self._gradients(g)
            waiting = {k for k, p in enumerate(parents) if p.requires_grad}
            cache = self.cache = [g, gradients, waiting]
        result = cache[1][position]
        cache[2].discard(position)
        if not cache[2]:
            self.cache = None  # every parent served: let the gradients go
        return result

    def _gradients(self, g: np.ndarray) -> list[Any]:
        """First derivatives on arrays: rerun, then one sweep down to the inputs and params."""
        leaves = self.fresh_inputs()
        out = self.rerun(leaves)
        wanted = [leaf for leaf in leaves if leaf.requires_grad] + self.params
        # retain_graph: a tensor fn read from outside (not an input) joins the rerun's graph,
        # and the outer pass still has to go through it.
        found = dict(zip(wanted, graph.gradients(out, g, wanted, retain_graph=True), strict=True))
        return [self._found(found, node, k) for k, node in enumerate([*leaves, *self.params])]

    def _found(self, found: dict[Any, Any], node: Tensor, k: int) -> Any:
        if not node.requires_grad:
            return None
        value = found.get(node)
        if value is not None:
            return value
        if k >= len(self.inputs):
            raise RecomputationError(
                f"checkpoint: the rerun of fn did not use a parameter of shape {node.shape} that "
                "its forward pass used"
            )
        return np.zeros(node.shape, dtype=node.dtype)  # the output does not depend on it

    def _graph_gradients(self, g: Tensor) -> list[Any]:
        """First derivatives as graph values (create_graph): slices of a checkpointed segment
        that reruns fn and differentiates it, so higher orders are checkpointed too."""
        parents = self.parents
        live = [k for k, p in enumerate(parents) if p.requires_grad]
        n_inputs = len(self.inputs)
        dtypes = {parents[k].dtype for k in live}
        if len(dtypes) > 1:
            raise TypeError(
                "checkpoint: create_graph through a segment needs its inputs and parameters in "
                f"one dtype, got {', '.join(sorted(str(d) for d in dtypes))}"
            )
        segment = self

        def first_derivatives(*tensors: Tensor) -> Tensor:
            *inputs, seed = tensors
            out = segment.rerun(inputs)
            nodes = [*inputs, *segment.params]
            wanted = [nodes[k] for k in live]
            found = graph.gradients(out, seed, wanted, create_graph=True, retain_graph=True)
            pieces = []
            for k, value in zip(live, found, strict=True):
                if value is None:
                    if k >= n_inputs:
                        segment._found({}, nodes[k], k)  # raises: a parameter went missing
                    value = Tensor(np.zeros(nodes[k].shape, dtype=nodes[k].dtype))
                pieces.append(value.reshape((-1,)))
            return tensor.concat(pieces)

        flat = checkpoint(first_derivatives, *self.inputs, g)
        gradients: list[Any] = [None] * len(parents)
        offset = 0
        for k in live:
            size = parents[k].size
            gradients[k] = flat[offset : offset + size].reshape(parents[k].shape)
            offset += size
        return gradients

    def tangent(self, tangents: tuple[Any, ...]) -> Any:
        """Forward mode: the output's tangent from the parents' (arrays only)."""
        if any(isinstance(t, Tensor) for t in tangents):
            raise TypeError(
                "checkpoint: forward mode with graph-valued tangents (a forward-mode transform "
                "nested inside another transform) does not run through a checkpointed segment; "
                "call fn without mg.checkpoint there"
            )
        leaves = self.fresh_inputs()
        out = self.rerun(leaves)
        seeds = {
            node: t
            for node, t in zip([*leaves, *self.params], tangents, strict=True)
            if t is not None
        }
        (found,) = graph.forward_sweep([out], seeds)
        return np.zeros(out.shape, dtype=out.dtype) if found is None else found


def _single_output(out: Any) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(
            f"checkpoint: fn must return one Tensor, got {type(out).__name__}; checkpoint each "
            "output separately, or concat them"
        )
    return out


def _segment_vjp(position: int) -> Callable[[Any, Any], Any]:
    def vjp(g: Any, node: Any) -> Any:
        return node._ctx.contribution(position, g)

    return vjp


def _segment_jvp(node: Any, tangents: tuple[Any, ...]) -> Any:
    return node._ctx.tangent(tangents)


@functools.lru_cache(maxsize=256)
def segment_op(arity: int) -> ops.Op:
    """The row of a checkpoint node with ``arity`` parents: one VJP per parent, and every
    parent (and the output) saved, so in-place writes to any of them are caught."""
    vjps = tuple(_segment_vjp(i) for i in range(arity))
    return ops.Op(NAME, None, vjps, _segment_jvp, (*range(arity), ops.OUTPUT))


# --------------------------------------------------------------------------------------------
# mg.checkpoint
# --------------------------------------------------------------------------------------------


def checkpoint(
    fn: Callable[..., Any], *inputs: Any, rngs: Sequence[np.random.Generator] = ()
) -> Tensor:
    """``fn(*inputs)``, keeping its inputs instead of its activations; backward reruns ``fn``.

    The gradients are those of ``fn(*inputs)`` itself, bit for bit on the same machine, dropout
    included. ``inputs``: Tensors (the segment's inputs, which may come out of earlier ops) and
    any other arguments, passed through as they are; parameters ``fn`` reads (a layer's weights)
    need not be inputs: they are found. ``fn`` must return one Tensor. ``rngs``: Generators
    ``fn`` draws from besides the ones found on its modules and memograd's global one.

    A tensor computed outside ``fn`` and read from a closure (not passed as an input) is
    differentiated correctly, but its own history is then walked by the segment's backward pass
    as well as by the outer one: pass such a tensor as an input.
    """
    if not callable(fn):
        raise TypeError(f"checkpoint: fn must be callable, got {type(fn).__name__}")
    if isinstance(rngs, np.random.Generator):
        rngs = (rngs,)
    if not grad_mode.enabled:
        return _single_output(fn(*inputs))
    positions = [k for k, a in enumerate(inputs) if isinstance(a, Tensor)]
    originals = [inputs[k] for k in positions]
    generators = candidate_generators(fn, inputs, rngs)
    before = RandomReplay.states(generators)
    fresh = fresh_leaves(originals)
    args = list(inputs)
    for k, leaf in zip(positions, fresh, strict=True):
        args[k] = leaf
    out = _single_output(fn(*args))
    if not out.requires_grad:
        return out
    by_leaf = {id(leaf): original for leaf, original in zip(fresh, originals, strict=True)}
    if not out.parents:  # fn returned an input or a parameter as it is
        return by_leaf.get(id(out), out)
    params = _parameters_read(out, {id(leaf) for leaf in fresh})
    replay = RandomReplay(generators, before)
    segment = Segment(fn, tuple(inputs), positions, params, replay, out._data)
    parents = tuple(segment.parents)
    node = tensor._build(
        object.__new__(Tensor), out._data, segment_op(len(parents)), parents, segment, True
    )
    tensor._record_versions(node)
    for t in originals:  # the output is a view of an input: writes to either reach both
        if tensor._memory_root(out._data) is tensor._memory_root(t._data):
            node._counter = tensor._shared_counter(t)
            break
    return node


def fresh_leaves(tensors: Sequence[Tensor]) -> list[Tensor]:
    """Each tensor as a new leaf sharing its array and version counter, requiring grad as it
    does: what a segment's function runs on, so that the walk and the rerun stop there."""
    leaves = []
    for t in tensors:
        leaf = t.detach()
        leaf.requires_grad = t.requires_grad
        leaves.append(leaf)
    return leaves


def _parameters_read(out: Tensor, fresh: set[int]) -> list[Tensor]:
    """The leaves requiring grad that ``out``'s graph reaches, other than the fresh inputs,
    in the order a depth-first walk meets them: the parameters fn read."""
    found: list[Tensor] = []
    seen = {id(out)}
    stack = [out]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if not parent.requires_grad or id(parent) in seen:
                continue
            seen.add(id(parent))
            if id(parent) in fresh:
                continue
            if parent.parents:
                stack.append(parent)
            else:
                found.append(parent)
    return found


# ``mg.checkpoint.schedule(n, slots, kind)``: the plans for a chain live beside the mechanism, so
# one name serves both (the function stays what ``mg.checkpoint(fn, *inputs)`` calls).
checkpoint.schedule = schedule  # type: ignore[attr-defined]
