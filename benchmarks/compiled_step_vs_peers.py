"""The MLP training step written the ordinary way, eager and through ``mg.compile``, beside peers.

memograd's step here is the one a user writes: ``h = h @ W + b``, ``.relu()``,
``mg.nn.functional.cross_entropy``, ``loss.backward()``, ``mg.optim.SGD`` (``zero_grad`` and
``step``), the batch passed as arguments. ``memograd_compiled`` is that very function wrapped in
``mg.compile``: traced on its first two calls (during warm-up), replayed afterwards. Peers: the
hand-written NumPy step (the floor), PyTorch eager, and JAX's jit where it is installed (skipped
with ``--quick``: it compiles every shape afresh, seconds per case). ``torch.compile`` is not
timed: it needs a C compiler toolchain at run time and minutes per shape on this machine class.

Checks before timing: the compiled step's weights after three steps equal the eager step's bit
for bit, and every step's weights after one step agree with the NumPy floor's.

Memory (``peak_kB``): the peak one step adds above its start, as tracemalloc sees it (NumPy
reports its arrays, PyTorch does not, so torch's row has none), measured on a warm step outside
the timing. For the compiled row, ``planned_kB`` is the plan's arena (every planned buffer, the
gradients kept between steps included) and ``unplanned_kB`` what one buffer per value would take.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Sequence

from benchmarks.mlp_peers import PEER_BUILDERS, check_agreement
from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.timing import MLPStep, PeerUnavailable, Problem, compare, make_problem

FLOOR = "numpy"
COMPILED = "memograd_compiled"
LR = 0.1
# The peers the compiled step must beat (the list: the floor and memograd's own eager
# step are reference points, not peers).
PEERS_TO_BEAT = ("torch", "jax_jit")
SMALL_BATCH_FLOOR_RATIO = 0.9  # the target for the compiled step at batch 32


def ordinary_step(problem: Problem, lr: float, compiled: bool) -> tuple[MLPStep, Callable]:
    """The step as a user writes it; ``compiled`` wraps the same function in ``mg.compile``."""
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

    fn = mg.compile(train_step) if compiled else train_step
    inputs, labels = problem.inputs, problem.labels

    def step() -> None:
        fn(inputs, labels)

    name = COMPILED if compiled else "memograd_eager"
    description = "h @ W + b, .relu(), F.cross_entropy, backward(), mg.optim.SGD" + (
        ", in mg.compile" if compiled else ""
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
    sizes: Sequence[int], batch: int, settings: Settings, result: CaseResult
) -> tuple[dict[str, MLPStep], Callable]:
    problem = make_problem(sizes, batch, seed=0)
    eager, _ = ordinary_step(problem, LR, compiled=False)
    compiled, compiled_fn = ordinary_step(problem, LR, compiled=True)
    steps = {"memograd_eager": eager, COMPILED: compiled}
    peers = ["numpy", "torch"] + ([] if settings.quick else ["jax_jit"])
    for peer in ("numpy", "torch", "jax_jit"):
        if peer not in peers:
            result.skip_peer(peer, "not timed with --quick in this case")
            continue
        try:
            steps[peer] = PEER_BUILDERS[peer](problem, LR)
        except PeerUnavailable as exc:
            result.skip_peer(peer, exc.reason)
    result.skip_peer("torch_compile", "not timed: needs a compiler toolchain, minutes per shape")
    return steps, compiled_fn


def _check(steps: dict[str, MLPStep]) -> list[str]:
    """Three steps each (the compiled one traces twice, then replays): equal weights, bit for
    bit. The steps stay warm for the timing that follows."""
    eager, compiled = steps["memograd_eager"], steps[COMPILED]
    for _ in range(3):
        eager.step()
        compiled.step()
    pairs = zip(eager.parameters(), compiled.parameters(), strict=True)
    if any(a.tobytes() != b.tobytes() for a, b in pairs):
        return ["the compiled step's weights differ from the eager step's"]
    return []


def _case(name: str, sizes: tuple[int, ...], batch: int) -> Case:
    arch = "-".join(map(str, sizes))
    small = batch <= 32
    target = "compiled faster than PyTorch eager and JAX jit" + (
        f"; <= {SMALL_BATCH_FLOOR_RATIO}x hand-written NumPy" if small else ""
    )

    def run(settings: Settings, result: CaseResult) -> None:
        problem = make_problem(sizes, batch, seed=0)
        fresh = {
            "memograd_eager": ordinary_step(problem, LR, compiled=False)[0],
            COMPILED: ordinary_step(problem, LR, compiled=True)[0],
        }
        floor = PEER_BUILDERS[FLOOR](problem, LR)
        disagree = check_agreement(list(fresh.values()), floor)
        steps, compiled_fn = _build(sizes, batch, settings, result)
        problems = _check(steps) + [
            f"{peer}: weights after one step differ from the NumPy floor" for peer in disagree
        ]
        result.notes.extend(problems)
        plan = compiled_fn.plan_for(problem.inputs, problem.labels)
        if plan is None or compiled_fn.cache_info().replays == 0:
            result.met = False
            result.verdict = "the compiled step made no plan"
            return
        memory = plan.memory
        result.columns = ("spread", "peak_kB", "planned_kB", "unplanned_kB")
        comparison = compare({n: s.step for n, s in steps.items()}, settings.plan(), COMPILED)
        for peer, timing in comparison.timings.items():
            extra = {
                "spread": round(timing.spread, 3),
                "calls_per_round": timing.calls_per_round,
                "peak_kB": None if peer in ("torch", "jax_jit") else _peak_kilobytes(steps[peer]),
            }
            if peer == COMPILED:
                extra["planned_kB"] = round(memory.arena_bytes / 1024, 1)
                extra["unplanned_kB"] = round(memory.one_buffer_per_value_bytes / 1024, 1)
            result.rows.append(
                Row(
                    label=peer,
                    seconds=timing.median,
                    ratio=comparison.ratio(peer),
                    extra=extra,
                    note=steps[peer].description,
                )
            )
        if problems:
            result.met = False
            result.verdict = "; ".join(problems)
            return
        misses = [
            f"slower than {peer} ({comparison.ratio(peer):.2f}x)"
            for peer in comparison.timings
            if peer in PEERS_TO_BEAT and comparison.ratio(peer) >= 1.0
        ]
        floor_ratio = comparison.ratio(FLOOR)
        if small and floor_ratio > SMALL_BATCH_FLOOR_RATIO:
            misses.append(f"{floor_ratio:.2f}x the NumPy floor (> {SMALL_BATCH_FLOOR_RATIO})")
        eager_ratio = (
            comparison.timings["memograd_eager"].median / comparison.timings[COMPILED].median
        )
        result.met = not misses
        result.verdict = (
            "; ".join(misses) or "faster than every peer timed"
        ) + f"; eager/compiled {eager_ratio:.2f}x"

    return Case(
        name=name,
        title=f"MLP {arch} step written the ordinary way, eager and mg.compile, batch {batch}",
        target=target,
        run=run,
    )


CASES: tuple[Case, ...] = (
    _case("compiled_small_b32", (64, 256, 256, 10), 32),
    _case("compiled_small_b1024", (64, 256, 256, 10), 1024),
    _case("compiled_large_b128", (784, 512, 512, 10), 128),
)
