"""The MLP training step written the ordinary way, eager and through ``mg.compile``, beside peers.

memograd's step here is the one a user writes: ``h = h @ W + b``, ``.relu()``,
``mg.nn.functional.cross_entropy``, ``loss.backward()``, ``mg.optim.SGD`` (``zero_grad`` and
``step``), the batch passed as arguments. ``memograd_compiled`` is that very function wrapped in
``mg.compile``: traced on its first two calls, replayed afterwards; ``memograd_fused`` is
``mg.compile(step, fuse=True)``, the same plan with its elementwise runs as numba loops (skipped
with one line where numba is not installed). The compiled targets are judged on the fused row
where it runs, else on the plain one. Peers, each written as its
users write it (:mod:`benchmarks.mlp_peers`): the hand-written NumPy step (the floor), PyTorch
eager, ``torch.compile`` of PyTorch's whole step function (as PyTorch's tutorial compiles
training), and ``jax.jit`` of a ``jax.value_and_grad`` update that donates the old parameters.
A peer that cannot run here (not installed; torch.compile without a C++ compiler, or failing)
is skipped with one line saying why.

Before timing, every step runs :data:`CHECK_STEPS` steps from the same start: each peer's loss
and weights after every step must follow the NumPy floor's to float32 rounding (so the timings
compare equal work), the compiled step's weights must equal the eager step's bit for bit, and the
fused step's must equal them to float32 rounding (its softmax's exp and sums differ in the last
bits).
Those first steps are where the compilers compile; their wall time is the ``warmup_s`` column,
kept out of the medians (which come after the harness's own warm-up calls).

Memory (``peak_kB``): the peak one step adds above its start, as tracemalloc sees it (NumPy
reports its arrays, PyTorch and XLA do not, so their rows have none), measured on a warm step
outside the timing. For the compiled rows, ``planned_kB`` is the plan's arena (every planned
buffer, the gradients kept between steps included) and ``unplanned_kB`` what one buffer per
value would take: in the JSON row, and as a note under the table.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np

from benchmarks.mlp_peers import (
    PEER_BUILDERS,
    CompilingStep,
    Trajectory,
    follow,
    trajectory_disagreements,
)
from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.timing import Comparison, MLPStep, PeerUnavailable, Problem, compare, make_problem

FLOOR = "numpy"
EAGER = "memograd_eager"
COMPILED = "memograd_compiled"
FUSED = "memograd_fused"
FUSED_RTOL = 1e-5  # the fused step's weights against the eager step's, after CHECK_STEPS steps
LR = 0.1
CHECK_STEPS = 3  # the compiled step traces twice, then replays: the third step is a replay
PEERS = (FLOOR, "torch", "torch_compile", "jax_jit")
# The targets. The compiled step must beat these three at every size; the floor and
# memograd's own eager step are reference points.
PEERS_TO_BEAT = ("torch", "torch_compile", "jax_jit")
SMALL_BATCH = 32  # where the Python overhead shows, and the targets on it apply
SMALL_BATCH_FLOOR_RATIO = 0.9  # compiled / NumPy by hand, at batch 32
EAGER_FLOOR_RATIO = 1.1  # eager / NumPy by hand, at every size
EAGER_PEER = "torch"  # eager memograd must beat PyTorch eager at batch 32
# Peers whose allocations tracemalloc does not see (their own allocators).
UNTRACED = ("torch", "torch_compile", "jax_jit")


def ordinary_step(
    problem: Problem, lr: float, compiled: bool, fuse: bool = False
) -> tuple[MLPStep, Callable]:
    """The step as a user writes it; ``compiled`` wraps the same function in ``mg.compile``
    (``fuse``: with ``fuse=True``)."""
    import memograd as mg

    weights = [mg.tensor(w, requires_grad=True) for w in problem.weights]
    biases = [mg.tensor(b, requires_grad=True) for b in problem.biases]
    params = [p for pair in zip(weights, biases, strict=True) for p in pair]
    optimizer = mg.optim.SGD(params, lr=lr)
    last = len(weights) - 1

    def train_step(x, y):
        optimizer.zero_grad()
        h = x
        for k, (W, b) in enumerate(zip(weights, biases, strict=True)):
            h = h @ W + b
            if k < last:
                h = h.relu()
        loss = mg.nn.functional.cross_entropy(h, y)
        loss.backward()
        optimizer.step()
        return loss

    fn = mg.compile(train_step, fuse=fuse) if compiled else train_step
    inputs, labels = problem.inputs, problem.labels

    def step() -> None:
        fn(inputs, labels)

    name = (FUSED if fuse else COMPILED) if compiled else EAGER
    description = "h @ W + b, .relu(), F.cross_entropy, backward(), mg.optim.SGD" + (
        (", in mg.compile(fuse=True)" if fuse else ", in mg.compile") if compiled else ""
    )
    return MLPStep(name, description, step, lambda: [p.data.copy() for p in params]), fn


def _peak_kilobytes(step: Callable[[], None]) -> float:
    """The peak one warm step adds above its start, in kB, as tracemalloc sees it."""
    step()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step()
        return round((tracemalloc.get_traced_memory()[1] - before) / 1024, 1)
    finally:
        tracemalloc.stop()


def _build(
    sizes: Sequence[int], batch: int, result: CaseResult
) -> tuple[dict[str, MLPStep], dict[str, Problem], dict[str, Callable]]:
    """Every step from its own copy of one problem (the floor updates its arrays in place)."""
    names = (EAGER, COMPILED, FUSED, *PEERS)
    problems = {name: make_problem(sizes, batch, seed=0) for name in names}
    eager, _ = ordinary_step(problems[EAGER], LR, compiled=False)
    compiled, compiled_fn = ordinary_step(problems[COMPILED], LR, compiled=True)
    steps = {EAGER: eager, COMPILED: compiled}
    compiled_fns = {COMPILED: compiled_fn}
    try:
        steps[FUSED], compiled_fns[FUSED] = ordinary_step(problems[FUSED], LR, True, fuse=True)
    except ImportError as exc:
        result.skip_peer(FUSED, str(exc))
    for peer in PEERS:
        try:
            steps[peer] = PEER_BUILDERS[peer](problems[peer], LR)
        except PeerUnavailable as exc:
            result.skip_peer(peer, exc.reason)
    return steps, problems, compiled_fns


def _follow_all(
    steps: dict[str, MLPStep], problems: dict[str, Problem], result: CaseResult
) -> dict[str, Trajectory]:
    """The first steps of each, compiling included; a peer that cannot compile is skipped."""
    trajectories = {}
    for name, step in list(steps.items()):
        try:
            trajectories[name] = follow(step, problems[name], CHECK_STEPS)
        except PeerUnavailable as exc:
            result.skip_peer(name, exc.reason)
            del steps[name]
            continue
        if isinstance(step, CompilingStep):
            made = ", ".join(f"{count} {what}" for what, count in step.made().items())
            result.notes.append(f"{name} made {made}")
    return trajectories


def _check(trajectories: dict[str, Trajectory]) -> list[str]:
    """Every trajectory against the floor's; the compiled step's weights against the eager
    step's, bit for bit, and the fused step's to float32 rounding."""
    if FLOOR not in trajectories:
        return ["the NumPy floor did not run"]
    others = [t for name, t in trajectories.items() if name != FLOOR]
    found = trajectory_disagreements(others, trajectories[FLOOR])
    eager, compiled = trajectories[EAGER].weights[-1], trajectories[COMPILED].weights[-1]
    if any(a.tobytes() != b.tobytes() for a, b in zip(eager, compiled, strict=True)):
        found.append("the compiled step's weights differ from the eager step's")
    if FUSED in trajectories:
        fused = trajectories[FUSED].weights[-1]
        if not all(
            np.allclose(a, b, rtol=FUSED_RTOL, atol=FUSED_RTOL * np.abs(a).max())
            for a, b in zip(eager, fused, strict=True)
        ):
            found.append("the fused step's weights differ from the eager step's past rounding")
    return found


def _judge(comparison: Comparison, small: bool, result: CaseResult) -> None:
    """Every target of the issue as compiled (or eager) / peer, the misses marked. The compiled
    targets are judged on the fused step where it ran (the mode meant for speed), else on the
    plain plan; the plain plan's ratio to the floor is given beside."""
    timings = comparison.timings
    judged = FUSED if FUSED in timings else COMPILED
    who_compiled = "fused" if judged == FUSED else "compiled"

    def over(numerator: str, peer: str) -> float:
        return timings[numerator].median / timings[peer].median

    parts, missed, unjudged = [], False, []
    beaten = []
    for peer in PEERS_TO_BEAT:
        if peer not in timings:
            unjudged.append(peer)
            continue
        ratio = over(judged, peer)
        missed |= ratio >= 1.0
        beaten.append(f"{peer} {ratio:.2f}x" + (" MISSED" if ratio >= 1.0 else ""))
    if beaten:
        parts.append(f"{who_compiled} / " + ", ".join(beaten))
    checks = [(EAGER, FLOOR, EAGER_FLOOR_RATIO, "<=")]
    if small:
        checks[:0] = [(judged, FLOOR, SMALL_BATCH_FLOOR_RATIO, "<=")]
        checks.append((EAGER, EAGER_PEER, 1.0, "<"))
    for numerator, peer, bound, sign in checks:
        if peer not in timings:
            unjudged.append(peer)
            continue
        ratio = over(numerator, peer)
        ok = ratio <= bound if sign == "<=" else ratio < bound
        missed |= not ok
        who = who_compiled if numerator == judged else "eager"
        parts.append(f"{who} / {peer} {ratio:.2f}x" + ("" if ok else f" MISSED ({sign} {bound})"))
    if judged == FUSED and FLOOR in timings:
        parts.append(f"compiled (NumPy plan) / {FLOOR} {over(COMPILED, FLOOR):.2f}x")
    parts.append(f"eager / compiled {over(EAGER, COMPILED):.2f}x")
    if unjudged:
        parts.append("not judged against " + ", ".join(unjudged) + " (skipped)")
    result.met = False if missed else (None if unjudged else True)
    result.verdict = "; ".join(parts)


def _case(name: str, sizes: tuple[int, ...], batch: int) -> Case:
    arch = "-".join(map(str, sizes))
    small = batch == SMALL_BATCH
    target = "compiled faster than PyTorch eager, torch.compile and JAX jit" + (
        f"; compiled <= {SMALL_BATCH_FLOOR_RATIO}x NumPy by hand" if small else ""
    )
    target += f"; eager <= {EAGER_FLOOR_RATIO}x NumPy by hand"
    if small:
        target += "; eager faster than PyTorch eager"

    def run(settings: Settings, result: CaseResult) -> None:
        steps, problems, compiled_fns = _build(sizes, batch, result)
        trajectories = _follow_all(steps, problems, result)
        problems_found = _check(trajectories)
        result.notes.extend(problems_found)
        memories = {}
        for name, fn in compiled_fns.items():
            plan = fn.plan_for(problems[name].inputs, problems[name].labels)
            if plan is None or fn.cache_info().replays == 0:
                result.met = False
                result.verdict = f"{name} made no plan"
                return
            memories[name] = plan.memory
        reference = FUSED if FUSED in steps else COMPILED  # the row the targets are judged on
        result.ratio_header = f"{reference.removeprefix('memograd_')} / peer"
        # The plan's two figures are the compiled row's alone: a note, not two columns of dashes.
        result.columns = ("spread", "eager / peer", "warmup_s", "peak_kB")
        comparison = compare({n: s.step for n, s in steps.items()}, settings.plan(), reference)
        eager_median = comparison.timings[EAGER].median
        for peer, timing in comparison.timings.items():
            extra = {
                "spread": round(timing.spread, 3),
                "eager / peer": round(eager_median / timing.median, 2),
                "warmup_s": round(trajectories[peer].seconds, 4),
                "calls_per_round": timing.calls_per_round,
                "peak_kB": None if peer in UNTRACED else _peak_kilobytes(steps[peer]),
            }
            if peer in memories:
                extra["planned_kB"] = round(memories[peer].arena_bytes / 1024, 1)
                extra["unplanned_kB"] = round(memories[peer].one_buffer_per_value_bytes / 1024, 1)
            result.rows.append(
                Row(
                    label=peer,
                    seconds=timing.median,
                    ratio=comparison.ratio(peer),
                    extra=extra,
                    note=steps[peer].description,
                )
            )
        for name, memory in memories.items():
            result.notes.append(
                f"{name}'s plan: an arena of {memory.arena_bytes / 1024:.1f} kB, allocated once, "
                f"against {memory.one_buffer_per_value_bytes / 1024:.1f} kB for one buffer per "
                "value"
            )
        if problems_found:
            result.met = False
            result.verdict = "; ".join(problems_found)
            return
        _judge(comparison, small, result)

    return Case(
        name=name,
        title=f"MLP {arch} step written the ordinary way, eager and mg.compile, batch {batch}",
        target=target,
        run=run,
    )


CASES: tuple[Case, ...] = (
    _case("compiled_small_b32", (64, 256, 256, 10), SMALL_BATCH),
    _case("compiled_small_b1024", (64, 256, 256, 10), 1024),
    _case("compiled_large_b128", (784, 512, 512, 10), 128),
)
