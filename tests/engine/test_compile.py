"""mg.compile: a step traced once per signature and replayed as a planned program gives the eager
step's weights bit for bit, retraces on a new shape, refuses (or runs eagerly) what a plan cannot
replay, and reuses its planned buffers from step to step."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import memograd as mg
from memograd.engine.compiler import TraceError

SIZES = (12, 16, 16, 5)
OPTIMIZERS = {
    "sgd": lambda ps: mg.optim.SGD(ps, lr=0.1),
    "sgd_momentum_nesterov": lambda ps: mg.optim.SGD(
        ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam": lambda ps: mg.optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: mg.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda ps: mg.optim.RMSprop(ps, lr=1e-3, momentum=0.5),
    "adagrad": lambda ps: mg.optim.Adagrad(ps, lr=0.1),
}


def batch(rows: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, SIZES[0])).astype(np.float32), rng.integers(0, 5, rows)


def ordinary_step(optimizer_name: str, model_kind: str = "tensors"):
    """A step written the ordinary way (``h @ W + b``, ``.relu()``, cross_entropy, backward,
    an optimizer), with its parameters."""
    rng = np.random.default_rng(0)
    if model_kind == "nn":
        model = mg.nn.MLP(list(SIZES), activation="relu", rng=0)
        params = list(model.parameters())
        forward = model
    else:
        Ws = [
            mg.tensor(rng.standard_normal((a, b)).astype(np.float32) * 0.3, requires_grad=True)
            for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)
        ]
        bs = [mg.tensor(np.zeros(b, np.float32), requires_grad=True) for b in SIZES[1:]]
        params = [*Ws, *bs]

        def forward(h):
            for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
                h = h @ W + b
                if k < len(Ws) - 1:
                    h = h.relu()
            return h

    optimizer = OPTIMIZERS[optimizer_name](params)

    def step(x, y):
        optimizer.zero_grad()
        loss = mg.nn.functional.cross_entropy(forward(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step, params


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model_kind", ["tensors", "nn"])
def test_compiled_weights_equal_eager_bitwise_after_20_steps(optimizer_name, model_kind):
    x, y = batch(8)
    eager, eager_params = ordinary_step(optimizer_name, model_kind)
    step, params = ordinary_step(optimizer_name, model_kind)
    compiled = mg.compile(step)
    for _ in range(20):
        expected = eager(x, y)
        got = compiled(x, y)
        assert got.data.tobytes() == expected.data.tobytes()
    for p, q in zip(params, eager_params, strict=True):
        assert p.data.tobytes() == q.data.tobytes()
        assert p.grad.tobytes() == q.grad.tobytes()
    info = compiled.cache_info()
    assert (info.traces, info.replays, info.eager_calls, info.plans) == (2, 18, 0, 1)
    assert not np.array_equal(params[0].data, ordinary_step(optimizer_name, model_kind)[1][0].data)


def test_gradients_of_a_replay_match_finite_differences():
    """The replay's own gradients (not only agreement with eager) are right."""
    x, y = batch(4)
    step, params = ordinary_step("sgd")
    probe = mg.compile(lambda x, y: _loss_and_grad(params, x, y))
    for _ in range(3):
        loss = probe(x, y)
    W = params[0]
    grad = W.grad.copy()
    eps = 1e-2
    for index in [(0, 0), (3, 7), (11, 15)]:
        original = W.data[index]
        W.data[index] = original + eps
        up = probe(x, y).item()
        W.data[index] = original - eps
        down = probe(x, y).item()
        W.data[index] = original
        assert (up - down) / (2 * eps) == pytest.approx(grad[index], rel=2e-2, abs=1e-3)
    assert probe.cache_info().replays >= 7
    assert loss.item() > 0


def _loss_and_grad(params, x, y):
    Ws, bs = params[:3], params[3:]
    for p in params:
        p.grad = None
    h = x
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        h = h @ W + b
        if k < 2:
            h = h.relu()
    loss = mg.cross_entropy(h, y)
    loss.backward()
    return loss


def test_a_new_shape_traces_again_and_the_cache_is_bounded():
    step, params = ordinary_step("sgd")
    eager, eager_params = ordinary_step("sgd")
    compiled = mg.compile(step, cache_size=2)
    rows = [4, 4, 4, 9, 9, 9, 4, 3, 3, 3, 9]
    for n in rows:
        x, y = batch(n, seed=n)
        assert compiled(x, y).data.tobytes() == eager(x, y).data.tobytes()
    # 4: trace, trace, replay; 9: the same; 4 again: replayed; 3 pushes 9 out (bound 2) and is
    # planned; the last 9 pushes 4 out and is traced afresh (its plan waits for a second call).
    assert compiled.cache_info() == (2 + 2 + 2 + 1, 1 + 1 + 1 + 1, 0, 1, 2)
    for p, q in zip(params, eager_params, strict=True):
        assert p.data.tobytes() == q.data.tobytes()


def test_a_parameter_given_a_new_array_is_traced_again_not_replayed_stale():
    step, params = ordinary_step("sgd")
    compiled = mg.compile(step)
    x, y = batch(4)
    for _ in range(3):
        compiled(x, y)
    params[0].data = np.zeros_like(params[0].data)  # load_state_dict-style rebinding
    eager, eager_params = ordinary_step("sgd")
    for p, q in zip(eager_params, params, strict=True):
        p.data = q.data.copy()
    assert compiled(x, y).data.tobytes() == eager(x, y).data.tobytes()
    assert compiled.cache_info().traces == 3


def item_step(W):
    def step(x):
        loss = ((x @ W) ** 2).mean()
        if loss.item() > 0:
            loss = loss * 2
        loss.backward()
        return loss

    return step


def if_step(W):
    def step(x):
        loss = ((x @ W) ** 2).mean()
        if loss > 1:
            loss = loss * 2
        loss.backward()
        return loss

    return step


def random_mask_step(W):
    rng = np.random.default_rng(5)

    def step(x):
        mask = mg.tensor((rng.random((3, 3)) > 0.5).astype(np.float32))
        loss = ((x @ W) * mask).sum()
        loss.backward()
        return loss

    return step


def dropout_step(W):
    dropout = mg.nn.Dropout(0.5, rng=3)

    def step(x):
        loss = dropout(x @ W).sum()
        loss.backward()
        return loss

    return step


REFUSED = {
    "item": (item_step, "test_compile.py:", ".item()"),
    "if": (if_step, "if loss > 1", "`if`/`while` on a tensor"),
    "random_mask": (random_mask_step, "", "different"),
    "dropout": (dropout_step, "", "different"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_value_dependent_steps_are_refused_naming_the_line(case):
    make, line, what = REFUSED[case]
    W = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    compiled = mg.compile(make(W))
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TraceError) as info:
        for _ in range(3):
            compiled(x)
    assert line in str(info.value) and what in str(info.value)
    assert compiled.cache_info().replays == 0


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_fallback_eager_warns_once_and_computes_what_eager_does(case):
    make, _, _ = REFUSED[case]
    W = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    W_eager = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    compiled = mg.compile(make(W), fallback="eager")
    eager = make(W_eager)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            assert compiled(x).data.tobytes() == eager(x).data.tobytes()
    assert len([w for w in caught if "mg.compile" in str(w.message)]) == 1
    assert W.grad.tobytes() == W_eager.grad.tobytes()
    assert compiled.cache_info().replays == 0 and compiled.cache_info().eager_calls >= 3


def test_a_closed_over_constant_is_part_of_the_plan_so_pass_changing_values_as_arguments():
    """A Python number given as an argument is part of the signature: changing it retraces."""
    W = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)

    def step(x, scale):
        W.grad = None
        loss = ((x @ W) * scale).sum()
        loss.backward()
        return loss

    compiled = mg.compile(step)
    x = np.ones((2, 4), np.float32)
    for scale in (1.0, 1.0, 1.0, 3.0, 3.0, 3.0):
        assert compiled(x, scale).item() == pytest.approx(24.0 * scale)
        assert W.grad[0, 0] == pytest.approx(2.0 * scale)
    assert compiled.cache_info().replays == 2


def test_planned_buffers_are_reused_counted_by_allocations():
    """After the plan is made, a replay allocates no array of its own: the gradients live in the
    same buffers every step, and the peak a replay adds is the optimizer's own temporary (SGD's
    ``lr * grad``, at most the largest parameter) plus the returned scalar, against the eager
    step's activations and gradients."""
    global SIZES
    saved, SIZES = SIZES, (16, 128, 128, 5)
    try:
        x, y = batch(256)
        step, params = ordinary_step("sgd")
        eager, _ = ordinary_step("sgd")
        compiled = mg.compile(step)
        for _ in range(3):
            compiled(x, y)
        plan = compiled.plan_for(x, y)
        report = plan.memory
        assert report.arena_bytes < report.one_buffer_per_value_bytes
        assert report.in_place > 0 and report.storages < report.values
        addresses = [p.grad.__array_interface__["data"][0] for p in params]
        largest_param = max(p.data.nbytes for p in params)

        def peak_added(fn) -> int:
            fn(x, y)  # warm: first-call allocations (optimizer state) are not the step's
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                fn(x, y)
                return tracemalloc.get_traced_memory()[1] - before
            finally:
                tracemalloc.stop()

        compiled_peak = peak_added(compiled)
        eager_peak = peak_added(eager)
        assert compiled_peak <= largest_param + 8192
        activations = 2 * 256 * 128 * 4
        assert eager_peak >= activations
        assert [p.grad.__array_interface__["data"][0] for p in params] == addresses
        assert compiled.cache_info().replays == 3
    finally:
        SIZES = saved


def test_explain_shows_the_schedule_and_the_plans_memory():
    step, _ = ordinary_step("adam")
    compiled = mg.compile(step)
    x, y = batch(4)
    assert "no plan yet" in compiled.explain()
    for _ in range(3):
        compiled(x, y)
    text = compiled.explain(x, y)
    assert "def replay(" in text and "matmul(" in text and "Adam.step" in text
    assert "arena" in text and "planned values" in text


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(TypeError, match="expected a function"):
        mg.compile(3)
    with pytest.raises(ValueError, match="fallback"):
        mg.compile(lambda: None, fallback="maybe")
    with pytest.raises(ValueError, match="cache_size"):
        mg.compile(lambda: None, cache_size=0)
    with pytest.raises(TypeError, match="not hashable"):
        mg.compile(lambda d: None)({"a": 1})


def test_ops_without_a_library_kernel_replay_their_own_rows_bitwise():
    """Ops the kernel library does not cover (tanh, a power, mean, a softmax by hand, a
    transpose) run their table rows' own forward and VJPs in the plan: still eager's bits."""

    def make():
        rng = np.random.default_rng(2)
        W = mg.tensor(rng.standard_normal((6, 4)).astype(np.float32), requires_grad=True)
        V = mg.tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
        optimizer = mg.optim.Adam([W, V], lr=1e-2)

        def step(x):
            optimizer.zero_grad()
            h = (x @ W).tanh()
            z = (h @ V.T).exp()
            p = z / z.sum(axis=1, keepdims=True)
            loss = ((p - 0.25) ** 2).mean() + (W * W).sum() * 1e-3
            loss.backward()
            optimizer.step()
            return loss

        return step, (W, V)

    x = np.random.default_rng(3).standard_normal((5, 6)).astype(np.float32)
    (eager, eager_params), (step, params) = make(), make()
    compiled = mg.compile(step)
    for _ in range(20):
        assert compiled(x).data.tobytes() == eager(x).data.tobytes()
    for p, q in zip(params, eager_params, strict=True):
        assert p.data.tobytes() == q.data.tobytes()
    assert compiled.cache_info().replays == 18
    assert compiled.plan_for(x).memory.row_functions > 0


def test_a_schedule_stepped_inside_the_step_is_replayed():
    """StepLR halves the rate every 3 calls, after the plan is made: the replay steps it too."""

    def make():
        W = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
        optimizer = mg.optim.SGD([W], lr=0.1)
        schedule = mg.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

        def step(x):
            optimizer.zero_grad()
            loss = ((x @ W) ** 2).sum()
            loss.backward()
            optimizer.step()
            schedule.step()
            return loss

        return step, W, optimizer

    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    (eager, W_eager, opt_eager), (step, W, optimizer) = make(), make()
    compiled = mg.compile(step)
    for _ in range(10):
        assert compiled(x).data.tobytes() == eager(x).data.tobytes()
    assert W.data.tobytes() == W_eager.data.tobytes()
    assert optimizer.param_groups[0]["lr"] == opt_eager.param_groups[0]["lr"] == 0.1 * 0.5**3
    assert compiled.cache_info().replays == 8


def test_a_rate_set_by_python_in_the_step_is_refused_not_frozen():
    W = mg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    optimizer = mg.optim.SGD([W], lr=0.1)
    calls = [0]

    def step(x):
        calls[0] += 1
        optimizer.param_groups[0]["lr"] = 0.1 / calls[0]
        optimizer.zero_grad()
        loss = ((x @ W) ** 2).sum()
        loss.backward()
        optimizer.step()
        return loss

    compiled = mg.compile(step)
    x = np.ones((2, 4), np.float32)
    compiled(x)
    with pytest.raises(TraceError, match="other hyperparameters"):
        compiled(x)


def test_batch_norm_training_is_refused_and_its_fallback_keeps_the_running_statistics():
    """BatchNorm moves its running statistics with NumPy in place: a replay would skip that, so
    the trace refuses; with fallback="eager" the statistics equal the eager run's."""

    def make():
        model = mg.nn.Sequential(
            mg.nn.Linear(6, 5, rng=0), mg.nn.BatchNorm1d(5), mg.nn.ReLU(), mg.nn.Linear(5, 3, rng=1)
        )
        optimizer = mg.optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            optimizer.zero_grad()
            loss = mg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss

        return model, step

    x = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    y = np.arange(8) % 3
    _, step = make()
    with pytest.raises(TraceError, match="written in place by NumPy"):
        mg.compile(step)(x, y)
    (eager_model, eager), (model, step) = make(), make()
    compiled = mg.compile(step, fallback="eager")
    with pytest.warns(RuntimeWarning, match="BatchNorm"):
        for _ in range(4):
            compiled(x, y)
            eager(x, y)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), eager_model.state_dict().items(), strict=True
    ):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), name
    assert compiled.cache_info().replays == 0


def test_gradients_accumulate_across_replays_as_they_do_eagerly_without_zero_grad():
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    results = []
    for compiled in (False, True):
        W = mg.tensor(np.full((4, 3), 0.1, np.float32), requires_grad=True)
        optimizer = mg.optim.SGD([W], lr=0.01)

        def step(x, W=W, optimizer=optimizer):
            loss = ((x @ W).tanh() ** 2).sum()
            loss.backward()
            optimizer.step()
            return loss

        fn = mg.compile(step) if compiled else step
        for _ in range(6):
            fn(x)
        results.append((W.data.tobytes(), W.grad.tobytes()))
    assert results[0] == results[1]
    assert fn.cache_info().replays == 4
