"""The one list of case families, and the runner that produces the report.

A family is a module of this folder with ``CASES: tuple[Case, ...]``; adding one is writing the
module and adding it to :data:`FAMILIES` (see README.md). Cases run in the order listed here.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from benchmarks import (
    backward_strategies,
    checkpointing_vs_torch,
    compiled_step_vs_peers,
    estimators_vs_sklearn,
    fibonacci_strategies,
    memoize_stores,
    memoize_vs_functools,
    mlp_step_vs_peers,
    training_vs_torch,
    value_vs_micrograd,
)
from benchmarks.environment import (
    describe_environment,
    load_average,
    pin_blas_threads,
    pinned_cores,
    set_peer_threads,
    xla_threads,
)
from benchmarks.results import Case, CaseResult, Settings
from memograd.engine import keep_freed_memory

FAMILIES: tuple[ModuleType, ...] = (
    mlp_step_vs_peers,
    compiled_step_vs_peers,
    value_vs_micrograd,
    memoize_vs_functools,
    memoize_stores,
    fibonacci_strategies,
    backward_strategies,
    training_vs_torch,
    estimators_vs_sklearn,
    checkpointing_vs_torch,
)
CASES: tuple[Case, ...] = tuple(case for family in FAMILIES for case in family.CASES)
CASE_NAMES: tuple[str, ...] = tuple(case.name for case in CASES)


def select_cases(only: Sequence[str] | None) -> list[Case]:
    """The cases named in ``only`` (a name, or a prefix such as ``mlp``); all when empty."""
    if not only:
        return list(CASES)
    chosen: list[Case] = []
    for wanted in only:
        matches = [case for case in CASES if case.name == wanted or case.name.startswith(wanted)]
        if not matches:
            raise ValueError(
                f"unknown benchmark case {wanted!r}; expected a name or prefix of: "
                + ", ".join(CASE_NAMES)
            )
        chosen.extend(case for case in matches if case not in chosen)
    return [case for case in CASES if case in chosen]


def run_case(case: Case, settings: Settings) -> CaseResult:
    """Run one case; a crash makes it an error in the report, with the traceback's tail."""
    result = case.new_result()
    start = time.perf_counter()
    try:
        case.run(settings, result)
    except Exception as exc:  # noqa: BLE001 - one broken case must not hide the others
        result.status = "error"
        result.met = None
        result.verdict = f"{type(exc).__name__}: {exc}"
        result.notes.append(traceback.format_exc(limit=4))
    result.seconds_spent = time.perf_counter() - start
    return result


def _allocator_setting(keep_freed: bool) -> str:
    """Apply ``mg.engine.keep_freed_memory()`` if asked; say what holds."""
    if not keep_freed:
        return "the C library's defaults (--system-allocator)"
    if keep_freed_memory():
        return "freed memory kept in the process for every peer (mg.engine.keep_freed_memory)"
    return "the C library's defaults (keep_freed_memory needs glibc)"


def run_benchmark(
    cases: Sequence[Case],
    settings: Settings,
    on_header: Callable[[dict[str, Any]], None] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    threads: int | None = None,
    keep_freed: bool = True,
) -> dict[str, Any]:
    """Pin threads, run ``cases`` in order and return the report as plain data.

    ``on_header(header)`` is called before the first case and ``on_result(case_result)`` as
    each case finishes, so a caller can print progress on a run that takes minutes.
    ``threads`` is every peer's thread count (BLAS, PyTorch, XLA); None pins them all to the
    core count. ``keep_freed`` applies memograd's opt-in allocator setting to the whole
    process before anything is timed, so every NumPy-based peer gets it alike (see the header).
    """
    threads = set_peer_threads(threads)
    blas_threads = pin_blas_threads(threads)
    allocator = _allocator_setting(keep_freed)
    header = describe_environment()
    header["allocator"] = allocator
    header["threads"] = {
        "blas": blas_threads,
        "torch": threads,
        "xla": xla_threads(),
    }
    header["pinned_cores"] = pinned_cores()
    header["settings"] = {
        "quick": settings.quick,
        "rounds": settings.rounds,
        "batch_seconds": settings.batch_seconds,
        "settle_seconds": settings.settle_seconds,
    }
    if on_header is not None:
        on_header(header)
    results = []
    for case in cases:
        result = run_case(case, settings)
        results.append(result)
        if on_result is not None:
            on_result(result)
    header["load_average_at_end"] = load_average()
    return {"header": header, "cases": [result.as_dict() for result in results]}
