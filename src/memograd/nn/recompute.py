"""Checkpointing a chain of layers: ``checkpoint_sequential``, and one executor for every plan.

``checkpoint_sequential(model, segments)`` cuts a ``Sequential`` (or an ``MLP``'s layers) into
segments as PyTorch's ``torch.utils.checkpoint.checkpoint_sequential`` does and checkpoints each
but the last with :func:`memograd.checkpoint`: the forward pass keeps the segments' inputs,
the backward pass recomputes one segment at a time.

:func:`run_schedule` runs any :class:`~memograd.engine.schedules.Plan` (store-all, sqrt,
revolve, or one of your own) on the modules of a ``Sequential``, one module a step: it advances,
snapshots, restores, records and backpropagates exactly as the plan says, and counts what it
did. Its gradients are plain backprop's, bit for bit: the same arrays go through the same ops,
and every step's randomness (dropout) is replayed from the state it had on the first forward
pass; a step that still gives another output when run again (its fingerprint, a hash of
evenly spaced entries, changed) is refused. So a plan is tested by running it: the gradients it
produces, the forward evaluations it made, and the memory the engine held
(``mg.engine.graph_memory``), checked against its counts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from memograd.engine.graph import no_grad
from memograd.engine.memory import graph_memory
from memograd.engine.recompute import (
    RandomReplay,
    RecomputationError,
    candidate_generators,
    checkpoint,
    same_state,
)
from memograd.engine.schedules import Plan, segment_bounds
from memograd.engine.tensor import Tensor
from memograd.nn.layers import MLP, Sequential
from memograd.nn.module import Module, as_tensor


def chain_steps(module: Any, where: str = "checkpoint_sequential") -> list[Module]:
    """The modules of a ``Sequential``, or of an ``MLP``'s layers: the chain's steps."""
    if isinstance(module, MLP):
        module = module.layers
    if not isinstance(module, Sequential):
        raise TypeError(
            f"{where}: expected a Sequential or an MLP (a chain of modules to cut into "
            f"segments), got {type(module).__name__}"
        )
    steps = list(module)
    if not steps:
        raise ValueError(f"{where}: the Sequential has no modules")
    return steps


class CheckpointedSequential(Module):
    """A ``Sequential`` run as ``segments`` pieces, each but the last checkpointed.

    It shares the wrapped module's layers (``.module``): parameters, ``train()``/``eval()`` and
    an optimizer work as on the original, and the original saves as before
    (``wrapper.module.save(path)``).
    """

    def __init__(self, module: Sequential | MLP, segments: int) -> None:
        super().__init__()
        steps = chain_steps(module)
        if isinstance(segments, bool) or not isinstance(segments, int | np.integer):
            raise TypeError(
                f"checkpoint_sequential: segments must be an int, got {type(segments).__name__}"
            )
        if segments < 1:
            raise ValueError(f"checkpoint_sequential: segments must be >= 1, got {segments}")
        if segments > len(steps):
            raise ValueError(
                f"checkpoint_sequential: {segments} segments for a Sequential of {len(steps)} "
                "modules; at most one segment per module"
            )
        self.module = module
        self.segments = int(segments)
        pieces = [Sequential(*steps[a:b]) for a, b in segment_bounds(len(steps), self.segments)]
        object.__setattr__(self, "_pieces", pieces)  # views of module's layers, not submodules

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        *checkpointed, last = self._pieces
        for piece in checkpointed:
            x = checkpoint(piece, x)
        return last(x)

    def extra_repr(self) -> str:
        return f"segments={self.segments}"


def checkpoint_sequential(module: Sequential | MLP, segments: int) -> CheckpointedSequential:
    """``module`` cut into ``segments`` (PyTorch's split: ``len // segments`` modules each, the
    last taking the rest), every segment but the last checkpointed. Call it like the module:
    ``checkpoint_sequential(model, 4)(x)``; the gradients are ``model(x)``'s, bit for bit."""
    return CheckpointedSequential(module, segments)


# --------------------------------------------------------------------------------------------
# The executor
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRun:
    """What running a plan did: the loss, the step evaluations made, and (when measured) the
    most memory the engine held for the backward pass at once, after any action: the states
    in slots and every array of the live recording, parameters not counted."""

    loss: float
    forward_evaluations: int
    peak_bytes: int | None
    peak_arrays: int | None
    seconds: float


FINGERPRINT_ENTRIES = 4096
"""Entries of a step's output hashed to recognise it when the step runs again."""


def _fingerprint(array: np.ndarray) -> bytes:
    """A digest of up to FINGERPRINT_ENTRIES evenly spaced entries, the shape and the dtype:
    cheap next to the step, and changed by anything that changes a fair share of the output
    (a different dropout mask changes about p of it)."""
    flat = array.reshape(-1)
    sample = np.ascontiguousarray(flat[:: max(1, flat.size // FINGERPRINT_ENTRIES)])
    digest = hashlib.blake2b(sample.tobytes(), digest_size=16)
    digest.update(repr((array.shape, array.dtype.str)).encode())
    return digest.digest()


class _Randomness:
    """Each step's random stream: the Generators' states before its first evaluation."""

    def __init__(self, steps: list[Module]) -> None:
        self.generators = candidate_generators(Sequential(*steps), (), ())
        self.states = [RandomReplay.states(self.generators)]  # states[i]: after step i

    def set(self, states: list[Any]) -> None:
        for g, state in zip(self.generators, states, strict=True):
            g.bit_generator.state = state

    def before(self, i: int) -> None:
        self.set(self.states[i - 1])

    def after(self, i: int) -> None:
        now = RandomReplay.states(self.generators)
        if i == len(self.states):
            self.states.append(now)
        elif not all(same_state(a, b) for a, b in zip(now, self.states[i], strict=True)):
            raise RecomputationError(
                f"run_schedule: step {i} drew different random numbers when run again"
            )


def run_schedule(
    plan: Plan,
    module: Sequential | MLP,
    x: Any,
    loss_fn: Callable[[Tensor], Tensor],
    *,
    measure: bool = False,
) -> ScheduleRun:
    """Run ``plan`` on ``module``'s modules (one step each) from input ``x``, backpropagating
    ``loss_fn(output)`` into the parameters' ``.grad`` as ``loss.backward()`` would.

    ``measure``: after every action, count the distinct arrays the engine holds for the
    backward pass (``mg.engine.graph_memory``) and keep the peak; this walks the live graph,
    so it is off when only the time matters.
    """
    steps = chain_steps(module, "run_schedule")
    if not isinstance(plan, Plan):
        raise TypeError(f"run_schedule: expected a Plan, got {type(plan).__name__}")
    if plan.n != len(steps):
        raise ValueError(
            f"run_schedule: the plan is for {plan.n} steps, the Sequential has {len(steps)} modules"
        )
    x = as_tensor(x)
    if x.requires_grad:
        raise ValueError(
            "run_schedule: the input requires grad; it differentiates the parameters only, so "
            "pass the input as data (x.detach())"
        )
    params = [p for step in steps for p in step.parameters()]
    randomness = _Randomness(steps)
    started = time.perf_counter()
    state = _Execution(steps, x, randomness)
    peak_bytes = peak_arrays = 0
    for action in plan.actions:
        state.apply(action, loss_fn)
        if measure:
            held = state.held(params)
            peak_bytes = max(peak_bytes, held.bytes)
            peak_arrays = max(peak_arrays, held.arrays)
    randomness.set(randomness.states[-1])  # where one plain forward pass leaves them
    seconds = time.perf_counter() - started
    return ScheduleRun(
        loss=state.loss,
        forward_evaluations=state.evaluations,
        peak_bytes=peak_bytes if measure else None,
        peak_arrays=peak_arrays if measure else None,
        seconds=seconds,
    )


class _Execution:
    """The executor's state: the current state, the slots, the recording, the adjoint."""

    def __init__(self, steps: list[Module], x: Tensor, randomness: _Randomness) -> None:
        self.steps = steps
        self.randomness = randomness
        self.position: int | None = 0
        self.current: Tensor | None = x
        self.slots: dict[int, tuple[int, Tensor]] = {}
        self.recording: tuple[int, Tensor, Tensor] | None = None
        self.adjoint: np.ndarray | None = None
        self.loss = float("nan")
        self.evaluations = 0
        self.fingerprints: list[bytes] = []  # fingerprints[i - 1]: step i's first output

    def run(self, x: Tensor, count: int) -> Tensor:
        """Steps position+1 .. position+count from ``x``, each with its first run's randomness;
        a step whose output differs from its first run's is refused, not differentiated."""
        assert self.position is not None
        for i in range(self.position + 1, self.position + count + 1):
            self.randomness.before(i)
            x = self.steps[i - 1](x)
            self.randomness.after(i)
            self.evaluations += 1
            fingerprint = _fingerprint(x._data)
            if i > len(self.fingerprints):
                self.fingerprints.append(fingerprint)
            elif fingerprint != self.fingerprints[i - 1]:
                raise RecomputationError(
                    f"run_schedule: step {i} ({type(self.steps[i - 1]).__name__}) gave a "
                    "different output when run again; it depends on something that changed, or "
                    "draws from a numpy Generator that is not an attribute of a module"
                )
        self.position += count
        return x

    def apply(self, action: Any, loss_fn: Callable[[Tensor], Tensor]) -> None:
        verb, arg = action
        if verb == "advance":
            with no_grad():
                self.current = self.run(self._current(), arg)
        elif verb == "snapshot":
            self.slots[arg] = (self._where(), self._current())
        elif verb == "restore":
            self.position, self.current = self.slots[arg]
        elif verb == "free":
            del self.slots[arg]
        elif verb == "record":
            start = self._where()
            leaf = self._current().detach()
            leaf.requires_grad = start > 0  # the input x_0 is data: no gradient wanted
            out = self.run(leaf, arg)
            self.recording = (start, leaf, out)
            self.current = None
        elif verb == "backward":
            if self.recording is None:
                raise ValueError("run_schedule: backward with nothing recorded")
            start, leaf, out = self.recording
            if self.adjoint is None:
                loss = loss_fn(out)
                if not isinstance(loss, Tensor) or loss.size != 1:
                    raise TypeError("run_schedule: loss_fn must return a one-element Tensor")
                self.loss = float(loss.data)
                loss.backward()
            else:
                out.backward(self.adjoint)
            self.adjoint = leaf.grad
            self.recording = None
            self.position = self.current = None
        else:
            raise ValueError(f"run_schedule: unknown action {verb!r}")

    def _current(self) -> Tensor:
        if self.current is None:
            raise ValueError("run_schedule: there is no current state (the plan must restore)")
        return self.current

    def _where(self) -> int:
        if self.position is None:
            raise ValueError("run_schedule: there is no current state (the plan must restore)")
        return self.position

    def held(self, params: list[Tensor]) -> Any:
        slots = [t._data for _, t in self.slots.values()]
        roots = [] if self.recording is None else [self.recording[2], self.recording[1]]
        return graph_memory(*roots, extra=slots, exclude=params)
