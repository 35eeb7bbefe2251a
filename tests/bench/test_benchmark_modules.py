"""The benchmark's modules: what they read from the library, and what they leave alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks import training_vs_torch, value_vs_micrograd
from benchmarks.cases import CASE_NAMES, CASES, FAMILIES
from benchmarks.mlp_peers import PEER_BUILDERS, SWITCHED_OFF, check_agreement
from benchmarks.mlp_step_vs_peers import MLP_PEERS
from memograd.cli import build_parser
from memograd.data import moons
from memograd.nn.recipes import RECIPES
from memograd.timing import BUILDERS, PeerUnavailable, make_step

from .conftest import HAS_JAX, REPO


def test_training_case_uses_memograd_trains_own_defaults() -> None:
    """What the recipe table leaves to `memograd train`'s flags, at the flags' defaults."""
    args = build_parser().parse_args(["train", "--dataset", training_vs_torch.DATASET])
    assert training_vs_torch.ACTIVATION == args.activation
    assert training_vs_torch.OPTIMIZER == args.optimizer
    assert training_vs_torch.TEST_SIZE == args.test_size
    assert training_vs_torch.SEED == args.seed
    assert training_vs_torch.DATASET == "digits" and "digits" in RECIPES


def test_micrograd_demo_trains_on_the_librarys_moons_with_labels_minus_one_and_one() -> None:
    points, labels = value_vs_micrograd.moons_points(20, seed=1)
    X, y = moons(20, noise=0.1, seed=1)
    assert points == X.tolist()
    assert labels == [1.0 if label == 1 else -1.0 for label in y.tolist()]


def test_every_family_contributes_cases_with_unique_names() -> None:
    assert all(family.CASES for family in FAMILIES)
    assert len(set(CASE_NAMES)) == len(CASES)


def test_every_installed_peer_agrees_with_the_numpy_floor_and_a_wrong_step_does_not() -> None:
    assert PEER_BUILDERS["memograd"] is BUILDERS["memograd"]
    assert PEER_BUILDERS["numpy"] is BUILDERS["numpy"]
    sizes, batch = (5, 7, 3), 4
    floor = make_step("numpy", sizes, batch, seed=2, builders=PEER_BUILDERS)
    others = []
    for peer in MLP_PEERS:  # torch.compile has its own tests (test_compiled_peers.py)
        if peer != "numpy":
            try:
                others.append(make_step(peer, sizes, batch, seed=2, builders=PEER_BUILDERS))
            except PeerUnavailable:
                pass
    assert {"memograd", "memograd_nn"} <= {step.peer for step in others}
    assert check_agreement(others, make_step("numpy", sizes, batch, seed=2)) == []
    wrong = make_step("memograd", sizes, batch, seed=2, lr=0.1)  # ten times the step
    assert check_agreement([wrong], floor) == ["memograd"]


def test_importing_the_library_and_the_benchmark_leaves_xla_settings_alone() -> None:
    """Only the benchmark's entry points set JAX_PLATFORMS / XLA_FLAGS, never an import."""
    code = (
        "import json, os, sys\n"
        "import memograd.timing, memograd.demo.speed\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import benchmarks.cases, benchmarks.profile_step\n"
        "for peer in ('memograd', 'numpy'):\n"
        "    memograd.timing.make_step(peer, (3, 4, 2), 2)\n"
        "print(json.dumps({k: os.environ.get(k) for k in ('JAX_PLATFORMS', 'XLA_FLAGS')}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_PLATFORMS", "XLA_FLAGS")}
    completed = subprocess.run(
        [sys.executable, "-c", code, str(REPO)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"JAX_PLATFORMS": None, "XLA_FLAGS": None}


def test_profile_script_ranks_the_engines_functions_for_both_steps() -> None:
    script = str(REPO / "benchmarks" / "profile_step.py")
    for args, first_line in (
        (["--steps", "5", "--top", "5"], "memograd step, MLP 64-256-256-10, batch 32: 5 steps"),
        (["--value-demo", "--steps", "1", "--top", "5"], "mg.Value micrograd demo step"),
    ):
        completed = subprocess.run(
            [sys.executable, script, *args], capture_output=True, text=True, timeout=120
        )
        assert completed.returncode == 0, completed.stderr
        lines = completed.stdout.splitlines()
        assert lines[0].startswith(first_line)
        assert lines[1].split() == ["own", "%", "cum", "%", "calls/step", "function"]
        assert len(lines) == 2 + 5
        assert any("engine/" in line for line in lines[2:]), lines


def test_compiled_case_checks_bitwise_equality_and_reports_the_plans_memory() -> None:
    import torch

    from benchmarks import compiled_step_vs_peers
    from benchmarks.results import Settings

    case = compiled_step_vs_peers.CASES[0]
    result = case.new_result()
    settings = Settings(quick=True, rounds=1, batch_seconds=0.005, settle_seconds=0.0)
    # torch.compile's tens of seconds belong to the benchmark and to a slow test of its own; torch's
    # own patch, as pytest's monkeypatch would delete the setting on undo (torch then hides it).
    with torch._dynamo.config.patch(disable=True):
        case.run(settings, result)
    without_jax = {} if HAS_JAX else {"jax_jit": "not installed (jax)"}  # jax: the bench extra
    skipped = {e["peer"]: e["reason"] for e in result.skipped}
    assert skipped == {"torch_compile": SWITCHED_OFF, **without_jax}
    rows = {row.label: row for row in result.rows}
    assert {"memograd_eager", "memograd_compiled", "memograd_fused", "numpy", "torch"} <= set(rows)
    assert not any("differ" in note or "loss is" in note for note in result.notes)
    for name in ("memograd_compiled", "memograd_fused"):
        compiled = rows[name].extra
        assert 0 < compiled["planned_kB"] < compiled["unplanned_kB"]
        assert compiled["peak_kB"] < rows["memograd_eager"].extra["peak_kB"]
    assert all(row.extra["warmup_s"] > 0 for row in result.rows)
    assert rows["memograd_fused"].ratio == 1.0  # the row the compiled targets are judged on
    assert rows["memograd_eager"].extra["eager / peer"] == 1.0
    assert result.ratio_header == "fused / peer"
    assert result.met is not True and result.verdict.startswith("fused / torch ")
