"""Every schedule, run by one executor on real networks: plain backprop's gradients bit for bit
(dropout included), the forward evaluations and the memory its plan counted, measured."""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg
from memograd.nn import MLP, Linear, Sequential, checkpoint_sequential, run_schedule

PLANS = [("all", None), ("sqrt", None), ("sqrt", 2)] + [("revolve", s) for s in (1, 2, 3, 5, 9)]


def random_mlp(seed: int) -> tuple[MLP, np.ndarray, np.ndarray]:
    """A deep MLP with dropout, its depth, widths and activation drawn from the seed."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(4, 9))
    sizes = [int(w) for w in rng.integers(3, 12, size=depth + 1)]
    activation = ["relu", "tanh", "gelu", "sigmoid"][seed % 4]
    model = MLP(sizes, activation=activation, dropout=float(rng.uniform(0.1, 0.5)), rng=seed)
    X = rng.standard_normal((int(rng.integers(2, 9)), sizes[0])).astype(np.float32)
    return model, X, rng.integers(0, sizes[-1], len(X))


def plain_gradients(seed: int) -> tuple[list[np.ndarray], float, object]:
    model, X, y = random_mlp(seed)
    loss = mg.cross_entropy(model(mg.Tensor(X)), y)
    loss.backward()
    rng = model.layers[2]._rng
    return [p.grad for p in model.parameters()], float(loss.data), rng.bit_generator.state


@pytest.mark.parametrize("seed", range(8))
def test_every_schedule_gives_store_alls_gradients_exactly(seed: int) -> None:
    expected, expected_loss, expected_stream = plain_gradients(seed)
    for kind, slots in PLANS:
        model, X, y = random_mlp(seed)
        n = len(model.layers)
        if kind == "sqrt" and slots is not None and slots >= n:
            continue
        plan = mg.checkpoint.schedule(n, slots, kind)
        run = run_schedule(plan, model, X, lambda out, y=y: mg.cross_entropy(out, y))
        label = f"seed {seed}, {kind} {slots}"
        assert run.loss == expected_loss, label
        assert run.forward_evaluations == plan.counts.forward_evaluations, label
        grads = [p.grad for p in model.parameters()]
        assert all(np.array_equal(a, b) for a, b in zip(expected, grads, strict=True)), label
        assert model.layers[2]._rng.bit_generator.state == expected_stream, label


@pytest.mark.parametrize("segments", [1, 2, 3, 7])
def test_checkpoint_sequential_gives_the_same_gradients_exactly(segments: int) -> None:
    for seed in range(4):
        expected, expected_loss, _ = plain_gradients(seed)
        model, X, y = random_mlp(seed)
        loss = mg.cross_entropy(checkpoint_sequential(model, segments)(mg.Tensor(X)), y)
        loss.backward()
        assert float(loss.data) == expected_loss
        grads = [p.grad for p in model.parameters()]
        assert all(np.array_equal(a, b) for a, b in zip(expected, grads, strict=True))


@pytest.mark.parametrize(
    ("kind", "slots"),
    [("all", None), ("sqrt", None), ("sqrt", 3)] + [("revolve", s) for s in (1, 2, 4, 11)],
)
def test_the_memory_the_engine_held_is_the_plans_count(kind: str, slots: int | None) -> None:
    """On a chain of Linear layers a recorded step holds exactly its input and output states,
    so the distinct arrays the engine holds at the peak are the plan's ``peak_stored``."""
    n, rows, width = 12, 3, 5
    model = Sequential(*[Linear(width, width, rng=k) for k in range(n)])
    X = np.random.default_rng(0).standard_normal((rows, width)).astype(np.float32)
    plan = mg.checkpoint.schedule(n, slots, kind)
    run = run_schedule(plan, model, X, lambda out: out.sum(), measure=True)
    assert run.peak_arrays == plan.counts.peak_stored
    assert run.peak_bytes == plan.counts.peak_stored * rows * width * 4
    if kind == "revolve":
        assert plan.counts.peak_slots == min(slots, n - 1)


def test_a_wrapped_module_trains_like_the_original() -> None:
    model = MLP([4, 8, 8, 3], rng=0)
    wrapped = checkpoint_sequential(model, 2)
    assert wrapped.parameters() == model.parameters()
    assert "segments=2" in repr(wrapped)
    wrapped.eval()
    assert not model.layers[0].training
    with mg.no_grad():
        out = wrapped(np.ones((2, 4), dtype=np.float32))
    np.testing.assert_array_equal(out.data, model(np.ones((2, 4), dtype=np.float32)).data)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: checkpoint_sequential(m, 8), ValueError, "8 segments for a Sequential of 5"),
        (lambda m: checkpoint_sequential(m, 0), ValueError, "segments must be >= 1, got 0"),
        (lambda m: checkpoint_sequential(m, 2.0), TypeError, "segments must be an int"),
        (
            lambda m: checkpoint_sequential(m.layers[0], 1),
            TypeError,
            "expected a Sequential or an MLP (a chain of modules to cut into segments), got Linear",
        ),
        (lambda m: checkpoint_sequential(Sequential(), 1), ValueError, "has no modules"),
        (
            lambda m: run_schedule(mg.checkpoint.schedule(4, 1), m, np.ones((1, 4)), sum),
            ValueError,
            "the plan is for 4 steps, the Sequential has 5 modules",
        ),
        (
            lambda m: run_schedule("revolve", m, np.ones((1, 4)), sum),
            TypeError,
            "expected a Plan, got str",
        ),
        (
            lambda m: run_schedule(mg.checkpoint.schedule(5, 0), m, np.ones((1, 4)), sum),
            ValueError,
            "slots must be >= 1, got 0",
        ),
    ],
)
def test_bad_arguments_are_one_clear_line(call, error, message) -> None:  # noqa: ANN001
    model = MLP([4, 6, 6, 2], rng=0)
    with pytest.raises(error) as info:
        call(model)
    assert message in str(info.value) and "\n" not in str(info.value)


class HiddenNoise(mg.nn.Module):
    """Draws from a Generator that is not its attribute, so no schedule can replay it."""

    def __init__(self, holder: dict) -> None:
        super().__init__()
        object.__setattr__(self, "holder", holder)

    def forward(self, x):  # noqa: ANN001, ANN201
        return x * (self.holder["rng"].random(x.shape) > 0.5)


def test_a_step_whose_rerun_differs_is_refused_not_differentiated() -> None:
    holder = {"rng": np.random.default_rng(0)}
    model = Sequential(Linear(4, 4, rng=0), HiddenNoise(holder), Linear(4, 4, rng=1))
    plan = mg.checkpoint.schedule(3, 1, "revolve")
    with pytest.raises(mg.RecomputationError, match="step 2 \\(HiddenNoise\\) gave a different"):
        run_schedule(plan, model, np.ones((8, 4), np.float32), lambda out: out.sum())
