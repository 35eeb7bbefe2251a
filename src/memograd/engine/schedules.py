"""Store or recompute, planned: schedules for reversing a chain of n steps, as data.

A chain ``x_0 -> step 1 -> x_1 -> ... -> step n -> x_n -> loss`` is differentiated backwards: to
run step i's backward pass, its internal activations must exist, which needs its input state
x_(i-1). Plain backpropagation stores everything; a checkpointing schedule stores some states
and computes the others again. A :class:`Plan` says exactly what to do, one :class:`Action` at a
time, so that one executor (``mg.nn.run_schedule``) can run any plan and the plans are judged by
the gradients they produce and the memory they were measured to take.

The actions, on a current state (the state the next step would start from):

============  ====  ===========================================================================
verb          arg   what it does
============  ====  ===========================================================================
``advance``   k     run the next k steps without recording anything (k forward evaluations)
``snapshot``  slot  keep the current state in a slot
``restore``   slot  make the state kept in the slot the current one
``free``      slot  forget the slot's state
``record``    k     run the next k steps recording their activations for the backward pass
                    (k forward evaluations); the recording must end at the reversal front x_f
``backward``  k     run the backward pass through the k recorded steps, x_f's adjoint to
                    x_(f-k)'s (the first one starts from the loss), and forget the recording
============  ====  ===========================================================================

Three kinds: ``all`` (store all: record the n steps once, as plain backprop does), ``sqrt``
(Chen et al. 2016: snapshot the input of each of about sqrt(n) segments on a first unrecorded
pass, then record one segment at a time; about one extra forward pass) and ``revolve``
(Griewank 1992: with s slots and one step recorded at a time, the fewest forward evaluations
there are, ``r n - C(s + r, s + 1)`` unrecorded steps where ``r`` is the least integer with
``C(s + r, s) >= n``). The counts of every plan come from :func:`count_plan`, which runs the
actions on symbols and refuses an invalid plan; a test checks revolve's count against that
closed form and against a brute-force search over all schedules.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import NamedTuple

KINDS = ("all", "sqrt", "revolve")
VERBS = ("advance", "snapshot", "restore", "free", "record", "backward")


class Action(NamedTuple):
    """One step of a plan: a verb of :data:`VERBS` and its number (steps, or a slot)."""

    verb: str
    arg: int

    def __str__(self) -> str:
        return f"{self.verb} {self.arg}"


@dataclass(frozen=True)
class PlanCounts:
    """What a plan costs, counted by running its actions on symbols.

    ``forward_evaluations``: steps evaluated in all (advanced or recorded); store-all takes n.
    ``extra_evaluations``: the recomputation, ``forward_evaluations - n``.
    ``peak_slots``: snapshots held at once. ``peak_recorded``: steps recorded at once.
    ``peak_stored``: states held for the backward pass at once: the snapshots, and the states a
    recording holds (the input and output of each recorded step), each counted once.
    """

    steps: int
    forward_evaluations: int
    extra_evaluations: int
    peak_slots: int
    peak_recorded: int
    peak_stored: int
    actions: int


@dataclass(frozen=True)
class Plan:
    """A schedule for a chain of ``n`` steps: its kind, slot budget, actions and counts."""

    kind: str
    n: int
    slots: int
    actions: tuple[Action, ...]
    counts: PlanCounts

    @classmethod
    def from_actions(cls, kind: str, n: int, slots: int, actions: list[Action]) -> Plan:
        """A plan from its actions, checked and counted by :func:`count_plan`."""
        actions = tuple(a if type(a) is Action else Action(str(a[0]), int(a[1])) for a in actions)
        return cls(kind, n, slots, actions, count_plan(n, actions))

    @property
    def label(self) -> str:
        """How a table names it: ``store-all``, ``sqrt (8 segments)``, ``revolve (4 slots)``."""
        if self.kind == "all":
            return "store-all"
        if self.kind == "sqrt":
            return f"sqrt ({self.slots + 1} segments)"
        return f"{self.kind} ({self.slots} slots)"

    def to_dict(self, *, actions: bool = False) -> dict[str, object]:
        document: dict[str, object] = {
            "kind": self.kind,
            "label": self.label,
            "n": self.n,
            "slots": self.slots,
            **asdict(self.counts),
        }
        if actions:
            document["plan"] = [[a.verb, a.arg] for a in self.actions]
        return document

    def __str__(self) -> str:
        c = self.counts
        return (
            f"{self.kind} plan for {self.n} steps: {c.forward_evaluations} forward evaluations "
            f"({c.extra_evaluations} extra), {c.peak_slots} slots, {c.peak_stored} states stored "
            f"at most, {c.actions} actions"
        )


def count_plan(n: int, actions: tuple[Action, ...] | list[Action]) -> PlanCounts:
    """Run ``actions`` on symbols for a chain of ``n`` steps and count; ValueError if invalid.

    The state is the current position (or none, after a backward step or before a restore),
    the slots' positions, the recording's range and the reversal front f (x_f's adjoint is
    known; at first f = n, the loss). A valid plan ends with f = 0 and nothing recorded.
    """
    _check_count(n, "n")
    position: int | None = 0
    slots: dict[int, int] = {}
    recording: tuple[int, int] | None = None
    front = n
    held: Counter[int] = Counter()  # positions kept in slots
    evaluations = peak_slots = peak_recorded = peak_stored = 0
    for index, action in enumerate(actions):
        verb, arg = action
        if verb in ("advance", "record", "backward"):
            if arg < 1:
                raise _invalid(index, action, "the number of steps must be >= 1")
        elif verb in ("snapshot", "restore", "free"):
            if arg < 0:
                raise _invalid(index, action, "slot numbers start at 0")
        else:
            raise _invalid(index, action, f"unknown verb; expected one of {', '.join(VERBS)}")
        if verb == "advance":
            if position is None or recording is not None:
                raise _invalid(index, action, "there is no current state to advance (restore one)")
            if position + arg >= front:
                raise _invalid(
                    index,
                    action,
                    f"advancing from x_{position} to x_{position + arg} reaches the "
                    f"reversal front x_{front}; record the last steps instead",
                )
            position += arg
            evaluations += arg
        elif verb == "snapshot":
            if position is None:
                raise _invalid(index, action, "there is no current state to keep")
            if arg in slots:
                raise _invalid(
                    index, action, f"slot {arg} already holds x_{slots[arg]}; free it first"
                )
            slots[arg] = position
            held[position] += 1
        elif verb == "restore":
            if arg not in slots:
                raise _invalid(index, action, f"slot {arg} is empty")
            if recording is not None:
                raise _invalid(index, action, "steps are recorded; run their backward pass first")
            position = slots[arg]
        elif verb == "free":
            if arg not in slots:
                raise _invalid(index, action, f"slot {arg} is empty")
            kept = slots.pop(arg)
            held[kept] -= 1
            if not held[kept]:
                del held[kept]
        elif verb == "record":
            if position is None or recording is not None:
                raise _invalid(index, action, "there is no current state to record from")
            if position + arg != front:
                raise _invalid(
                    index,
                    action,
                    f"a recording from x_{position} must end at the reversal front "
                    f"x_{front}, not x_{position + arg}",
                )
            recording = (position, position + arg)
            position += arg
            evaluations += arg
        else:  # backward
            if recording is None or recording[1] - recording[0] != arg:
                raise _invalid(index, action, "the recorded steps do not match")
            front = recording[0]
            recording = None
            position = None
        stored = len(held)
        if recording is not None:
            first, last = recording
            stored += sum(1 for i in range(first, last + 1) if i not in held)
            peak_recorded = max(peak_recorded, last - first)
        peak_slots = max(peak_slots, len(slots))
        peak_stored = max(peak_stored, stored)
    if front != 0 or recording is not None:
        raise ValueError(
            f"the plan stops with steps 1..{front} not reversed; every step needs its backward"
        )
    return PlanCounts(
        steps=n,
        forward_evaluations=evaluations,
        extra_evaluations=evaluations - n,
        peak_slots=peak_slots,
        peak_recorded=peak_recorded,
        peak_stored=peak_stored,
        actions=len(actions),
    )


def _invalid(index: int, action: Action, message: str) -> ValueError:
    """The error for an invalid action, naming it (built only when raised)."""
    return ValueError(f"plan action {index} ({action[0]} {action[1]}): {message}")


# --------------------------------------------------------------------------------------------
# The closed form
# --------------------------------------------------------------------------------------------


def revolve_repetitions(n: int, slots: int) -> int:
    """r, the least integer with C(slots + r, slots) >= n: how often the busiest step runs
    unrecorded under revolve (0 for one step)."""
    _check_count(n, "n")
    _check_count(slots, "slots")
    return _repetitions(n, slots)


def revolve_advances(n: int, slots: int) -> int:
    """The fewest unrecorded step evaluations that reverse n steps with ``slots`` snapshots,
    one step recorded at a time: ``r n - C(slots + r, slots + 1)`` (Griewank's binomial form).

    Add the n recorded evaluations for revolve's ``forward_evaluations``.
    """
    _check_count(n, "n")
    _check_count(slots, "slots")
    return _advances(n, slots)


def _repetitions(n: int, slots: int) -> int:
    if slots == 1:
        return n - 1
    r, binomial = 0, 1  # binomial = C(slots + r, slots), updated exactly
    while binomial < n:
        r += 1
        binomial = binomial * (slots + r) // r
    return r


@functools.lru_cache(maxsize=65536)
def _advances(n: int, slots: int) -> int:
    r = _repetitions(n, slots)
    return r * n - math.comb(slots + r, slots + 1)


# --------------------------------------------------------------------------------------------
# The three kinds
# --------------------------------------------------------------------------------------------


def schedule(n: int, slots: int | None = None, kind: str = "revolve") -> Plan:
    """The plan of ``kind`` for a chain of ``n`` steps.

    ``revolve``: ``slots`` snapshots (>= 1, required), the fewest forward evaluations.
    ``sqrt``: ``slots`` snapshots split the chain into ``slots + 1`` segments of ``n // (slots +
    1)`` steps, the last taking the rest (PyTorch's ``checkpoint_sequential`` split); by default
    ``ceil(sqrt(n)) - 1`` snapshots, about sqrt(n) segments of sqrt(n) steps.
    ``all``: store all, plain backprop; no snapshots (``slots`` None or 0).
    """
    _check_count(n, "n")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"schedule: kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if slots is not None:
        if isinstance(slots, bool) or not isinstance(slots, int):
            raise TypeError(f"schedule: slots must be an int, got {type(slots).__name__}")
        if slots < (0 if kind == "all" else 1):
            raise ValueError(f"schedule: slots must be >= 1, got {slots}")
    if kind == "all":
        if slots:
            raise ValueError(
                f"schedule: store-all keeps every activation and takes no snapshots; got "
                f"slots={slots} (use kind='sqrt' or 'revolve')"
            )
        return Plan.from_actions("all", n, 0, [Action("record", n), Action("backward", n)])
    if kind == "sqrt":
        if slots is None:
            slots = math.isqrt(n - 1) if n > 1 else 0  # ceil(sqrt(n)) - 1
        if slots >= n:
            raise ValueError(
                f"schedule: sqrt with {slots} slots needs {slots + 1} segments of at least one "
                f"step, more than the {n} steps"
            )
        return Plan.from_actions("sqrt", n, slots, _sqrt_actions(n, slots + 1))
    if slots is None:
        raise ValueError("schedule: revolve needs slots, the number of states it may keep (>= 1)")
    return Plan.from_actions("revolve", n, slots, _revolve_actions(n, slots))


def segment_bounds(n: int, segments: int) -> list[tuple[int, int]]:
    """PyTorch's ``checkpoint_sequential`` split: segments of ``n // segments`` steps, the last
    taking the rest, as (start, stop) ranges of step indices (0-based, stop excluded)."""
    size = n // segments
    bounds = [(j * size, (j + 1) * size) for j in range(segments - 1)]
    bounds.append(((segments - 1) * size, n))
    return bounds


def _sqrt_actions(n: int, segments: int) -> list[Action]:
    bounds = segment_bounds(n, segments)
    actions = []
    for j, (start, stop) in enumerate(bounds[:-1]):
        actions += [Action("snapshot", j), Action("advance", stop - start)]
    start, stop = bounds[-1]
    actions += [Action("record", stop - start), Action("backward", stop - start)]
    for j in range(segments - 2, -1, -1):
        start, stop = bounds[j]
        size = stop - start
        actions += [
            Action("restore", j),
            Action("record", size),
            Action("backward", size),
            Action("free", j),
        ]
    return actions


def _revolve_actions(n: int, slots: int) -> list[Action]:
    actions = [Action("snapshot", 0)]
    _reverse(actions, 0, n, list(range(1, slots)), 0)
    actions.append(Action("free", 0))
    return actions


def _reverse(actions: list[Action], start: int, length: int, free: list[int], home: int) -> None:
    """Reverse steps start+1 .. start+length, with x_start current and kept in slot ``home``
    and the slots ``free`` unused: Griewank's recursion, split where the closed form says.

    Reversing the tail after a split point m uses one slot fewer (x_(start+m) holds one), the
    head after it all of them again: T(l, s) = m + T(l - m, s - 1) + T(m, s). The head is a
    loop rather than a call, so the recursion is at most ``slots`` deep.
    """
    while True:
        if length == 1:
            actions += [Action("record", 1), Action("backward", 1)]
            return
        if not free:  # one slot: walk from x_start to each step in turn, last first
            for end in range(start + length, start, -1):
                if end < start + length:
                    actions.append(Action("restore", home))
                if end - 1 > start:
                    actions.append(Action("advance", end - 1 - start))
                actions += [Action("record", 1), Action("backward", 1)]
            return
        m = _split(length, len(free) + 1)
        slot, rest = free[0], free[1:]
        actions += [Action("advance", m), Action("snapshot", slot)]
        _reverse(actions, start + m, length - m, rest, slot)
        actions += [Action("free", slot), Action("restore", home)]
        length = m


def _split(length: int, slots: int) -> int:
    """Where revolve puts its next snapshot: an m minimising m + T(length - m, slots - 1) +
    T(m, slots). T(., s) is convex (its increments, the repetition counts, never decrease), so
    the sum is too, and a binary search on its increments finds a minimiser."""

    def cost(m: int) -> int:
        return m + _advances(length - m, slots - 1) + _advances(m, slots)

    low, high = 1, length - 1  # the smallest m whose next increment is not negative
    while low < high:
        middle = (low + high) // 2
        if cost(middle + 1) - cost(middle) >= 0:
            high = middle
        else:
            low = middle + 1
    if cost(low) != _advances(length, slots):  # the closed form is the recursion's optimum
        raise RuntimeError(f"revolve: no split of {length} steps attains the closed form")
    return low


def _check_count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"schedule: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"schedule: {name} must be >= 1, got {value}")
