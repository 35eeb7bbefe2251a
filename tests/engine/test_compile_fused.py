"""mg.compile(step, fuse=True): each fused kernel against the NumPy calls it replaces (bitwise
where the module says so, to a few ulp for the softmax), whole steps against eager (to float
rounding with a cross-entropy, bit for bit without), and the checks a kernel must not skip."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import memograd as mg
from memograd.engine import compiler
from memograd.engine.compiler import kernels

fused = pytest.importorskip("memograd.engine.compiler.fused")

from tests.engine.test_compile import OPTIMIZERS, batch, ordinary_step, side_by_side  # noqa: E402

SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 3.0, -3.0])


def _with_specials(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    a = rng.standard_normal(shape).astype(dtype)
    a.reshape(-1)[: len(SPECIALS)] = SPECIALS.astype(dtype)
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aliased", [False, True], ids=["apart", "in_place"])
def test_bias_relu_is_bitwise_the_add_and_the_maximum(dtype, aliased):
    rng = np.random.default_rng(0)
    a = _with_specials(rng, (7, 13), dtype)
    b = _with_specials(rng, (1, 13), dtype)[0][::-1].copy()
    h_expected = a + b
    o_expected = np.maximum(h_expected, 0)
    if aliased:  # the planner's in-place case: the sum and the ReLU over the input's memory
        h = o = a
    else:
        h, o = np.empty_like(a), np.empty_like(a)
    with np.errstate(invalid="ignore"):
        fused.bias_relu(a, b, h, o)
    assert o.tobytes() == o_expected.tobytes()
    if not aliased:
        assert h.tobytes() == h_expected.tobytes()
    assert not np.signbit(o[o == 0]).any()  # -0.0 comes out +0.0, as np.maximum gives


NONE = np.empty(0, np.float32)  # a kernel's ``sums`` when no column sums are wanted


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aliased", [False, True], ids=["apart", "in_place"])
def test_relu_backward_is_bitwise_the_masked_multiply(dtype, aliased):
    rng = np.random.default_rng(1)
    g = _with_specials(rng, (9, 11), dtype)
    out = np.maximum(_with_specials(rng, (9, 11), dtype)[::-1], 0)
    with np.errstate(invalid="ignore"):
        expected = np.multiply(g, out > 0)
    result = g if aliased else np.empty_like(g)
    with np.errstate(invalid="ignore"):
        fused.relu_backward(g, out, result, NONE.astype(dtype))
    assert result.tobytes() == expected.tobytes()


@pytest.mark.parametrize("rows", [0, 1, 2, 7, 8, 9, 32, 33, 128, 200, 1024])
@pytest.mark.parametrize("columns", [2, 3, 10, 256])
def test_column_sums_of_the_fused_kernels_are_bitwise_numpys_add_reduce_over_rows(rows, columns):
    """The bias gradient summed inside the kernel, in NumPy's own order for a 2-D C array:
    values spread over six orders of magnitude, so another order would round differently."""
    rng = np.random.default_rng(rows * 1000 + columns)
    g = rng.standard_normal((rows, columns)) * 10 ** rng.uniform(-3, 3, (rows, columns))
    g = g.astype(np.float32)
    out = np.abs(rng.standard_normal((rows, columns))).astype(np.float32)
    out[::3] = 0
    sums = np.full(columns, np.nan, np.float32)
    fused.relu_backward(g, out, np.empty_like(g), sums)
    assert sums.tobytes() == np.add.reduce(g * (out > 0), 0).tobytes()
    probs = rng.random((rows, columns)).astype(np.float32)
    targets = rng.integers(0, columns, rows).astype(np.intp)
    result = np.empty_like(probs)
    fused.cross_entropy_grad(probs, targets, np.ones((1, 1), np.float32), 3.0, result, sums)
    assert sums.tobytes() == np.add.reduce(result, 0).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_equals_numpys_to_a_few_ulp(dtype):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((64, 10)) * 6).astype(dtype)
    targets = rng.integers(0, 10, 64).astype(np.intp)
    losses, probs, mean = np.empty(64, dtype), np.empty_like(x), np.empty(1, dtype)
    assert fused.softmax_cross_entropy(x, targets, losses, probs, mean, dtype(64)) == 0
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    ulp = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(probs, e / total, rtol=8 * ulp, atol=8 * ulp * 1e-3)
    expected = np.log(total[:, 0]) - shifted[np.arange(64), targets]
    np.testing.assert_allclose(losses, expected, rtol=8 * ulp, atol=8 * ulp)
    assert probs.sum(axis=1) == pytest.approx(np.ones(64), rel=16 * ulp)
    assert mean[0] == pytest.approx(float(np.mean(expected)), rel=64 * ulp)
    np.testing.assert_allclose(losses, -np.log(probs[np.arange(64), targets]), rtol=1e-4, atol=1e-6)


def test_softmax_cross_entropy_gives_nan_where_numpy_does_and_may_overwrite_its_input():
    x = np.array([[1.0, np.nan, 2.0], [np.inf, 0.0, 1.0], [1e30, -1e30, 0.0]], np.float32)
    targets = np.array([0, 1, 2], np.intp)
    losses, probs = np.empty(3, np.float32), np.empty_like(x)
    with np.errstate(invalid="ignore"):
        fused.softmax_cross_entropy(x.copy(), targets, losses, probs, NONE, np.float32(1))
        shifted = x - x.max(axis=1, keepdims=True)
        expected = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(3), targets]
    assert np.array_equal(np.isnan(losses), np.isnan(expected))
    assert np.isnan(losses[:2]).all() and losses[2] == expected[2] == np.float32(1e30)
    same = x[2:].copy()
    fused.softmax_cross_entropy(
        same, targets[2:], losses[:1], same, NONE, np.float32(1)
    )  # in place
    assert same.tolist() == [[1.0, 0.0, 0.0]]


@pytest.mark.parametrize("bad", [10, -1, 2**40])
def test_softmax_cross_entropy_reports_a_bad_target_before_reading_with_it(bad):
    x = np.zeros((4, 10), np.float32)
    targets = np.array([1, 2, bad, 3], np.intp)
    losses, probs = np.empty(4, np.float32), np.empty_like(x)
    assert fused.softmax_cross_entropy(x, targets, losses, probs, NONE, np.float32(1)) == 3


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_grad_is_bitwise_the_one_hot_subtraction_and_the_scale(reduction):
    """Against the NumPy plan's calls: ``minus_onehot``, then ``g / n`` (a mean), then the
    multiply by it (per row for reduction="none")."""
    rng = np.random.default_rng(3)
    probs = rng.random((6, 4)).astype(np.float32)
    targets = np.array([0, 3, 1, 1, 2, 0], np.intp)
    g = rng.random(6 if reduction == "none" else ()).astype(np.float32)
    expected = np.empty_like(probs)
    kernels.minus_onehot(probs, np.arange(6) * 4 + targets, np.empty(6, np.float32), expected)
    scale = np.divide(g, 6) if reduction == "mean" else g.reshape(-1, 1)
    expected *= scale
    result = np.empty_like(probs)
    divisor = np.float32(6 if reduction == "mean" else 1)
    fused.cross_entropy_grad(probs, targets, g.reshape(-1, 1), divisor, result, NONE)
    assert result.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_update_is_bitwise_the_multiply_and_subtract(dtype):
    rng = np.random.default_rng(4)
    p = rng.standard_normal(10_000).astype(dtype)
    g = rng.standard_normal(10_000).astype(dtype)
    lr = 0.1234567
    expected = p.copy()
    expected -= np.multiply(g, lr)
    fused.sgd_update(p, g, p.dtype.type(lr))
    assert p.tobytes() == expected.tobytes()


# ---- whole steps ---------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model_kind", ["tensors", "nn"])
def test_fused_step_equals_eager_to_float_rounding_after_20_steps(optimizer_name, model_kind):
    compiled, losses, params, eager_params = side_by_side(optimizer_name, model_kind, fuse=True)
    for got, expected in losses:
        assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    for p, q in zip(params, eager_params, strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6)
    assert compiled.cache_info().replays == 18
    source = compiled.explain()
    assert source.count("bias_relu(") == 2  # both hidden layers
    assert source.count("relu_backward(") == 2
    assert "softmax_cross_entropy(" in source and "cross_entropy_grad(" in source
    assert "reduce(" not in source  # the bias gradients and the mean: summed inside the kernels
    has_fused_step = optimizer_name in ("sgd", "sgd_momentum_nesterov", "adam", "adamw")
    assert (".step, fused" in source) == has_fused_step


def test_a_fused_step_without_cross_entropy_is_bitwise_the_eager_step():
    x, _ = batch(8)
    target = np.random.default_rng(5).standard_normal((8, 5)).astype(np.float32)

    def make():
        return ordinary_step("sgd", "nn", loss=mg.nn.functional.mse_loss)

    compiled = _fused_is_eager_bitwise(make, (x, target), calls=20)
    assert "bias_relu(" in compiled.explain() and "SGD.step, fused" in compiled.explain()


def _fused_is_eager_bitwise(make, args, calls: int):
    """Two copies from ``make()`` (a step and its parameters), one in mg.compile(fuse=True):
    the same losses, weights and gradients bit for bit after ``calls`` calls."""
    eager, eager_params = make()
    step, params = make()
    compiled = mg.compile(step, fuse=True)
    for _ in range(calls):
        assert compiled(*args).data.tobytes() == eager(*args).data.tobytes()
    for p, q in zip(params, eager_params, strict=True):
        assert p.data.tobytes() == q.data.tobytes()
        assert p.grad.tobytes() == q.grad.tobytes()
    assert compiled.cache_info().replays == calls - 2
    return compiled


def test_fused_gradients_match_finite_differences():
    x, y = batch(4)
    _, params = ordinary_step("sgd")
    Ws, bs = params[:3], params[3:]

    def loss_and_grad(x, y):
        for p in params:
            p.grad = None
        h = x
        for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
            h = (h @ W + b).relu() if k < 2 else h @ W + b
        loss = mg.cross_entropy(h, y)
        loss.backward()
        return loss

    probe = mg.compile(loss_and_grad, fuse=True)
    for _ in range(3):
        probe(x, y)
    for W in (Ws[0], bs[1]):
        grad = W.grad.copy()
        for index in [(0, 0), (3, 7)] if W.ndim == 2 else [(0,), (9,)]:
            original = W.data[index]
            W.data[index] = original + 1e-2
            up = probe(x, y).item()
            W.data[index] = original - 1e-2
            down = probe(x, y).item()
            W.data[index] = original
            assert (up - down) / 2e-2 == pytest.approx(grad[index], rel=2e-2, abs=1e-3)
    assert "softmax_cross_entropy(" in probe.explain()


@pytest.mark.parametrize("bad", [5, -1])
def test_a_bad_target_in_a_fused_replay_raises_the_eager_error(bad):
    x, y = batch(6)
    step, params = ordinary_step("sgd")
    compiled = mg.compile(step, fuse=True)
    for _ in range(3):
        compiled(x, y)
    before = [p.data.copy() for p in params]
    y_bad = y.copy()
    y_bad[4] = bad
    with pytest.raises(ValueError, match=rf"targets\[4\] = {bad} is not a class index for 5"):
        compiled(x, y_bad)
    for p, q in zip(params, before, strict=True):  # raised before any update
        assert p.data.tobytes() == q.tobytes()


def test_hyperparameters_set_between_calls_are_followed_by_the_fused_update():
    x, y = batch(8)
    eager, eager_params = ordinary_step("sgd")
    step, params = ordinary_step("sgd")
    compiled = mg.compile(step, fuse=True)
    optimizers = []
    for fn in (eager, step):
        optimizers.append(next(c.cell_contents for c in fn.__closure__ if
                               isinstance(c.cell_contents, mg.optim.SGD)))  # fmt: skip
    for k in range(12):
        if k == 6:  # momentum and weight decay from here: the fused update hands over to step()
            for opt in optimizers:
                opt.param_groups[0]["momentum"] = 0.9
                opt.param_groups[0]["weight_decay"] = 1e-2
        eager(x, y)
        compiled(x, y)
    for p, q in zip(params, eager_params, strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)
    assert "momentum_buffer" in optimizers[1].state[params[0]]


def test_fuse_needs_numba_and_says_so_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "memograd.engine.compiler.fused")
    monkeypatch.delattr(compiler, "fused")
    with pytest.raises(ImportError, match=r"needs numba: pip install 'memograd\[fused\]'"):
        mg.compile(lambda x: x, fuse=True)
    with pytest.raises(TypeError, match="fuse must be True or False"):
        mg.compile(lambda x: x, fuse="yes")
    assert mg.compile(lambda x: x).fused is None  # the NumPy plan needs nothing more


@pytest.mark.parametrize("order", ["relu_first", "skip_first"])
def test_a_bias_gradient_waits_for_every_contribution_to_its_adjoint(order):
    """z = x @ W + b feeds a ReLU and, directly, a second matmul: dz is relu_backward's result
    plus a second contribution, so db must be summed after both (never inside the ReLU's
    kernel alone). A loss without cross-entropy: the fused step is the eager step, bit for bit."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 12)).astype(np.float32)
    target = rng.standard_normal((8, 5)).astype(np.float32)

    def make():
        r = np.random.default_rng(7)
        W, V, U = (
            mg.tensor(r.standard_normal(s).astype(np.float32) * 0.3, requires_grad=True)
            for s in [(12, 16), (16, 5), (16, 5)]
        )
        b = mg.tensor(r.standard_normal(16).astype(np.float32), requires_grad=True)
        params = [W, V, U, b]
        optimizer = mg.optim.SGD(params, lr=0.05)

        def step(x, t):
            optimizer.zero_grad()
            z = x @ W + b
            h = z.relu()
            y = h @ V + z @ U if order == "relu_first" else z @ U + h @ V
            loss = mg.nn.functional.mse_loss(y, t)
            loss.backward()
            optimizer.step()
            return loss

        return step, params

    compiled = _fused_is_eager_bitwise(make, (x, target), calls=6)
    assert "relu_backward(" in compiled.explain()


ADAMS = {
    "adam": lambda ps: mg.optim.Adam(ps, lr=1e-2),
    "amsgrad_maximize": lambda ps: mg.optim.Adam(ps, lr=1e-2, amsgrad=True, maximize=True),
    "l2": lambda ps: mg.optim.Adam(ps, lr=3e-3, betas=(0.8, 0.99), weight_decay=0.1),
    "adamw": lambda ps: mg.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "big_beta1": lambda ps: mg.optim.Adam(ps, lr=1e-2, betas=(0.3, 0.9)),  # lerp's other form
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ADAMS))
def test_adams_fused_step_is_bitwise_its_step(name, dtype):
    rng = np.random.default_rng(8)
    start = [rng.standard_normal(s).astype(dtype) for s in [(7, 5), (5,), (3, 4, 2)]]
    grads = [[rng.standard_normal(a.shape).astype(dtype) for a in start] for _ in range(20)]
    grads[3][0][0, 0] = 0.0  # a zero gradient, a huge one and a denormal one on the way
    grads[5][1][2] = 1e30 if dtype == np.float32 else 1e200
    grads[7][2][0, 0, 0] = np.finfo(dtype).smallest_subnormal
    runs = []
    for fused_update in (False, True):
        params = [mg.tensor(a.copy(), requires_grad=True) for a in start]
        optimizer = ADAMS[name](params)
        for step_grads in grads:
            for p, g in zip(params, step_grads, strict=True):
                p.grad = g.copy()
            with np.errstate(over="ignore"):  # the huge gradient's square, in both
                if fused_update:
                    optimizer.fused_step(fused)
                else:
                    optimizer.step()
        runs.append((params, optimizer))
    (eager, eager_opt), (one_pass, fused_opt) = runs
    for p, q in zip(eager, one_pass, strict=True):
        assert p.data.tobytes() == q.data.tobytes()
        for key in ("exp_avg", "exp_avg_sq", "step"):
            a, b = eager_opt.state[p][key], fused_opt.state[q][key]
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert not np.array_equal(one_pass[0].data, start[0])


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_cross_entropys_other_reductions_fuse_and_follow_eager(reduction):
    """reduction="sum" (the loss summed in the kernel) and "none" (per-row losses, weighted
    before the sum, so each row's gradient scale comes from g): both against eager."""
    x, y = batch(8)
    weights = np.linspace(0.5, 2.0, 8).astype(np.float32)

    def loss(logits, targets):
        if reduction == "sum":
            return mg.nn.functional.cross_entropy(logits, targets, reduction="sum")
        per_row = mg.nn.functional.cross_entropy(logits, targets, reduction="none")
        return (per_row * weights).sum()

    eager, eager_params = ordinary_step("adam", loss=loss)
    step, params = ordinary_step("adam", loss=loss)
    compiled = mg.compile(step, fuse=True)
    for _ in range(8):
        assert compiled(x, y).item() == pytest.approx(eager(x, y).item(), rel=1e-5)
    for p, q in zip(params, eager_params, strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)
    assert "cross_entropy_grad(" in compiled.explain() and compiled.cache_info().replays == 6


@pytest.mark.parametrize("optimizer_name", ["sgd", "sgd_momentum_nesterov"])
def test_dtypes_the_kernels_do_not_take_keep_their_numpy_calls(optimizer_name):
    """float16 parameters under fuse=True: no fused kernel (numba has no float16), the plan's
    NumPy calls and the optimizer's own update, so the step is the eager one bit for bit."""
    x, y = batch(6)
    x = x.astype(np.float16)

    def make():
        step, params = ordinary_step(optimizer_name)
        for p in params:
            p.data = p.data.astype(np.float16)
        return step, params

    compiled = _fused_is_eager_bitwise(make, (x, y), calls=5)
    assert np.isfinite(compiled(x, y).item())
    source = compiled.explain()
    for kernel in ("bias_relu(", "relu_backward(", "softmax_cross_entropy(", "cross_entropy_grad("):
        assert kernel not in source


def test_a_parameter_group_added_between_replays_is_updated_by_the_fused_sgd_step():
    """SGD's fused step keeps flat views between calls; a group added since (its gradient set
    outside the step, which resets only its own parameters' gradients) must be updated as
    step() updates it, not skipped."""
    x, y = batch(8)
    runs = []
    for fuse in (False, True):
        _, params = ordinary_step("sgd")
        optimizer = mg.optim.SGD(params, lr=0.1)
        extra = mg.tensor(np.ones(3, np.float32), requires_grad=True)

        def step(x, y, params=params, optimizer=optimizer):
            for p in params:
                p.grad = None
            h = x
            for k, (W, b) in enumerate(zip(params[:3], params[3:], strict=True)):
                h = (h @ W + b).relu() if k < 2 else h @ W + b
            loss = mg.cross_entropy(h, y)
            loss.backward()
            optimizer.step()
            return loss

        fn = mg.compile(step, fuse=fuse)
        for k in range(6):
            if k == 4:
                optimizer.add_param_group({"params": [extra], "lr": 0.5})
            extra.grad = np.full(3, 0.25, np.float32)
            fn(x, y)
        assert fn.cache_info().replays == 4
        runs.append((extra.data.copy(), [p.data.copy() for p in params]))
    (plain_extra, plain), (fused_extra, fused) = runs
    assert plain_extra.tolist() == [0.75, 0.75, 0.75]  # two steps of 0.5 * 0.25
    assert fused_extra.tobytes() == plain_extra.tobytes()
    for a, b in zip(plain, fused, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
