"""The package's layers import downward only, and no module imports itself round a cycle.

docs/architecture.md states the layers; this test reads every ``import`` in src/memograd (those
inside functions too: a lazy import is still a dependency) and fails on an import that goes up a
layer, sideways into a layer not listed as below, or round a cycle of modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "memograd"

# Each part of the package and the parts it may import. Parts are the folders under memograd/
# and its top-level modules; the underscored modules and "seeding" are utilities every layer may
# use. ROOT is the package itself (``import memograd as mg``): it imports every library layer,
# so only the layers above all of them (demo, cli) may use it.
ROOT = "memograd"
UTILITIES = {"_files", "_budget", "_numbers", "_version", "seeding"}
LIBRARY = {"memo", "fibonacci", "engine", "data", "optim", "nn", "explain", "viz", "timing"}
ALLOWED: dict[str, set[str]] = {
    "_files": set(),
    "_budget": set(),
    "_numbers": set(),
    "_version": set(),
    "seeding": set(),
    "memo": set(),
    "fibonacci": {"memo"},
    "engine": set(),
    "data": {"engine"},
    "optim": {"engine"},
    "nn": {"engine", "data", "optim"},
    "saving": {"engine", "data", "nn"},
    "explain": {"engine", "fibonacci"},
    "timing": {"engine"},
    "viz": {"engine", "explain", "nn", "data", "fibonacci"},
    "explore": {"engine", "explain", "fibonacci", "viz"},
    "demo": LIBRARY | {ROOT},
    "cli": LIBRARY | {"explore", "demo", ROOT},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """'memograd.engine.ops' -> 'engine'; the package root itself -> ROOT."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else ROOT


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every memograd module that ``path`` imports, with the line, resolved to a module name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    type_only = {
        id(inner)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for inner in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:  # annotations only: no dependency when the code runs
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # ``from memograd.nn import layers`` imports the submodule memograd.nn.layers
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return [(m, line) for m, line in found if m in modules and m != here]


def all_imports() -> dict[str, list[tuple[str, int]]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_part_is_listed():
    parts = {part_of(m) for m in all_imports()} - {ROOT}
    assert parts <= set(ALLOWED), f"add {sorted(parts - set(ALLOWED))} to ALLOWED and the docs"


def test_imports_go_downward_only():
    wrong = []
    for module, targets in all_imports().items():
        source = part_of(module)
        if source == ROOT:  # the package's own __init__ gathers every layer
            continue
        for target, line in targets:
            goal = part_of(target)
            if goal != source and goal not in ALLOWED[source] | UTILITIES - {source}:
                wrong.append(f"{module}:{line} ({source}) imports {target} ({goal})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_cycles_between_modules():
    graph = {m: {t for t, _ in targets} for m, targets in all_imports().items()}
    # A package's __init__ re-exports its modules; a module importing a sibling through the
    # package is a real dependency, but the package importing its own modules is not a cycle.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_allowed_table_has_no_cycle_through(part):
    seen, frontier = set(), [part]
    while frontier:
        for below in ALLOWED.get(frontier.pop(), ()):
            assert below != part, f"ALLOWED lets {part} reach itself"
            if below not in seen:
                seen.add(below)
                frontier.append(below)
