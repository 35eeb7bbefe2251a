"""memograd.timing.make_step: three ways to write one training step, and they compute the same."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from memograd.timing import BUILDERS, LEARNING_RATE, make_problem, make_step

SIZES, BATCH = (6, 9, 8, 4), 5


def sgd_by_torch_autograd(sizes, batch, seed, steps):
    """The same step by torch's autograd on float64 copies: an oracle independent of all three."""
    problem = make_problem(sizes, batch, seed)
    params = []
    for w, b in zip(problem.weights, problem.biases, strict=True):
        params += [torch.tensor(w, dtype=torch.float64, requires_grad=True)]
        params += [torch.tensor(b, dtype=torch.float64, requires_grad=True)]
    inputs = torch.tensor(problem.inputs, dtype=torch.float64)
    labels = torch.tensor(problem.labels)
    for _ in range(steps):
        hidden = inputs
        for k in range(0, len(params), 2):
            hidden = hidden @ params[k] + params[k + 1]
            if k < len(params) - 2:
                hidden = hidden.relu()
        loss = torch.nn.functional.cross_entropy(hidden, labels)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= LEARNING_RATE * g
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("peer", list(BUILDERS))
def test_three_steps_of_each_peer_match_a_float64_oracle(peer: str) -> None:
    step = make_step(peer, SIZES, BATCH, seed=3)
    before = step.parameters()
    for _ in range(3):
        step()
    after = step.parameters()
    expected = sgd_by_torch_autograd(SIZES, BATCH, seed=3, steps=3)
    assert [p.shape for p in after] == [e.shape for e in expected]
    assert all(p.dtype == np.float32 for p in after)
    for got, want, start in zip(after, expected, before, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        assert not np.array_equal(got, start)  # the step really updated every parameter


def test_each_call_draws_its_own_copy_of_the_same_problem() -> None:
    first, second = (
        make_step("numpy", SIZES, BATCH, seed=1),
        make_step("numpy", SIZES, BATCH, seed=1),
    )
    first()
    assert not np.array_equal(first.parameters()[0], second.parameters()[0])
    second()
    assert all(np.array_equal(a, b) for a, b in zip(first.parameters(), second.parameters()))


def test_bad_peer_sizes_and_batch_are_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match="unknown peer 'jax'; expected one of memograd, numpy, torch"
    ):
        make_step("jax", SIZES, BATCH)
    with pytest.raises(
        ValueError, match=r"sizes must be at least two layer widths >= 1, got \[4\]"
    ):
        make_step("numpy", (4,), BATCH)
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        make_step("numpy", SIZES, 0)


def test_a_builders_table_adds_peers() -> None:
    table = {**BUILDERS, "twice": BUILDERS["numpy"]}
    assert make_step("twice", SIZES, BATCH, builders=table).peer == "numpy"


def test_torch_missing_is_peer_unavailable_not_a_crash(tmp_path) -> None:
    (tmp_path / "torch.py").write_text("raise ModuleNotFoundError('hidden', name='torch')\n")
    code = (
        "from memograd.timing import PeerUnavailable, make_step\n"
        "try:\n"
        "    make_step('torch', (3, 2), 1)\n"
        "except PeerUnavailable as exc:\n"
        "    print(exc.peer, exc.reason)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])
            ),
        },
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "torch not installed (torch)"


def test_importing_memograd_does_not_import_timing_or_torch() -> None:
    code = "import sys, memograd; print('memograd.timing' in sys.modules, 'torch' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert completed.stdout.split() == ["False", "False"], completed.stderr
