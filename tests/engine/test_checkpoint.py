"""mg.checkpoint: the same gradients as keeping everything, bit for bit, at every order, with
randomness replayed; less memory held, counted; every way a rerun could differ refused."""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg
from memograd.engine import graph_memory
from memograd.engine.recompute import RecomputationError
from memograd.nn import MLP, Dropout, Linear, ReLU, Sequential


def deep_mlp(seed: int, depth: int = 6, width: int = 12, dropout: float = 0.3) -> MLP:
    return MLP([width] * depth + [5], activation="relu", dropout=dropout, rng=seed)


def batch(seed: int, width: int = 12, rows: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + seed)
    return rng.standard_normal((rows, width)).astype(np.float32), rng.integers(0, 5, rows)


def plain_and_checkpointed(seed: int, cut: list[int]) -> tuple[list, list, float, float]:
    """Gradients of one deep MLP with dropout, plain and with the layers cut at ``cut`` into
    checkpointed segments; both built from the same seed, so their dropout streams agree."""
    X, y = batch(seed)
    results = []
    for checkpointed in (False, True):
        model = deep_mlp(seed)
        layers = list(model.layers)
        h = mg.Tensor(X)
        if checkpointed:
            bounds = [0, *cut, len(layers)]
            for a, b in zip(bounds[:-2], bounds[1:-1], strict=True):
                h = mg.checkpoint(Sequential(*layers[a:b]), h)
            h = Sequential(*layers[bounds[-2] :])(h)
        else:
            h = model(h)
        loss = mg.cross_entropy(h, y)
        loss.backward()
        results.append(([p.grad for p in model.parameters()], float(loss.data), model))
    (plain, l1, m1), (ckpt, l2, m2) = results
    state = [g.bit_generator.state for g in (m1.layers[2]._rng, m2.layers[2]._rng)]
    assert state[0] == state[1]  # the rerun left the dropout stream where the plain run did
    return plain, ckpt, l1, l2


@pytest.mark.parametrize("seed", range(6))
def test_gradients_equal_keeping_everything_bit_for_bit_with_dropout(seed: int) -> None:
    cut = sorted({2 + seed % 3, 5 + seed % 4, 9 + seed % 5})
    plain, ckpt, l1, l2 = plain_and_checkpointed(seed, cut)
    assert l1 == l2
    assert all(np.array_equal(a, b) for a, b in zip(plain, ckpt, strict=True))


def test_a_checkpointed_gradient_agrees_with_finite_differences_and_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    X = rng.standard_normal((5, 3))

    def f(x: mg.Tensor) -> mg.Tensor:
        return mg.checkpoint(lambda h: (h @ W1).tanh() @ W2, x).sin()

    assert mg.gradcheck(f, X)
    x = mg.Tensor(X, requires_grad=True)
    f(x).sum().backward()
    t = torch.tensor(X, requires_grad=True)
    (torch.tanh(t @ torch.tensor(W1)) @ torch.tensor(W2)).sin().sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_the_segment_runs_twice_per_backward_whatever_its_parents_and_strategy() -> None:
    """Once forward, once in the backward pass: all parents are served from one rerun. The
    naive strategy, which memoizes nothing, reruns it once per path (out * out: two)."""
    model = Sequential(Linear(4, 4, rng=0), ReLU(), Linear(4, 4, rng=1))
    calls = []

    def segment(x: mg.Tensor) -> mg.Tensor:
        calls.append(1)
        return model(x)

    for strategy in ("sweep", "memo", "naive"):
        calls.clear()
        x = mg.Tensor(np.ones((2, 4)), requires_grad=True)
        out = mg.checkpoint(segment, x)
        assert out.op == "checkpoint" and len(out.parents) == 5  # x and four parameters
        (out * out).sum().backward(strategy=strategy)
        assert len(calls) == (3 if strategy == "naive" else 2), strategy


def test_the_graph_holds_the_segment_inputs_only_counted_exactly() -> None:
    """Plain: x0 and, per block, the linear output z and the relu output h (2 arrays each).
    Checkpointed in 4 segments of 2 blocks: x0, the three stored segment outputs, and the last
    segment's 2 blocks; each array rows x width float32."""
    rows, width, blocks = 8, 16, 8
    state = rows * width * 4
    X = np.random.default_rng(0).standard_normal((rows, width)).astype(np.float32)
    model = Sequential(*[Sequential(Linear(width, width, rng=k), ReLU()) for k in range(blocks)])
    params = model.parameters()
    plain = model(mg.Tensor(X)).sum()
    held = graph_memory(plain, exclude=params)
    assert held.arrays == 1 + 2 * blocks + 1  # + the loss, a 0-d float32
    assert held.bytes == (1 + 2 * blocks) * state + 4
    wrapped = mg.nn.checkpoint_sequential(model, 4)
    loss = wrapped(mg.Tensor(X)).sum()
    held = graph_memory(loss, exclude=params)
    assert held.bytes == (1 + 3 + 2 * 2) * state + 4
    loss.backward()
    grads = [p.grad.copy() for p in params]
    model.zero_grad()
    plain.backward()
    assert all(np.array_equal(a, p.grad) for a, p in zip(grads, params, strict=True))


def test_create_graph_second_and_third_derivatives_equal_the_plain_ones() -> None:
    rng = np.random.default_rng(3)
    W = mg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    X = rng.standard_normal((2, 3))

    def block(x: mg.Tensor) -> mg.Tensor:
        return (x @ W).tanh() @ W

    def plain(x: mg.Tensor) -> mg.Tensor:
        return (block(x) ** 2).sum()

    def checkpointed(x: mg.Tensor) -> mg.Tensor:
        return (mg.checkpoint(block, x) ** 2).sum()

    def derivatives(f):  # noqa: ANN001, ANN202
        first = mg.grad(f)(X)
        second = mg.grad(lambda x: (mg.grad(f)(x) ** 2).sum())(X)
        third = mg.grad(lambda x: mg.grad(lambda z: (mg.grad(f)(z) ** 2).sum())(x).sum())(X)
        hessian = mg.hessian(f)(X)
        return first, second, third, hessian

    for a, b in zip(derivatives(plain), derivatives(checkpointed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_create_graph_differentiates_the_parameters_gradient_too() -> None:
    """loss.backward(create_graph=True), then the gradient of |dL/dW|^2 with respect to W."""
    rng = np.random.default_rng(4)
    X, W0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    results = []
    for use in (False, True):
        W = mg.Tensor(W0, requires_grad=True)

        def block(x: mg.Tensor, W: mg.Tensor = W) -> mg.Tensor:
            return (x @ W).sigmoid() @ W

        x = mg.Tensor(X, requires_grad=True)
        h = mg.checkpoint(block, x) if use else block(x)
        (h * h).sum().backward(create_graph=True)
        g_W, g_x = W.grad, x.grad
        W.grad = x.grad = None
        ((g_W * g_W).sum() + (g_x * g_x).sum()).backward()
        results.append((g_W.data, W.grad, x.grad))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_forward_mode_runs_through_a_segment() -> None:
    rng = np.random.default_rng(5)
    W = rng.standard_normal((3, 2))
    X, V = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, plain = mg.jvp(lambda x: (x @ W).tanh(), (X,), (V,))
    _, ckpt = mg.jvp(lambda x: mg.checkpoint(lambda h: (h @ W).tanh(), x), (X,), (V,))
    np.testing.assert_array_equal(plain, ckpt)


def test_randomness_the_segment_did_not_draw_from_is_left_alone() -> None:
    from memograd.seeding import global_generator

    mg.manual_seed(7)
    before = global_generator().bit_generator.state
    x = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    mg.checkpoint(lambda h: h.tanh(), x).sum().backward()
    assert global_generator().bit_generator.state == before


def test_the_global_generator_is_replayed_and_left_where_a_plain_run_leaves_it() -> None:
    from memograd.seeding import global_generator

    results = []
    for use in (False, True):
        mg.manual_seed(11)
        drop = Dropout(0.5)  # draws from the global generator
        x = mg.Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        out = mg.checkpoint(drop, x) if use else drop(x)
        (out * out).sum().backward()
        results.append((x.grad, global_generator().bit_generator.state))
    assert np.array_equal(results[0][0], results[1][0]) and results[0][1] == results[1][1]


class Holder:
    """Keeps a Generator where checkpoint cannot see it: in a plain object's attribute."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)


def test_randomness_checkpoint_cannot_find_is_an_error_until_it_is_named() -> None:
    holder = Holder()

    def noisy(x: mg.Tensor) -> mg.Tensor:
        return x * (holder.rng.random(x.shape) > 0.5)

    x = mg.Tensor(np.ones((4, 5)), requires_grad=True)
    with pytest.raises(RecomputationError, match=r"rngs=\[\.\.\.\]") as info:
        mg.checkpoint(noisy, x).sum().backward()
    assert "\n" not in str(info.value)
    holder.rng = np.random.default_rng(0)
    x = mg.Tensor(np.ones((4, 5)), requires_grad=True)
    mg.checkpoint(noisy, x, rngs=[holder.rng]).sum().backward()
    expected = (np.random.default_rng(0).random((4, 5)) > 0.5).astype(float)
    np.testing.assert_array_equal(x.grad, expected)


def test_a_rerun_that_differs_is_refused_rather_than_differentiated() -> None:
    scale = {"value": 2.0}
    x = mg.Tensor(np.ones(3), requires_grad=True)
    out = mg.checkpoint(lambda h: h * scale["value"], x)
    scale["value"] = 3.0
    with pytest.raises(RecomputationError, match="different output than its forward pass"):
        out.sum().backward()


def test_a_parameter_changed_after_the_forward_pass_is_caught_by_its_version() -> None:
    layer = Linear(3, 3, rng=0)
    x = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    out = mg.checkpoint(layer, x)
    layer.weight.data -= 0.1  # an optimizer step between forward and backward
    with pytest.raises(mg.InPlaceModificationError, match="'checkpoint'"):
        out.sum().backward()


def test_the_graph_is_freed_after_backward_unless_retained() -> None:
    x = mg.Tensor(np.ones(3), requires_grad=True)
    out = mg.checkpoint(lambda h: h.exp(), x).sum()
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_allclose(x.grad, 2 * np.e * np.ones(3))
    with pytest.raises(RuntimeError, match="already differentiated"):
        out.backward()


def test_a_tensor_read_from_a_closure_is_differentiated_correctly() -> None:
    W = mg.Tensor(np.full((3, 3), 0.5), requires_grad=True)
    x = mg.Tensor(np.arange(3.0), requires_grad=True)
    h = (x @ W).tanh()  # computed outside, read inside without being passed
    (mg.checkpoint(lambda z: (z * h).sin(), x) + h).sum().backward()
    got = W.grad.copy(), x.grad.copy()
    W.grad = x.grad = None
    h = (x @ W).tanh()
    ((x * h).sin() + h).sum().backward()
    np.testing.assert_allclose(got[0], W.grad, rtol=1e-12)
    np.testing.assert_allclose(got[1], x.grad, rtol=1e-12)


def test_without_grad_or_inputs_needing_it_nothing_is_recorded() -> None:
    x = mg.Tensor(np.ones(3))
    with mg.no_grad():
        out = mg.checkpoint(lambda h: h + 1, mg.Tensor(np.ones(3), requires_grad=True))
    assert out.op == "" and not out.requires_grad
    constant = mg.checkpoint(lambda h: h * 2, x)  # nothing to differentiate: no node
    assert not constant.requires_grad and not constant.parents
    leaf = mg.Tensor(np.ones(3), requires_grad=True)
    assert mg.checkpoint(lambda h: h, leaf) is leaf


def test_bad_functions_are_one_clear_line() -> None:
    x = mg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="fn must return one Tensor, got tuple"):
        mg.checkpoint(lambda h: (h, h), x)
    with pytest.raises(TypeError, match="fn must be callable"):
        mg.checkpoint(3, x)
    with pytest.raises(TypeError, match="rngs must be numpy Generators"):
        mg.checkpoint(lambda h: h * 2, x, rngs=[3])


def test_what_is_not_supported_says_so_in_one_line() -> None:
    x = mg.Tensor(np.ones(3), requires_grad=True)
    out = mg.checkpoint(lambda h: h.sin(), x)
    with pytest.raises(TypeError, match="graph-valued tangents") as info:
        mg.engine.graph.forward_sweep([out], {x: mg.Tensor(np.ones(3), requires_grad=True)})
    assert "\n" not in str(info.value)
    W = mg.Tensor(np.ones((3, 3)), requires_grad=True)  # float64, the input float32
    x32 = mg.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="one dtype, got float32, float64"):
        mg.checkpoint(lambda h: h @ W, x32).sum().backward(create_graph=True)
