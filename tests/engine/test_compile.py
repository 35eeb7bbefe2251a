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


def ordinary_step(optimizer_name: str, model_kind: str = "tensors", arrays=None, loss=None):
    """A step written the ordinary way (``h @ W + b``, ``.relu()``, cross_entropy, backward,
    an optimizer), with its parameters. ``arrays``: the weights then the biases, wrapped
    without a copy (the tensors' own arrays otherwise); ``loss``: another loss function."""
    rng = np.random.default_rng(0)
    if model_kind == "nn":
        model = mg.nn.MLP(list(SIZES), activation="relu", rng=0)
        params = list(model.parameters())
        forward = model
    else:
        if arrays is None:
            Ws = [
                mg.tensor(rng.standard_normal((a, b)).astype(np.float32) * 0.3, requires_grad=True)
                for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)
            ]
            bs = [mg.tensor(np.zeros(b, np.float32), requires_grad=True) for b in SIZES[1:]]
        else:
            layers = len(arrays) // 2
            Ws = [mg.from_numpy(a).requires_grad_() for a in arrays[:layers]]
            bs = [mg.from_numpy(a).requires_grad_() for a in arrays[layers:]]
        params = [*Ws, *bs]

        def forward(h):
            for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
                h = h @ W + b
                if k < len(Ws) - 1:
                    h = h.relu()
            return h

    optimizer = OPTIMIZERS[optimizer_name](params)
    loss_of = loss or mg.nn.functional.cross_entropy

    def step(x, y):
        optimizer.zero_grad()
        value = loss_of(forward(x), y)
        value.backward()
        optimizer.step()
        return value

    return step, params


def side_by_side(optimizer_name: str, model_kind: str, fuse: bool = False, calls: int = 20):
    """Two copies of the ordinary step, one in ``mg.compile``, called ``calls`` times on one
    batch: the compiled step, the (compiled, eager) losses, and both parameter lists."""
    x, y = batch(8)
    eager, eager_params = ordinary_step(optimizer_name, model_kind)
    step, params = ordinary_step(optimizer_name, model_kind)
    compiled = mg.compile(step, fuse=fuse)
    losses = [(compiled(x, y), eager(x, y)) for _ in range(calls)]
    return compiled, losses, params, eager_params


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model_kind", ["tensors", "nn"])
def test_compiled_weights_equal_eager_bitwise_after_20_steps(optimizer_name, model_kind):
    compiled, losses, params, eager_params = side_by_side(optimizer_name, model_kind)
    for got, expected in losses:
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


def _views_of_one_vector(sizes, seed=0):
    """Weights and biases cut from one flat float32 vector, as code that hands its parameters
    to an outside optimizer as one vector does: disjoint views of one memory root."""
    shapes = [*((a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)), *sizes[1:]]
    vector = np.random.default_rng(seed).standard_normal(
        sum(int(np.prod(s)) for s in shapes)
    ).astype(np.float32) * np.float32(0.3)
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(vector[start : start + size].reshape(shape))
        start += size
    return vector, views


def test_parameters_cut_from_one_vector_are_separate_leaves_and_replay_bitwise():
    """Disjoint views of one array are different values: traced as separate leaves, not refused
    as aliases, and the replay updates the vector exactly as eager does."""
    x, y = batch(8)
    eager_vector, eager_views = _views_of_one_vector(SIZES)
    vector, views = _views_of_one_vector(SIZES)
    eager, _ = ordinary_step("adam", arrays=eager_views)
    compiled = mg.compile(ordinary_step("adam", arrays=views)[0])
    for _ in range(6):
        assert compiled(x, y).data.tobytes() == eager(x, y).data.tobytes()
    assert vector.tobytes() == eager_vector.tobytes()
    assert not np.array_equal(vector, _views_of_one_vector(SIZES)[0])  # it did train
    assert compiled.cache_info().replays == 4


def test_a_tensor_overlapping_a_traced_parameter_is_refused():
    """A leaf made from part of a parameter's memory would read values the plan writes
    elsewhere: refused, naming what to do, not traced as a separate value."""
    _, views = _views_of_one_vector(SIZES)
    step, _ = ordinary_step("adam", arrays=views)
    first_row = mg.from_numpy(views[0][0])  # W1's first row, wrapped outside the engine's ops
    x, y = batch(4)

    def overlapping(x, y):
        loss = step(x, y)
        return loss + (first_row * 0).sum()

    with pytest.raises(TraceError, match="sharing memory with a traced value"):
        mg.compile(overlapping)(x, y)


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
    "dropout": (dropout_step, "test_compile.py:", "a random draw"),
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


# ---- the torch Tensor surface inside a step: read-outs and in-place writes are refused, values
# computed from traced values without a graph node are replayed, never frozen ------------------


def surface_step(W, optimizer, body):
    """A step whose middle is ``body`` (Python source over h = x @ W, x, W, mg, np)."""
    code = compile(body, "surface_body.py", "exec")

    def step(x):
        optimizer.zero_grad()
        scope = {"h": x @ W, "x": x, "W": W, "mg": mg, "np": np}
        exec(code, scope)
        loss = scope["loss"]
        loss.backward()
        optimizer.step()
        return loss

    return step


def surface_pair(body, fallback="raise"):
    """The same step eagerly and compiled, on their own parameters."""
    made = []
    for _ in range(2):
        W = mg.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)
        made.append((W, surface_step(W, mg.optim.SGD([W], lr=0.1), body)))
    (W_eager, eager), (W, step) = made
    return W_eager, eager, W, mg.compile(step, fallback=fallback)


def surface_inputs(calls=6):
    return [
        np.random.default_rng(k).standard_normal((3, 4)).astype(np.float32) for k in range(calls)
    ]


READ_OUTS = {
    "tolist": ("loss = (h**2).mean()\nif loss.tolist() > 0:\n    loss = loss * 2", ".tolist()"),
    "float": ("loss = (h**2).mean() * float(h.sum())", "float(tensor)"),
    "int": ("loss = (h**2).mean() * int(h.sum() > 0)", "int(tensor)"),
    "index": ("k = (h.sum() > 0).long()\nloss = (h**2).mean() * [1.0, 2.0][k]", "Python index"),
    "format": ("loss = (h**2).mean()\ntext = f'{loss:.3f}'", "formatting a tensor"),
    "equal": ("loss = (h**2).mean()\nif mg.equal(h, h * 0):\n    loss = loss * 2", "mg.equal"),
    "allclose": ("loss = (h**2).mean()\nif mg.allclose(h, h):\n    loss = 2 * loss", "allclose"),
    "numpy": ("loss = (h**2).mean() * h.numpy().sum()", ".numpy()"),
    "item": ("loss = (h**2).mean() * h.sum().item()", ".item()"),
    "data": ("loss = (h**2).mean() * h.data.sum()", "reading .data"),
    "asarray": ("loss = (h * np.asarray(h).sum()).sum()", "np.asarray"),
    "tensor_copy": ("loss = (h * mg.tensor(h)).sum()", "copying a tensor"),
    "compare_if": ("loss = (h**2).mean()\nif (h > 0).any():\n    loss = loss * 2", "`if`"),
    "python_max": ("loss = max(h.sum(), h.mean())", "`if`"),
    "max_dim": ("loss = h.max(1).values.sum()", "max(dim)"),
    "data_assign": ("loss = (h**2).mean()\nW.data = W.data * 1", "reading .data"),
}
IN_PLACE = {
    "iadd": ("h2 = h * 1\nh2 += 1\nloss = (h2**2).mean()", "add_() (or +="),
    "add_": ("c = mg.zeros(3, 3)\nc.add_(h)\nloss = c.sum()", "add_()"),
    "mul_no_grad": (
        "with mg.no_grad():\n    c = h * 1\n    c.mul_(2)\nloss = (h * c).sum()",
        "mul_()",
    ),
    "zero_": ("c = mg.ones(3, 3)\nc.zero_()\nloss = (h + c).sum()", "zero_()"),
    "fill_": ("c = mg.ones(3, 3)\nc.fill_(2.0)\nloss = (h * c).sum()", "fill_()"),
    "copy_": ("c = mg.ones(3, 3)\nc.copy_(h.detach())\nloss = (h * c).sum()", "copy_()"),
    "clamp_": ("c = h.detach().clone()\nc.clamp_(0, 1)\nloss = (h * c).sum()", "clamp_()"),
    "masked_fill_": (
        "c = h.detach().clone()\nc.masked_fill_(c > 0, 0.0)\nloss = (h * c).sum()",
        "masked_fill_()",
    ),
    "setitem": ("c = mg.ones(3, 3)\nc[0] = h[1].detach()\nloss = (h * c).sum()", "setitem()"),
    "parameter_update": (
        "loss = (h**2).mean()\nwith mg.no_grad():\n    W -= 0.0",
        "sub_() (or +=",
    ),
}
RANDOM = {
    "rand": "loss = (h * mg.rand(3, 3)).sum()",
    "randn": "loss = (h * mg.randn(3, 3)).sum()",
    "randperm": "loss = h[mg.randperm(3)].sum() * h.sum()",
    "dropout": "loss = mg.nn.functional.dropout(h, 0.5, training=True).sum()",
    "dropout_seeded": "loss = mg.nn.functional.dropout(h, 0.5, generator=3).sum()",
    "uniform_": "c = mg.empty(3, 3).uniform_()\nloss = (h * c).sum()",
    "normal_": "c = mg.zeros(3, 3).normal_(generator=1)\nloss = (h * c).sum()",
    "randint": "loss = (h * mg.randint(0, 2, (3, 3))).sum()",
}


@pytest.mark.parametrize("case", sorted(READ_OUTS) + sorted(IN_PLACE))
def test_read_outs_and_in_place_writes_are_refused_naming_the_line(case):
    body, what = {**READ_OUTS, **IN_PLACE}[case]
    _, _, W, compiled = surface_pair(body)
    start = W.data.copy()
    with pytest.raises(TraceError) as info:
        for x in surface_inputs(3):
            compiled(x)
    message = str(info.value)
    assert "surface_body.py:" in message and what in message, message
    assert compiled.cache_info().replays == 0
    if case in IN_PLACE:  # refused before the write: the first call never reached step()
        assert W.data.tobytes() == start.tobytes()


@pytest.mark.parametrize("case", sorted(RANDOM))
def test_random_draws_in_the_step_are_refused_not_frozen(case):
    """Refused on the first call, even when every call would draw the same numbers (a seed
    set before each call): a plan would go on reusing them when the caller stops seeding."""
    _, _, _, compiled = surface_pair(RANDOM[case])
    mg.manual_seed(3)
    with pytest.raises(TraceError, match="a random draw") as info:
        compiled(surface_inputs(1)[0])
    assert "surface_body.py:" in str(info.value)
    assert compiled.cache_info().traces == 1 and compiled.cache_info().replays == 0


@pytest.mark.parametrize("case", ["float", "iadd", "fill_", "rand"])
def test_surface_fallback_runs_eagerly_with_eagers_values(case):
    body = {**READ_OUTS, **IN_PLACE, **{k: (v, "") for k, v in RANDOM.items()}}[case][0]
    W_eager, eager, W, compiled = surface_pair(body, fallback="eager")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x in surface_inputs(5):
            mg.manual_seed(7)
            expected = eager(x).data.tobytes()
            mg.manual_seed(7)
            assert compiled(x).data.tobytes() == expected
    assert W.data.tobytes() == W_eager.data.tobytes()
    assert len([w for w in caught if "mg.compile" in str(w.message)]) == 1
    assert compiled.cache_info().replays == 0


DERIVED = {
    "and": "m = ((h > 0) & (x[:, :3] > 0)).float()\nloss = (h * m).sum()",
    "or_constant": "m = ((h > 0) | False).float()\nloss = (h * m).sum()",
    "invert": "m = (~(h > 0)).float()\nloss = (h * m).sum()",
    "logical_not": "m = (h > 0).logical_not().float()\nloss = (h * m).sum()",
    "any": "m = (h > 0).any(1, keepdim=True).float()\nloss = (h * m).sum()",
    "all": "m = (h > -0.5).all(1, keepdim=True).float()\nloss = (h * m).sum() + h.sum()",
    "argmax": "i = h.argmax(1)\nloss = (h**2).sum() + (i.float() * h[:, 0]).sum()",
    "long": "loss = ((h > 0).long().float() * h).sum()",
}


@pytest.mark.parametrize("case", sorted(DERIVED))
def test_values_computed_outside_the_ops_are_replayed_bitwise_not_frozen(case):
    """&, |, ~, any, all, argmax, integer casts make tensors without a graph node; the plan
    computes them again from each call's values (the inputs change, so a frozen one would show)."""
    W_eager, eager, W, compiled = surface_pair(DERIVED[case])
    for x in surface_inputs(8):
        assert compiled(x).data.tobytes() == eager(x).data.tobytes()
    assert W.data.tobytes() == W_eager.data.tobytes()
    assert compiled.cache_info().replays == 6


def grad_step(W, optimizer, write, before, held):
    """A step that writes the gradient array ``held["grad"]`` (taken from W.grad before the
    call: reading W.grad inside the step is refused on its own, see below)."""

    def step(x):
        if before:
            write(W, held["grad"])
        loss = ((x @ W) ** 2).mean()
        loss.backward()
        if not before:
            write(W, held["grad"])
        optimizer.step()
        return loss

    return step


def _if_grad(change):
    return lambda W, g: g is not None and change(g)


GRAD_WRITES = {
    "zero_": (_if_grad(lambda g: g.zero_()), "p.grad.zero_()"),
    "setitem": (_if_grad(lambda g: g.__setitem__(Ellipsis, 0)), "p.grad[...] = ..."),
    "imul": (_if_grad(lambda g: g.__imul__(0.5)), "p.grad *= ..."),
    "fill": (_if_grad(lambda g: g.fill(0)), "p.grad.fill"),
    "copyto": (_if_grad(lambda g: np.copyto(g, 0)), "changed by Python code"),
    "new_array": (
        lambda W, g: g is not None and setattr(W, "grad", np.zeros_like(g)),
        "changed by Python code",
    ),
}


@pytest.mark.parametrize(
    ("case", "before"),
    [(case, True) for case in sorted(GRAD_WRITES)]
    # after backward the array taken before the call is no longer W.grad (backward added into
    # a new one): a NumPy write into it changes nothing (and replays equal eager)
    + [(case, False) for case in sorted(GRAD_WRITES) if case != "copyto"],
)
def test_python_writes_into_a_grad_are_refused(case, before):
    write, what = GRAD_WRITES[case]
    W = mg.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)
    held = {}
    compiled = mg.compile(grad_step(W, mg.optim.SGD([W], lr=0.1), write, before, held))
    with pytest.raises(TraceError, match="gradient|grad") as info:
        for x in surface_inputs(3):
            held["grad"] = W.grad
            compiled(x)
    assert what in str(info.value)
    assert compiled.cache_info().replays == 0


def test_reading_a_grad_inside_the_step_is_refused_not_frozen():
    """An `if` on a gradient's values (NumPy code, out of the ops' sight) would be frozen."""
    W = mg.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)
    optimizer = mg.optim.SGD([W], lr=0.1)

    def step(x):
        optimizer.zero_grad()
        loss = ((x @ W) ** 2).mean()
        loss.backward()
        if np.isfinite(W.grad).all():
            optimizer.step()
        return loss

    compiled = mg.compile(step)
    with pytest.raises(TraceError, match=r"reading a parameter's \.grad") as info:
        compiled(surface_inputs(1)[0])
    assert "if np.isfinite(W.grad).all():" in str(info.value)
    W.grad = None  # outside a trace, .grad is the plain slot again
    assert (
        type(mg.Tensor).__getattribute__(mg.Tensor, "grad").__class__.__name__
        == "member_descriptor"
    )


GRAD_RESETS = {
    "grad_none": lambda W, opt, model: setattr(W, "grad", None),
    "optimizer_zeros": lambda W, opt, model: opt.zero_grad(set_to_none=False),
    "model_zero_grad": lambda W, opt, model: model.zero_grad(),
    "model_zeros": lambda W, opt, model: model.zero_grad(set_to_none=False),
}


@pytest.mark.parametrize("before", [True, False], ids=["before_use", "after_step"])
@pytest.mark.parametrize("case", sorted(GRAD_RESETS))
def test_grad_resets_in_the_step_replay_bitwise(case, before):
    """p.grad = None, optimizer.zero_grad and model.zero_grad (replayed whole) inside the step."""
    runs = []
    for compiled in (False, True):
        model = mg.nn.Linear(4, 3, rng=0)
        opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        reset = GRAD_RESETS[case]

        def step(x, model=model, opt=opt, reset=reset):
            if before:
                reset(model.weight, opt, model)
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            if not before:
                reset(model.weight, opt, model)
            return loss

        run = mg.compile(step) if compiled else step
        losses = [run(x).data.tobytes() for x in surface_inputs(6)]
        runs.append((losses, model.weight.data.tobytes(), model.bias.data.tobytes()))
        if compiled:
            assert run.cache_info().replays == 4
    assert runs[0] == runs[1]
