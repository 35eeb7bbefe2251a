"""Where memograd's training step spends its time: cProfile over many steps, by function.

Run ``python benchmarks/profile_step.py`` from a checkout (options: ``--sizes 64,256,256,10
--batch 32 --steps 2000 --top 20``, ``--value-demo`` for the scalar step). The table is
cumulative and own ("tottime") seconds per function, as percentages of the whole profiled run;
docs/performance.md quotes it.

As in the benchmark, freed memory is kept in the process (the engine's opt-in
``keep_freed_memory``). The BLAS runs on one thread here (``--blas-threads`` to change it):
on a shared machine a second BLAS thread that has to wait for a busy core makes every matmul
erratic, and the profile would rank the neighbours' load instead of memograd's code.

cProfile adds a fixed cost to every Python call, so it overstates the share of
code that makes many small calls; the percentages rank the suspects, and the
bench's timings (no profiler) say how much fixing one pays.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FunctionCost:
    """One function's share of a profiled run."""

    function: str
    calls: int
    own_seconds: float
    cumulative_seconds: float
    own_percent: float
    cumulative_percent: float


def profile_step(
    sizes: Sequence[int], batch: int, steps: int, peer: str = "memograd", blas_threads: int = 1
) -> tuple[float, list[FunctionCost]]:
    """Profile ``steps`` training steps of ``peer``; return total seconds and per-function costs."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    from benchmarks.environment import pin_blas_threads
    from benchmarks.mlp_peers import PEER_BUILDERS
    from memograd.engine import keep_freed_memory
    from memograd.timing import make_step

    pin_blas_threads(blas_threads)
    keep_freed_memory()
    step = make_step(peer, sizes, batch, seed=0, builders=PEER_BUILDERS).step
    for _ in range(5):  # warm caches and the allocator outside the profile
        step()
    return profile_calls(step, steps)


def profile_value_demo(steps: int, points: int = 100) -> tuple[float, list[FunctionCost]]:
    """Profile micrograd's demo step written with ``mg.Value`` (the benchmark's micrograd_demo)."""
    from benchmarks.value_vs_micrograd import ScalarMLP, demo_step, initial_weights, moons_points
    from memograd.engine import Value

    xs, labels = moons_points(points, seed=1)
    step, _ = demo_step(Value, ScalarMLP(Value, initial_weights(seed=1)), xs, labels)
    step()
    return profile_calls(step, steps)


def profile_calls(step: Callable[[], object], calls: int) -> tuple[float, list[FunctionCost]]:
    """Run ``step`` ``calls`` times under cProfile; functions sorted by own time, largest first."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    costs = []
    for (filename, line, name), (_, count, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        costs.append(
            FunctionCost(
                function=_short_name(filename, line, name),
                calls=count,
                own_seconds=own,
                cumulative_seconds=cumulative,
                own_percent=100.0 * own / total if total else 0.0,
                cumulative_percent=100.0 * cumulative / total if total else 0.0,
            )
        )
    costs.sort(key=lambda c: c.own_seconds, reverse=True)
    return total, costs


def _short_name(filename: str, line: int, name: str) -> str:
    """``engine/tensor.py:115 _apply``, not an absolute path; builtins as cProfile names them."""
    if filename == "~":
        return name
    marker = "memograd/"
    if marker in filename:
        filename = filename[filename.rindex(marker) + len(marker) :]
    else:
        filename = filename.rsplit("/", 1)[-1]
    return f"{filename}:{line} {name}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,256,256,10", help="layer widths, input first")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=None, help="default 2000 (5 for Value)")
    parser.add_argument("--top", type=int, default=20, help="functions to list, by own time")
    parser.add_argument("--peer", default="memograd")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument(
        "--value-demo",
        action="store_true",
        help="profile micrograd's demo step with mg.Value instead (--steps defaults to 5)",
    )
    args = parser.parse_args(argv)
    from benchmarks.environment import configure_xla, core_count

    configure_xla(core_count())  # for --peer jax: before anything imports it
    if args.value_demo:
        steps = 5 if args.steps is None else args.steps
        total, costs = profile_value_demo(steps)
        print(
            f"mg.Value micrograd demo step (MLP 2-16-16-1, 100 points): {steps} steps, "
            f"{total:.2f} s under cProfile ({total / steps * 1e3:.0f} ms/step)"
        )
    else:
        steps = 2000 if args.steps is None else args.steps
        sizes = [int(s) for s in args.sizes.split(",")]
        total, costs = profile_step(sizes, args.batch, steps, args.peer, args.blas_threads)
        print(
            f"{args.peer} step, MLP {'-'.join(map(str, sizes))}, batch {args.batch}: "
            f"{steps} steps, {total:.2f} s under cProfile "
            f"({total / steps * 1e6:.0f} µs/step), {args.blas_threads} BLAS thread(s)"
        )
    print(f"{'own %':>6} {'cum %':>6} {'calls/step':>10}  function")
    for cost in costs[: args.top]:
        print(
            f"{cost.own_percent:6.1f} {cost.cumulative_percent:6.1f} "
            f"{cost.calls / steps:10.1f}  {cost.function}"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.path[0:1] = [str(ROOT / "src"), str(ROOT)]  # as benchmarks/run.py: this checkout's code
    raise SystemExit(main())
