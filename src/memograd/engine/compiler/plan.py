"""The buffer planner: liveness over the schedule, in-place reuse, one arena, its peak.

Register allocation for arrays. Every ``buf`` slot of the program needs memory from the
instruction that first writes it to the last that reads it, directly or through a view of it, or
through a fallback's result that may alias it (a row's own function may return a view of its
input). Two passes turn that into memory:

1. **In place.** An instruction that is allowed to write its result over an input (a bias added,
   a ReLU, the ReLU's masked adjoint, cross-entropy's stages) gets the input's storage when that
   storage is read by nothing after it, and has the same shape and dtype.
2. **Placement.** The storages, each with its lifetime [first use, last use], are placed in one
   arena by size, largest first, each at the lowest offset (64-byte aligned) where it overlaps no
   storage that is alive at the same time. A pinned storage (a gradient that ``p.grad`` holds
   between steps) is alive always and shares with nothing.

The arena is allocated once, when the plan is bound, and reused by every replay: a step then
allocates nothing but what fallback rows allocate themselves and the copy of each returned value.
:class:`MemoryReport` gives the figures: the arena (the plan's peak), what one buffer per value
would take, and the pinned gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from memograd.engine.compiler.program import Program, Slot

ALIGN = 64
_ALWAYS = 1 << 62


@dataclass(eq=False)
class Storage:
    """Memory for one or more slots that never need it at the same time."""

    nbytes: int
    first: int
    last: int
    pinned: bool
    slots: list[Slot] = field(default_factory=list)
    offset: int = 0


@dataclass(frozen=True)
class MemoryReport:
    """What the plan's buffers take, in bytes."""

    arena_bytes: int  # the plan's peak: every planned buffer, reused, in one allocation
    one_buffer_per_value_bytes: int  # without reuse: every value in its own buffer
    pinned_bytes: int  # gradients that outlive the step (included in the arena)
    values: int  # planned values
    storages: int  # distinct storages after in-place reuse
    in_place: int  # values written over an input
    row_functions: int  # ops run by the row's own functions (they allocate their results)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(eq=False)
class Plan:
    program: Program
    storages: list[Storage]
    storage_of: dict[int, Storage]  # buf slot index -> its storage
    arena_bytes: int
    report: MemoryReport


def _uses(program: Program) -> tuple[dict[int, int], dict[int, int]]:
    """First and last instruction index that touches each slot (views and aliases included)."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def mark(slot: Slot, i: int) -> None:
        stack = [slot]
        seen = set()
        while stack:
            s = stack.pop()
            if s.index in seen:
                continue
            seen.add(s.index)
            if s.index not in first or i < first[s.index]:
                first[s.index] = i
            if s.index not in last or i > last[s.index]:
                last[s.index] = i
            if s.base is not None:
                stack.append(s.base)
            stack.extend(s.keeps)

    for i, instr in enumerate(program.instrs):
        for s in (*instr.reads, *instr.writes):
            mark(s, i)
    end = len(program.instrs)
    for s in _output_slots(program.outputs):
        mark(s, end)
    return first, last


def _output_slots(tree: object) -> list[Slot]:
    if not isinstance(tree, tuple):
        return []
    if tree[0] == "slot":
        return [tree[1]]
    if tree[0] in ("grad", "const"):
        return []
    found = []
    for item in tree[1]:
        found += _output_slots(item[1] if tree[0] is dict else item)
    return found


def plan(program: Program) -> Plan:
    """Storages and arena offsets for the program's buffers (see the module docstring)."""
    first, last = _uses(program)
    storage_of: dict[int, Storage] = {}
    storages: list[Storage] = []
    for s in program.slots:
        if s.kind != "buf" or s.index not in first:
            continue
        st = Storage(s.nbytes, first[s.index], last[s.index], s.pinned, [s])
        storage_of[s.index] = st
        storages.append(st)
    in_place = 0
    for i, instr in enumerate(program.instrs):
        for read, write in instr.inplace:
            source, target = storage_of.get(read.index), storage_of.get(write.index)
            if source is None or target is None or source is target:
                continue
            if source.pinned or target.pinned or len(target.slots) != 1:
                continue
            if read.shape != write.shape or read.dtype != write.dtype or target.first != i:
                continue
            if source.last != i:
                continue  # something reads the input later: it must keep its own memory
            source.slots.append(write)
            source.last = max(source.last, target.last)
            storage_of[write.index] = source
            storages.remove(target)
            in_place += 1
    for st in storages:
        if st.pinned:
            st.first, st.last = -1, _ALWAYS
    arena = _place(storages)
    values = [s for s in program.slots if s.kind == "buf" and s.index in first]
    report = MemoryReport(
        arena_bytes=arena,
        one_buffer_per_value_bytes=sum(_aligned(s.nbytes) for s in values),
        pinned_bytes=sum(_aligned(st.nbytes) for st in storages if st.pinned),
        values=len(values),
        storages=len(storages),
        in_place=in_place,
        row_functions=sum(1 for s in program.slots if s.kind == "dyn"),
    )
    return Plan(program, storages, storage_of, arena, report)


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _place(storages: list[Storage]) -> int:
    """Greedy by size: each storage at the lowest aligned offset free during its lifetime."""
    placed: list[Storage] = []
    top = 0
    for st in sorted(storages, key=lambda s: (-s.nbytes, s.first)):
        size = _aligned(max(st.nbytes, 1))
        busy = sorted(
            (p.offset, p.offset + _aligned(max(p.nbytes, 1)))
            for p in placed
            if p.first <= st.last and st.first <= p.last
        )
        offset = 0
        for start, end in busy:
            if offset + size <= start:
                break
            offset = max(offset, end)
        st.offset = offset
        placed.append(st)
        top = max(top, offset + size)
    return top


def allocate(p: Plan) -> dict[int, np.ndarray]:
    """The arena and every buffer slot's array in it (slots sharing a storage with the same
    shape and dtype get the same array object)."""
    raw = np.empty(p.arena_bytes + ALIGN, np.uint8)
    start = (-raw.ctypes.data) % ALIGN
    arena = raw[start : start + p.arena_bytes]
    arrays: dict[int, np.ndarray] = {}
    made: dict[tuple[int, tuple[int, ...], str], np.ndarray] = {}
    for index, st in p.storage_of.items():
        slot = p.program.slots[index]
        key = (id(st), slot.shape, slot.dtype.str)
        array = made.get(key)
        if array is None:
            region = arena[st.offset : st.offset + slot.nbytes]
            array = made[key] = region.view(slot.dtype).reshape(slot.shape)
        arrays[index] = array
    return arrays
