"""jvp, vjp, jacfwd, jacrev, hessian, hvp against torch.func (hvp: torch.autograd.functional);
forward-mode work in closed form; random graphs in both directions (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memograd as mg
from memograd.engine import graph

torch = pytest.importorskip("torch")
tf = pytest.importorskip("torch.func")


def f_mg(x, y):
    h = (x @ y).tanh()
    return (h * h).sum(axis=1).exp() + x.sum(axis=1) * 0.1


def f_torch(x, y):
    h = torch.tanh(x @ y)
    return torch.exp((h * h).sum(dim=1)) + x.sum(dim=1) * 0.1


def scalar_mg(x):
    return (x.sin() * x).sum() + (x * x * x).sum() * 0.2


def scalar_torch(x):
    return (torch.sin(x) * x).sum() + (x**3).sum() * 0.2


RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (3, 4))
Y = RNG.uniform(-1, 1, (4, 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jacfwd_and_jacrev_equal_torch_func(dtype):
    x, y = X.astype(dtype), Y.astype(dtype)
    tol = {"rtol": 1e-10} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-6}
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for argnums in (0, 1, (0, 1)):
        expected = tf.jacrev(f_torch, argnums=argnums)(tx, ty)
        for ours in (mg.jacrev(f_mg, argnums)(x, y), mg.jacfwd(f_mg, argnums)(x, y)):
            if isinstance(argnums, int):
                ours, expected_parts = (ours,), (expected,)
            else:
                expected_parts = expected
            for o, e in zip(ours, expected_parts, strict=True):
                np.testing.assert_allclose(o, e.numpy(), **tol)
                assert o.dtype == dtype


def test_passes_are_one_per_output_for_jacrev_and_one_per_input_for_jacfwd():
    jac, rev = mg.jacrev(f_mg, stats=True)(X, Y)
    jac2, fwd = mg.jacfwd(f_mg, stats=True)(X, Y)
    np.testing.assert_allclose(jac, jac2, rtol=1e-12)
    assert rev.passes == 3  # outputs: 3
    assert fwd.passes == X.size  # inputs: 12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hessian_and_hvp_equal_torch_func(dtype):
    x = RNG.uniform(-1, 1, 5).astype(dtype)
    v = RNG.uniform(-1, 1, 5).astype(dtype)
    tol = {"rtol": 1e-10} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    expected = tf.hessian(scalar_torch)(torch.from_numpy(x))
    np.testing.assert_allclose(mg.hessian(scalar_mg)(x), expected.numpy(), **tol)
    value, product = mg.hvp(scalar_mg, (x,), (v,))
    # torch's hvp is in torch.autograd.functional (torch.func has jvp-of-grad, the same thing)
    t_value, t_product = torch.autograd.functional.hvp(
        scalar_torch, torch.from_numpy(x), torch.from_numpy(v)
    )
    assert value == pytest.approx(t_value.item(), rel=1e-5)
    np.testing.assert_allclose(product, t_product.numpy(), **tol)


def test_vjp_and_jvp_equal_torch_func_and_vjp_fn_runs_again():
    out, vjp_fn = mg.vjp(f_mg, X, Y)
    t_out, t_vjp_fn = tf.vjp(f_torch, torch.from_numpy(X), torch.from_numpy(Y))
    np.testing.assert_allclose(out, t_out.numpy(), rtol=1e-12)
    for seed in (1, 2):
        ct = np.random.default_rng(seed).uniform(-1, 1, out.shape)
        for ours, theirs in zip(vjp_fn(ct), t_vjp_fn(torch.from_numpy(ct)), strict=True):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)
    tx, ty = RNG.uniform(-1, 1, X.shape), RNG.uniform(-1, 1, Y.shape)
    out, tangent = mg.jvp(f_mg, (X, Y), (tx, ty))
    t_out, t_tangent = tf.jvp(
        f_torch,
        (torch.from_numpy(X), torch.from_numpy(Y)),
        (torch.from_numpy(tx), torch.from_numpy(ty)),
    )
    np.testing.assert_allclose(tangent, t_tangent.numpy(), rtol=1e-12)


def test_value_forward_mode_is_dual_numbers():
    def f(x, y):
        return (x * y + x.tanh()) * y

    out, tangent = mg.jvp(f, (0.3, -1.2), (1.0, 0.0))
    tx = torch.tensor(0.3, dtype=torch.float64)
    ty = torch.tensor(-1.2, dtype=torch.float64)
    _, expected = tf.jvp(
        lambda a, b: (a * b + torch.tanh(a)) * b,
        (tx, ty),
        (torch.ones(()).double(), torch.zeros(()).double()),
    )
    assert tangent == pytest.approx(expected.item(), rel=1e-14)
    assert mg.grad(f)(0.3, -1.2) == pytest.approx(tangent, rel=1e-14)  # one input: same number
    assert mg.hessian(lambda x: x.sin() * x)(0.5) == pytest.approx(
        2 * np.cos(0.5) - 0.5 * np.sin(0.5), rel=1e-12
    )


def test_forward_mode_counts_one_jvp_per_edge_per_pass_on_a_chain_and_a_dense_net():
    # chain of n unary ops from one input: n edges, one JVP each per pass
    x = mg.Value(0.5)
    y = x
    for _ in range(10):
        y = y.tanh()
    report = mg.BackwardStats("forward")
    graph.forward_sweep([y], {x: 1.0}, report)
    assert (report.jvp_evaluations, report.passes) == (10, 1)
    # f: R^n -> R^m as a dense layer, x (n,) @ W (n, m): jacfwd takes n passes of m*... one
    # edge (the matmul node's x input) each: n JVP evaluations in all; jacrev takes m passes
    n, m = 6, 4
    W = RNG.uniform(-1, 1, (n, m))
    _, fwd = mg.jacfwd(lambda v: (v @ W).tanh(), stats=True)(np.ones(n))
    _, rev = mg.jacrev(lambda v: (v @ W).tanh(), stats=True)(np.ones(n))
    assert (fwd.passes, fwd.jvp_evaluations) == (n, 2 * n)  # matmul and tanh edges
    assert (rev.passes, rev.vjp_evaluations) == (m, 2 * m)


def test_create_graph_gradients_are_differentiable_tensors_and_retain_graph():
    x = mg.Tensor(np.array([0.4, -0.7]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(create_graph=True)
    assert isinstance(x.grad, mg.Tensor) and x.grad.requires_grad
    (x.grad * x.grad).sum().backward()  # a second pass through the first's graph
    t = torch.tensor([0.4, -0.7], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((torch.exp(t) * t).sum(), t, create_graph=True)
    (h,) = torch.autograd.grad((g * g).sum(), t)
    np.testing.assert_allclose(x.grad.data - g.detach().numpy(), h.numpy(), rtol=1e-12)


def test_create_graph_with_a_teaching_strategy_is_refused():
    x = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="create_graph=True runs with strategy='sweep' only"):
        (x * x).sum().backward(strategy="memo", create_graph=True)


OPS = [
    lambda a, b: a * b,
    lambda a, b: a + b,
    lambda a, b: a - b.tanh(),
    lambda a, b: (a * 0.5).sigmoid() * b,
    lambda a, b: (a * a + 1.0).log() + b,
    lambda a, b: a.sin() * b.cos(),
]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(OPS) - 1), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 2**31 - 1),
)
def test_random_graphs_agree_with_torch_func_in_both_directions(program, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, 3)

    def run(x, lib_ops):
        nodes = [x, x * 0.5]
        for op, i, j in program:
            nodes.append(lib_ops[op](nodes[i % len(nodes)], nodes[j % len(nodes)]))
        return nodes[-1].sum() if hasattr(nodes[-1], "sum") else nodes[-1]

    torch_ops = [
        lambda a, b: a * b,
        lambda a, b: a + b,
        lambda a, b: a - torch.tanh(b),
        lambda a, b: torch.sigmoid(a * 0.5) * b,
        lambda a, b: torch.log(a * a + 1.0) + b,
        lambda a, b: torch.sin(a) * torch.cos(b),
    ]
    ours = lambda x: run(x, OPS)  # noqa: E731
    theirs = lambda x: run(x, torch_ops)  # noqa: E731
    tx = torch.from_numpy(x0)
    np.testing.assert_allclose(
        mg.grad(ours)(x0), tf.grad(theirs)(tx).numpy(), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        mg.hessian(ours)(x0), tf.hessian(theirs)(tx).numpy(), rtol=1e-8, atol=1e-10
    )
    v = rng.uniform(-1, 1, 3)
    _, tangent = mg.jvp(ours, (x0,), (v,))
    _, expected = tf.jvp(theirs, (tx,), (torch.from_numpy(v),))
    assert float(tangent) == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)
