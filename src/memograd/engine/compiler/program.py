"""The plan's intermediate form: slots (values) and a flat list of instructions.

A :class:`Slot` is one array value of the step, by where it lives:

========  ===================================================================================
kind      where its array comes from at replay
========  ===================================================================================
``arg``   an array argument of the call (a local of the replay function)
``leaf``  a tensor from outside the ops (a parameter, a constant), read live by identity
``const`` an array fixed when the plan was made (a seed of ones, a row index)
``buf``   a planned buffer: a view into the plan's arena, written by the instructions
``dyn``   the result of a row's own function (the fallback), allocated by it on every call
``view``  a view of another slot (``W.T``, a reshape): made once when its base is fixed
========  ===================================================================================

An :class:`Instr` is one line of the replay function: a format string whose ``{0}``, ``{1}``...
are slots (their names) or objects (bound as globals of the generated code), with the slots it
reads and writes, and the pairs (read, write) that may share memory if the read slot's storage is
dead after it (the kernel is correct in place). :mod:`plan` decides storages from this, and
:mod:`codegen` writes the function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Slot:
    """One array value of the plan (see the module docstring for ``kind``)."""

    __slots__ = ("index", "kind", "shape", "dtype", "source", "base", "keeps", "pinned", "name")

    def __init__(self, index: int, kind: str, shape: tuple[int, ...], dtype: Any, source: Any):
        self.index = index
        self.kind = kind
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.source = source  # arg position, leaf tensor, constant array, or view expression
        self.base: Slot | None = None  # a view's base
        self.keeps: tuple[Slot, ...] = ()  # slots this one may alias (a fallback's inputs)
        self.pinned = False  # a buffer that outlives the step (a parameter's .grad)
        self.name = f"s{index}"

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} {self.shape} {self.dtype}>"


@dataclass
class Instr:
    """One statement of the replay: ``code.format(*items)`` with slots named, objects bound."""

    code: str
    items: tuple[Any, ...]
    reads: tuple[Slot, ...]
    writes: tuple[Slot, ...]
    inplace: tuple[tuple[Slot, Slot], ...] = ()
    note: str = ""  # what it is, for the listing (the op and the line it came from)


@dataclass
class Program:
    """Slots and instructions in order; built by :mod:`lower`, planned by :mod:`plan`."""

    n_args: int
    arg_is_tensor: list[bool]
    slots: list[Slot] = field(default_factory=list)
    instrs: list[Instr] = field(default_factory=list)
    checks: list[Instr] = field(default_factory=list)  # argument checks, run before any kernel
    outputs: Any = None  # the return value's structure over slots
    leaf_tensors: dict[int, Any] = field(default_factory=dict)  # leaf slot index -> Tensor

    def slot(self, kind: str, shape: tuple[int, ...], dtype: Any, source: Any = None) -> Slot:
        s = Slot(len(self.slots), kind, shape, dtype, source)
        self.slots.append(s)
        return s

    def buf(self, shape: tuple[int, ...], dtype: Any) -> Slot:
        return self.slot("buf", shape, dtype)

    def view(self, base: Slot, expr: str, shape: tuple[int, ...], dtype: Any = None) -> Slot:
        """``expr`` applied to ``base`` (``"{}.T"``): no copy, the base's memory."""
        s = self.slot("view", shape, base.dtype if dtype is None else dtype, expr)
        s.base = base
        if base.kind not in ("leaf", "const", "buf", "view") or not _fixed(base):
            self.emit("{0} = " + expr.format("{1}"), s, base, reads=(base,), writes=(s,))
        return s

    def emit(
        self,
        code: str,
        *items: Any,
        reads: tuple[Slot, ...] = (),
        writes: tuple[Slot, ...] = (),
        inplace: tuple[tuple[Slot, Slot], ...] = (),
        note: str = "",
    ) -> Instr:
        instr = Instr(code, items, tuple(reads), tuple(writes), tuple(inplace), note)
        self.instrs.append(instr)
        return instr


def _fixed(s: Slot) -> bool:
    """Is the slot's array the same object on every call (so a view of it can be made once)?"""
    while s.kind == "view":
        s = s.base
    return s.kind in ("leaf", "const", "buf")


def is_fixed(s: Slot) -> bool:
    return _fixed(s)
