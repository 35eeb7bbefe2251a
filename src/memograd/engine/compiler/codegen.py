"""The replay as Python source: one straight-line function of NumPy calls.

A planned program becomes the text of a function ``replay(A0, A1, ...)`` whose body is its
instructions, one line each, with every buffer, parameter array and kernel bound as a global of
that function (a global load is the cheapest name lookup CPython has after a local). So a replay is
the interpreter running one frame of calls into NumPy: no graph, no topological order, no dict of
adjoints, no per-op dispatch. The text is kept (``CompiledStep.explain()`` prints it), so the plan
can be read, and checked, like the hand-written step it replaces.

:func:`bind` fills the globals: the arena's buffers, the parameters' current arrays, the views
made once (``W.T``). :func:`generate` returns the source and the guard that a replay checks first
(every parameter still holds the array the plan was bound to, and still requires grad as it did).
"""

from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass
from typing import Any

import numpy as np

from memograd.engine import ops
from memograd.engine.compiler.plan import Plan, allocate
from memograd.engine.compiler.program import Slot, is_fixed
from memograd.engine.tensor import Tensor


def _literal(value: Any) -> str | None:
    """Python source for a value that is safe and exact to write inline, else None."""
    if type(value) in (bool, int, float, str, type(None)) or (
        type(value) is tuple and all(_literal(v) is not None for v in value)
    ):
        text = repr(value)
        try:
            same = ast.literal_eval(text) == value
        except (ValueError, SyntaxError):  # nan, inf
            return None
        return text if same else None
    return None


def _copy_out(array: np.ndarray) -> Tensor:
    """A returned value: a copy (the buffer is the next replay's), as a leaf without a graph."""
    return Tensor._wrap(np.array(array, copy=True), False)


def _grad_out(t: Tensor) -> Any:
    return None if t.grad is None else np.array(t.grad, copy=True)


@dataclass(eq=False)
class Generated:
    source: str
    guard_source: str
    names: dict[str, Any]  # the globals of the replay (objects, before binding)
    leaves: list[tuple[str, Tensor]]  # (name of its array, the leaf tensor)


class _Namer:
    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.by_id: dict[int, str] = {}

    def name(self, value: Any) -> str:
        literal = _literal(value)
        if literal is not None:
            return literal
        known = self.by_id.get(id(value))
        if known is not None:
            return known
        base = getattr(value, "__name__", None)
        if isinstance(value, np.generic):  # a typed constant (a divisor): its type and value
            base = f"{type(value).__name__}_{value}".replace(".", "_").replace("-", "m")
        if not isinstance(base, str) or not base.isidentifier() or keyword.iskeyword(base):
            base = type(value).__name__.lower()
        base = base.strip("_") or "obj"
        name = base if base not in self.objects else f"{base}_{len(self.objects)}"
        while name in self.objects:
            name += "_"
        self.objects[name] = value
        self.by_id[id(value)] = name
        return name


def generate(p: Plan) -> Generated:
    program = p.program
    namer = _Namer()
    namer.objects["expand_reduced"] = ops._expand_reduced
    namer.by_id[id(ops._expand_reduced)] = "expand_reduced"

    def text(item: Any) -> str:
        if isinstance(item, Slot):
            return item.name
        return namer.name(item)

    args = [f"A{k}" for k in range(program.n_args)]
    lines = [f"def replay({', '.join(args)}):"]
    for k, is_tensor in enumerate(program.arg_is_tensor):
        lines.append(f"    a{k} = A{k}._data" if is_tensor else f"    a{k} = A{k}")
    for instr in (*program.checks, *program.instrs):
        line = "    " + instr.code.format(*(text(item) for item in instr.items))
        if instr.note:
            line += "  # " + instr.note.replace("\n", " ")
        lines.append(line)
    lines.append("    return " + _output_source(program.outputs, namer))
    leaves = []
    guard = []
    for index, t in program.leaf_tensors.items():
        name = program.slots[index].name
        leaves.append((name, t))
        tname = namer.name(t)
        guard.append(f"{tname}._data is {name}")
        guard.append(f"{tname}.requires_grad is {bool(t.requires_grad)}")
    guard_source = "def guard():\n    return " + (" and ".join(guard) or "True") + "\n"
    return Generated("\n".join(lines) + "\n", guard_source, namer.objects, leaves)


def _output_source(tree: Any, namer: _Namer) -> str:
    kind = tree[0]
    if kind == "slot":
        return f"copy_out({tree[1].name})"
    if kind == "grad":
        return f"grad_out({namer.name(tree[1])})"
    if kind == "const":
        return namer.name(tree[1])
    container, items = tree
    if container is dict:
        body = ", ".join(f"{namer.name(k)}: {_output_source(v, namer)}" for k, v in items)
        return "{" + body + "}"
    body = ", ".join(_output_source(v, namer) for v in items)
    if container is tuple:
        return f"({body},)" if len(items) == 1 else f"({body})"
    if container is list:
        return f"[{body}]"
    return f"{namer.name(container)}([{body}])"


def bind(p: Plan, generated: Generated) -> tuple[Any, Any, dict[str, Any]]:
    """The replay and guard functions, with buffers, parameter arrays and fixed views bound."""
    program = p.program
    space: dict[str, Any] = {"__builtins__": __builtins__, **generated.names}
    space["copy_out"] = _copy_out
    space["grad_out"] = _grad_out
    arrays = allocate(p)
    for slot in program.slots:
        if slot.kind == "buf" and slot.index in arrays:
            space[slot.name] = arrays[slot.index]
        elif slot.kind == "leaf":
            space[slot.name] = slot.source._data
        elif slot.kind == "const":
            space[slot.name] = slot.source
        elif slot.kind == "view" and is_fixed(slot) and slot.base.name in space:
            space[slot.name] = eval(slot.source.format(slot.base.name), space)  # noqa: S307
    exec(compile(generated.source, "<memograd compiled step>", "exec"), space)  # noqa: S102
    exec(compile(generated.guard_source, "<memograd compiled step guard>", "exec"), space)  # noqa: S102
    return space["replay"], space["guard"], space
