"""The MLP training-step cases: memograd against every peer and the hand-written NumPy floor."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.mlp_peers import PEER_BUILDERS, PEERS, check_agreement
from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.timing import Comparison, MLPStep, PeerUnavailable, compare, make_step

FLOOR = "numpy"
# Not peers to beat: memograd itself (both ways of writing it) and the hand-written floor.
MEMOGRAD_AND_FLOOR = ("memograd", "memograd_nn", FLOOR)

# The bounds on memograd's time over the hand-written NumPy step.
SMALL_BATCH_FLOOR_RATIO = 1.3
BLAS_BOUND_FLOOR_RATIO = 1.08


# Every peer but torch.compile, which compiles for tens of seconds per shape: it is timed once
# per run, beside mg.compile (compiled_step_vs_peers), where compiled steps are compared.
MLP_PEERS = tuple(peer for peer in PEERS if peer != "torch_compile")

# With --quick, the BLAS-bound cases time only these: JAX compiles every shape afresh
# (seconds per case) and the others add little there that the batch-32 case does not show.
QUICK_PEERS = ("memograd", "memograd_nn", "numpy", "torch")


def _build_peers(
    sizes: Sequence[int], batch: int, result: CaseResult, peers: Sequence[str]
) -> dict[str, MLPStep]:
    steps: dict[str, MLPStep] = {}
    for peer in MLP_PEERS:
        if peer not in peers:
            result.skip_peer(peer, "not timed with --quick in this case")
            continue
        try:
            steps[peer] = make_step(peer, sizes, batch, seed=0, builders=PEER_BUILDERS)
        except PeerUnavailable as exc:
            result.skip_peer(peer, exc.reason)
    return steps


def _measure(
    sizes: Sequence[int], batch: int, settings: Settings, result: CaseResult, small_batch: bool
) -> Comparison | None:
    """Build, cross-check and time every available peer; fill ``result.rows``.

    Returns the comparison to judge, or None when memograd's step disagrees with the floor.
    """
    peers = QUICK_PEERS if settings.quick and not small_batch else MLP_PEERS
    steps = _build_peers(sizes, batch, result, peers)
    others = [step for name, step in steps.items() if name != FLOOR]
    disagree = check_agreement(others, steps[FLOOR])
    for peer in disagree:
        result.notes.append(f"{peer}: weights after one step differ from the NumPy floor")
    # (max - min) / median over the rounds: how much the machine's noise moved each peer.
    result.columns = ("spread",)
    plan = settings.plan()
    comparison = compare({name: s.step for name, s in steps.items()}, plan, "memograd")
    for name, timing in comparison.timings.items():
        result.rows.append(
            Row(
                label=name,
                seconds=timing.median,
                ratio=comparison.ratio(name),
                extra={
                    "spread": round(timing.spread, 3),
                    "calls_per_round": timing.calls_per_round,
                    "agrees": name not in disagree,
                },
                note=steps[name].description,
            )
        )
    if "memograd" in disagree:
        result.met = False
        result.verdict = "memograd's step computes different weights from the NumPy floor"
        return None
    return comparison


def _judge_small_batch(comparison: Comparison, result: CaseResult) -> None:
    """Faster than every peer, and within 1.3x of the hand-written floor."""
    slower_than = [
        peer
        for peer in comparison.timings
        if peer not in MEMOGRAD_AND_FLOOR and comparison.ratio(peer) >= 1.0
    ]
    floor_ratio = comparison.ratio(FLOOR)
    problems = [f"slower than {peer} ({comparison.ratio(peer):.2f}x)" for peer in slower_than]
    if floor_ratio > SMALL_BATCH_FLOOR_RATIO:
        problems.append(f"{floor_ratio:.2f}x the NumPy floor (> {SMALL_BATCH_FLOOR_RATIO})")
    result.met = not problems
    result.verdict = "; ".join(problems) or (
        f"faster than every peer; {floor_ratio:.2f}x the NumPy floor"
    )


def _judge_blas_bound(comparison: Comparison, result: CaseResult) -> None:
    """Within 1.08x of the floor, and no slower than PyTorch where the floor is not."""
    floor_ratio = comparison.ratio(FLOOR)
    problems = []
    if floor_ratio > BLAS_BOUND_FLOOR_RATIO:
        problems.append(f"{floor_ratio:.3f}x the NumPy floor (> {BLAS_BOUND_FLOOR_RATIO})")
    if "torch" in comparison.timings:
        floor_vs_torch = comparison.timings[FLOOR].median / comparison.timings["torch"].median
        torch_ratio = comparison.ratio("torch")
        if floor_vs_torch <= 1.0 and torch_ratio > 1.0:
            problems.append(f"slower than PyTorch ({torch_ratio:.3f}x) where the floor is not")
    result.met = not problems
    result.verdict = "; ".join(problems) or f"{floor_ratio:.3f}x the NumPy floor"


def _mlp_case(name: str, sizes: tuple[int, ...], batch: int, small_batch: bool) -> Case:
    arch = "-".join(map(str, sizes))
    if small_batch:
        target = (
            "faster than every peer (JAX jit included); "
            f"<= {SMALL_BATCH_FLOOR_RATIO}x hand-written NumPy"
        )
    else:
        target = (
            f"<= {BLAS_BOUND_FLOOR_RATIO}x hand-written NumPy; "
            "no slower than PyTorch wherever NumPy is not"
        )

    def run(settings: Settings, result: CaseResult) -> None:
        comparison = _measure(sizes, batch, settings, result, small_batch)
        if comparison is None:
            return
        (_judge_small_batch if small_batch else _judge_blas_bound)(comparison, result)

    return Case(
        name=name,
        title=f"MLP {arch} training step, float32, batch {batch}",
        target=target,
        run=run,
    )


CASES: tuple[Case, ...] = (
    _mlp_case("mlp_small_b32", (64, 256, 256, 10), 32, small_batch=True),
    _mlp_case("mlp_small_b1024", (64, 256, 256, 10), 1024, small_batch=False),
    _mlp_case("mlp_large_b128", (784, 512, 512, 10), 128, small_batch=False),
)
