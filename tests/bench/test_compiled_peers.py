"""The compiled step's peers: they do the same work (loss and weights, step by step), and a
torch.compile that cannot run is a one-line skip, never a crash or an eager step under its name.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks import compiled_step_vs_peers, mlp_peers
from benchmarks.mlp_peers import (
    PEER_BUILDERS,
    SWITCHED_OFF,
    batch_loss,
    follow,
    trajectory_disagreements,
)
from benchmarks.results import Settings
from memograd.timing import PeerUnavailable, make_problem

torch = pytest.importorskip("torch")

SIZES, BATCH, LR, STEPS = (6, 8, 8, 3), 5, 0.1, 5


def _trajectory(peer: str, lr: float = LR):
    problem = make_problem(SIZES, BATCH, seed=3)
    if peer.startswith("memograd_"):
        compiled, fuse = peer != "memograd_eager", peer == "memograd_fused"
        step = compiled_step_vs_peers.ordinary_step(problem, lr, compiled, fuse)
        return follow(step[0], problem, STEPS)
    return follow(PEER_BUILDERS[peer](problem, lr), problem, STEPS)


def test_batch_loss_is_pytorchs_cross_entropy_of_the_same_weights() -> None:
    problem = make_problem(SIZES, BATCH, seed=1)
    params = [p for pair in zip(problem.weights, problem.biases, strict=True) for p in pair]
    hidden = torch.from_numpy(problem.inputs).double()
    for k in range(0, len(params), 2):
        hidden = hidden @ torch.from_numpy(params[k]).double() + torch.from_numpy(params[k + 1])
        if k < len(params) - 2:
            hidden = hidden.relu()
    expected = torch.nn.functional.cross_entropy(hidden, torch.from_numpy(problem.labels))
    assert batch_loss(params, problem) == pytest.approx(float(expected), rel=1e-12)


def test_jax_jit_torch_and_memograd_follow_the_numpy_floors_losses_step_by_step() -> None:
    pytest.importorskip("jax")
    floor = _trajectory("numpy")
    names = ("jax_jit", "torch", "memograd_eager", "memograd_compiled", "memograd_fused")
    peers = [_trajectory(p) for p in names]
    assert trajectory_disagreements(peers, floor) == []
    # Training moves the loss, so agreement is not agreement at the start only.
    assert floor.losses[-1] < floor.losses[0] - 1e-3
    for peer in peers:
        assert len(peer.losses) == STEPS + 1 and peer.losses[0] == floor.losses[0]
        assert np.allclose(peer.losses, floor.losses, rtol=1e-6, atol=0)


def test_a_learning_rate_one_percent_off_is_caught_by_the_trajectory_check() -> None:
    pytest.importorskip("jax")
    floor = _trajectory("numpy")
    off = [_trajectory("jax_jit", lr=LR * 1.01), _trajectory("memograd_eager", lr=LR * 1.01)]
    problems = trajectory_disagreements(off, floor)
    assert [line.split(":")[0] for line in problems] == ["jax_jit", "memograd_eager"]
    assert all("after step 1 " in line and "numpy's" in line for line in problems)


def test_torch_compile_switched_off_is_a_one_line_skip() -> None:
    # torch's own patch: pytest's monkeypatch would delete the setting on undo, hiding it.
    with torch._dynamo.config.patch(disable=True), pytest.raises(PeerUnavailable) as caught:
        PEER_BUILDERS["torch_compile"](make_problem(SIZES, BATCH, seed=0), LR)
    assert caught.value.peer == "torch_compile"
    assert caught.value.reason == SWITCHED_OFF


def test_a_failing_first_compiled_call_is_a_one_line_skip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_compiler(fn):
        def call():
            raise RuntimeError("C++ compile error\nsome.cpp:1: error: long compiler output")

        return call

    monkeypatch.setattr(torch, "compile", failing_compiler)
    step = PEER_BUILDERS["torch_compile"](make_problem(SIZES, BATCH, seed=0), LR)
    with pytest.raises(PeerUnavailable) as caught:
        step()
    assert caught.value.reason == "failed: RuntimeError: C++ compile error"


def test_a_compile_that_made_no_graph_is_not_timed_as_torch_compile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch, "compile", lambda fn: fn)  # runs eagerly, compiles nothing
    step = PEER_BUILDERS["torch_compile"](make_problem(SIZES, BATCH, seed=0), LR)
    with pytest.raises(PeerUnavailable, match="compiled no graph"):
        step()


def test_without_a_cxx_compiler_the_case_skips_torch_compile_in_one_line() -> None:
    """The whole case runs, its other peers timed; torch.compile is named with the reason."""
    case = compiled_step_vs_peers.CASES[0]
    result = case.new_result()
    settings = Settings(quick=True, rounds=1, batch_seconds=0.005, settle_seconds=0.0)
    with torch._inductor.config.patch({"cpp.cxx": ("no-such-compiler++",)}):
        case.run(settings, result)
    skipped = {entry["peer"]: entry["reason"] for entry in result.skipped}
    assert "C++ compiler" in skipped["torch_compile"] and "\n" not in skipped["torch_compile"]
    rows = {row.label: row for row in result.rows}
    assert "torch_compile" not in rows
    assert {"numpy", "torch", "memograd_compiled", "memograd_fused"} <= set(rows)
    assert result.met is not True  # a target peer went unmeasured: never "met"
    assert "not judged against torch_compile" in result.verdict
    assert result.verdict.startswith("fused / torch ")  # the targets judged on the fused step
    assert "compiled (NumPy plan) / numpy " in result.verdict


def test_without_numba_the_fused_row_is_a_one_line_skip_and_the_plain_plan_is_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memograd.engine import compiler

    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "memograd.engine.compiler.fused", raising=False)
    monkeypatch.delattr(compiler, "fused", raising=False)
    case = compiled_step_vs_peers.CASES[0]
    result = case.new_result()
    settings = Settings(quick=True, rounds=1, batch_seconds=0.005, settle_seconds=0.0)
    case.run(settings, result)
    skipped = {entry["peer"]: entry["reason"] for entry in result.skipped}
    assert skipped["memograd_fused"] == (
        "mg.compile(fuse=True) needs numba: pip install 'memograd[fused]'"
    )
    assert "memograd_fused" not in {row.label for row in result.rows}
    assert result.verdict.startswith("compiled / torch ")


@pytest.mark.slow
def test_torch_compile_compiles_here_and_follows_the_floor() -> None:
    """The real compiler (a C++ toolchain, tens of seconds on a cold cache)."""
    if mlp_peers._inductor_compiler_missing():
        pytest.skip("no C++ compiler for inductor on this machine")
    floor = _trajectory("numpy")
    problem = make_problem(SIZES, BATCH, seed=3)
    step = PEER_BUILDERS["torch_compile"](problem, LR)
    try:
        compiled = follow(step, problem, STEPS)
        made = step.made()
    finally:
        torch._dynamo.reset()
    assert trajectory_disagreements([compiled], floor) == []
    assert made["graphs"] >= 1
