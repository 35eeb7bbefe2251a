"""Every row of the derivative table, every column, against PyTorch and finite differences.

The test walks ``ops.TABLE`` (and the n-ary rows ``concat``/``stack``): each row must have a case
below, so adding an op is its row plus its line here. For each case, in float64 and float32:

* the forward equals torch's;
* the VJP (a backward pass from a random cotangent) equals torch's ``autograd.grad``, and in
  float64 a central finite difference;
* the JVP (a forward-mode sweep from random tangents) equals ``torch.func.jvp``;
* the second derivative (``backward(create_graph=True)``, then a second pass through the
  gradient) equals torch's double backward;
* for elementwise rows, the scalar ``Value`` method's value, first and second derivative equal
  torch's on scalars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import memograd as mg
from memograd.engine import graph, ops

torch = pytest.importorskip("torch")
torch_func = pytest.importorskip("torch.func")


@dataclass
class Case:
    """How to call one row: input shapes and domains, and the same function in both libraries."""

    shapes: list[tuple[int, ...]]
    ours: Callable[..., Any]
    theirs: Callable[..., Any]
    low: float = -2.0
    high: float = 2.0
    # inputs that are constants (integer targets, masks): (array maker) by position
    constants: dict[int, Callable[[np.random.Generator], np.ndarray]] = field(default_factory=dict)
    second_order: bool = True  # False where the op is piecewise linear (second derivative 0)
    fd_eps: float = 1e-6
    fd_atol: float = 1e-6


def _ce(reduction):
    targets = np.array([0, 2, 1])
    return Case(
        [(3, 4)],
        lambda x: mg.cross_entropy(x, targets, reduction),
        lambda x: torch.nn.functional.cross_entropy(
            x, torch.from_numpy(targets), reduction=reduction
        ),
    )


MASK = np.array([[True, False, True], [False, True, True]])

CASES: dict[str, list[Case]] = {
    "add": [Case([(2, 3), (3,)], lambda a, b: a + b, lambda a, b: a + b)],
    "sub": [Case([(2, 3), (2, 1)], lambda a, b: a - b, lambda a, b: a - b)],
    "mul": [Case([(2, 3), (2, 3)], lambda a, b: a * b, lambda a, b: a * b)],
    "div": [Case([(2, 3), (3,)], lambda a, b: a / b, lambda a, b: a / b, low=0.5, high=2.0)],
    "pow": [Case([(2, 3), (2, 3)], lambda a, b: a**b, lambda a, b: a**b, low=0.5, high=2.0)],
    "neg": [Case([(2, 3)], lambda a: -a, lambda a: -a)],
    "exp": [Case([(2, 3)], lambda a: a.exp(), torch.exp)],
    "log": [Case([(2, 3)], lambda a: a.log(), torch.log, low=0.5, high=3.0)],
    "tanh": [Case([(2, 3)], lambda a: a.tanh(), torch.tanh)],
    "relu": [Case([(2, 3)], lambda a: a.relu(), torch.relu, second_order=False)],
    "leaky_relu": [
        Case(
            [(2, 3)],
            lambda a: a.leaky_relu(0.1),
            lambda a: torch.nn.functional.leaky_relu(a, 0.1),
            second_order=False,
        )
    ],
    "sigmoid": [Case([(2, 3)], lambda a: a.sigmoid(), torch.sigmoid)],
    "gelu": [
        Case(
            [(2, 3)],
            lambda a: a.gelu(),
            lambda a: torch.nn.functional.gelu(a, approximate="tanh"),
        )
    ],
    "sqrt": [Case([(2, 3)], lambda a: a.sqrt(), torch.sqrt, low=0.5, high=3.0)],
    "abs": [Case([(2, 3)], lambda a: a.abs(), torch.abs, second_order=False)],
    "sin": [Case([(2, 3)], lambda a: a.sin(), torch.sin)],
    "cos": [Case([(2, 3)], lambda a: a.cos(), torch.cos)],
    "rsqrt": [Case([(2, 3)], lambda a: a.rsqrt(), torch.rsqrt, low=0.5, high=3.0)],
    "log1p": [Case([(2, 3)], lambda a: a.log1p(), torch.log1p, low=-0.5, high=2.0)],
    "expm1": [Case([(2, 3)], lambda a: a.expm1(), torch.expm1)],
    "sign": [Case([(2, 3)], lambda a: a.sign() * a, lambda a: a.sign() * a, second_order=False)],
    "maximum": [Case([(2, 3), (3,)], mg.maximum, torch.maximum, second_order=False)],
    "minimum": [Case([(2, 3), (2, 1)], mg.minimum, torch.minimum, second_order=False)],
    "clone": [Case([(2, 3)], lambda a: a.clone() * a, lambda a: a.clone() * a)],
    # float32 -> float64 -> float32, float64 -> float32 -> float64: the cast both ways, in the
    # input's dtype at the end (finite differences see float32's rounding: a looser check)
    "cast": [
        Case(
            [(2, 3)],
            lambda a: (a.double() if a.dtype == mg.float32 else a.float()).pow(2).to(a.dtype),
            lambda a: (a.double() if a.dtype == torch.float32 else a.float()).pow(2).to(a.dtype),
            fd_eps=1e-2,
            fd_atol=1e-3,
        )
    ],
    "prod": [
        Case([(2, 3)], lambda a: a.prod(dim=1), lambda a: a.prod(1)),
        Case(
            [(2, 3, 2)],
            lambda a: a.prod(axis=(0, 2), keepdims=True),
            lambda a: a.prod(2, True).prod(0, True),
        ),
        Case([(4,)], lambda a: a.prod(), lambda a: a.prod()),
    ],
    "norm": [
        Case([(2, 3)], lambda a: a.norm(dim=1), lambda a: a.norm(dim=1)),
        Case([(2, 3)], lambda a: a.norm(p=3), lambda a: a.norm(p=3)),
        Case(
            [(2, 3)],
            lambda a: a.norm(1, dim=0, keepdim=True),
            lambda a: a.norm(1, dim=0, keepdim=True),
            second_order=False,
        ),
    ],
    "clip": [
        Case(
            [(2, 3)],
            lambda a: a.clip(-0.5, 0.7),
            lambda a: a.clamp(-0.5, 0.7),
            second_order=False,
        )
    ],
    "matmul": [
        Case([(2, 3), (3, 4)], lambda a, b: a @ b, lambda a, b: a @ b),
        Case([(3,), (3, 4)], lambda a, b: a @ b, lambda a, b: a @ b),
        Case([(2, 2, 3), (3,)], lambda a, b: a @ b, lambda a, b: a @ b),
    ],
    "sum": [Case([(2, 3)], lambda a: a.sum(axis=1), lambda a: a.sum(dim=1))],
    "mean": [
        Case([(2, 3)], lambda a: a.mean(axis=0, keepdims=True), lambda a: a.mean(0, keepdim=True))
    ],
    "max": [Case([(2, 3)], lambda a: a.max(axis=1), lambda a: a.amax(dim=1), second_order=False)],
    "min": [Case([(2, 3)], lambda a: a.min(), lambda a: a.amin(), second_order=False)],
    "logsumexp": [Case([(2, 3)], lambda a: a.logsumexp(axis=1), lambda a: a.logsumexp(1))],
    "softmax": [Case([(2, 3)], lambda a: a.softmax(1), lambda a: a.softmax(1))],
    "log_softmax": [Case([(2, 3)], lambda a: a.log_softmax(0), lambda a: a.log_softmax(0))],
    "reshape": [
        Case([(2, 3)], lambda a: a.reshape(3, 2) * a.reshape(3, 2), lambda a: a.reshape(3, 2) ** 2)
    ],  # noqa: E501
    "transpose": [Case([(2, 3)], lambda a: a.T * a.T, lambda a: a.T**2)],
    "broadcast_to": [
        Case([(3,)], lambda a: a.broadcast_to((2, 3)) ** 2, lambda a: a.expand(2, 3) ** 2)
    ],
    "getitem": [
        Case([(3, 4)], lambda a: a[1:, ::2] ** 2, lambda a: a[1:, ::2] ** 2),
        Case([(4,)], lambda a: a[[0, 2, 2]] ** 2, lambda a: a[[0, 2, 2]] ** 2),
    ],
    "scatter": [
        # scatter is getitem's VJP: reached through a second derivative of indexing
        Case([(4,)], lambda a: (a[[1, 1, 3]] ** 3).sum(), lambda a: (a[[1, 1, 3]] ** 3).sum())
    ],
    "where": [
        Case(
            [(2, 3), (2, 3)],
            lambda a, b: mg.where(MASK, a * a, b * b),
            lambda a, b: torch.where(torch.from_numpy(MASK), a * a, b * b),
        )
    ],
    "linear": [
        Case(
            [(2, 3), (3, 4), (4,)],
            mg.linear,
            lambda x, w, b: torch.nn.functional.linear(x, w.T, b),
        )
    ],
    "cross_entropy": [_ce("mean"), _ce("sum"), _ce("none")],
    "concat": [
        Case(
            [(2, 3), (2, 2)],
            lambda a, b: mg.concat([a * a, b], axis=1),
            lambda a, b: torch.cat([a * a, b], dim=1),
        )
    ],
    "stack": [
        Case(
            [(2, 3), (2, 3)],
            lambda a, b: mg.stack([a, b * b], axis=1),
            lambda a, b: torch.stack([a, b * b], dim=1),
        )
    ],
}

ROW_NAMES = sorted({row.name for row in ops.TABLE} | {"concat", "stack"})
ALL_CASES = [(name, i) for name in ROW_NAMES for i in range(len(CASES.get(name, [None])))]


def test_every_row_has_a_case():
    missing = [name for name in ROW_NAMES if name not in CASES]
    assert not missing, f"add a Case for the new row(s) {missing} to CASES"


def make_inputs(case: Case, dtype: Any, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # away from the kinks of relu/abs/clip/max so that finite differences are meaningful
    arrays = []
    for shape in case.shapes:
        values = rng.uniform(case.low, case.high, size=shape)
        values = np.where(np.abs(values) < 0.05, values + 0.1, values)
        arrays.append(values.astype(dtype))
    return arrays


def tolerance(dtype):
    return {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-4, "atol": 1e-5}


def ours_and_theirs(case: Case, arrays: list[np.ndarray]):
    leaves = [mg.Tensor(a, requires_grad=True) for a in arrays]
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    return leaves, case.ours(*leaves), tensors, case.theirs(*tensors)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "index"), ALL_CASES)
def test_forward_and_vjp_equal_torch(name, index, dtype):
    case = CASES[name][index]
    arrays = make_inputs(case, dtype)
    leaves, out, tensors, expected = ours_and_theirs(case, arrays)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance(dtype))
    assert out.data.dtype == dtype
    cotangent = np.random.default_rng(1).uniform(-1, 1, size=out.shape).astype(dtype)
    out.backward(cotangent)
    grads = torch.autograd.grad(expected, tensors, torch.from_numpy(cotangent))
    for leaf, g in zip(leaves, grads, strict=True):
        np.testing.assert_allclose(leaf.grad, g.numpy(), **tolerance(dtype))


@pytest.mark.parametrize(("name", "index"), ALL_CASES)
def test_vjp_equals_finite_differences(name, index):
    case = CASES[name][index]
    arrays = make_inputs(case, np.float64)
    assert mg.gradcheck(case.ours, *arrays, eps=case.fd_eps, atol=case.fd_atol, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "index"), ALL_CASES)
def test_jvp_equals_torch_func_jvp(name, index, dtype):
    case = CASES[name][index]
    arrays = make_inputs(case, dtype)
    rng = np.random.default_rng(2)
    tangents = [rng.uniform(-1, 1, size=a.shape).astype(dtype) for a in arrays]
    out, tangent = mg.jvp(case.ours, arrays, tangents)
    expected_out, expected_tangent = torch_func.jvp(
        case.theirs,
        tuple(torch.from_numpy(a) for a in arrays),
        tuple(torch.from_numpy(t) for t in tangents),
    )
    np.testing.assert_allclose(out, expected_out.numpy(), **tolerance(dtype))
    np.testing.assert_allclose(tangent, expected_tangent.numpy(), **tolerance(dtype))


@pytest.mark.parametrize(("name", "index"), ALL_CASES)
def test_second_derivative_equals_torch_double_backward(name, index):
    case = CASES[name][index]
    arrays = make_inputs(case, np.float64)
    leaves, out, tensors, expected = ours_and_theirs(case, arrays)
    rng = np.random.default_rng(3)
    cotangent = rng.uniform(-1, 1, size=out.shape)
    directions = [rng.uniform(-1, 1, size=a.shape) for a in arrays]
    # first pass with a graph of its own, then <grad, direction> differentiated again
    firsts = graph.gradients(out, mg.from_numpy(cotangent), leaves, create_graph=True)
    total = None
    for g, d in zip(firsts, directions, strict=True):
        if g is None or not g.requires_grad:
            continue
        term = (g * d).sum()
        total = term if total is None else total + term
    theirs_first = torch.autograd.grad(
        expected, tensors, torch.from_numpy(cotangent), create_graph=True
    )
    theirs_total = sum((g * torch.from_numpy(d)).sum() for g, d in zip(theirs_first, directions))
    if not theirs_total.requires_grad:
        assert total is None or not case.second_order
        return
    theirs_second = torch.autograd.grad(theirs_total, tensors, allow_unused=True)
    if total is None:
        for g in theirs_second:
            assert g is None or np.allclose(g.numpy(force=True), 0.0)
        return
    ours_second = graph.gradients(total, np.ones(()), leaves)
    for ours, theirs, leaf in zip(ours_second, theirs_second, leaves, strict=True):
        ours = np.zeros(leaf.shape) if ours is None else ours
        theirs = np.zeros(leaf.shape) if theirs is None else theirs.numpy(force=True)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


ELEMENTWISE = sorted(row.name for row in ops.TABLE if row.partials is not None)
VALUE_METHOD = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "neg": lambda a: -a,
    "abs": abs,
    "sign": lambda a: a.sign(),
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
}


def value_function(name: str) -> Callable[..., Any]:
    if name in VALUE_METHOD:
        return VALUE_METHOD[name]
    if name == "leaky_relu":
        return lambda a: a.leaky_relu(0.1)
    return lambda a: getattr(a, name)()


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("point", [0.7, 1.3])
def test_value_ops_equal_torch_to_second_order(name, point):
    case = CASES[name][0]
    args = [point, 1.0 + point / 2][: len(case.shapes)]
    theirs = VALUE_METHOD.get(name, case.theirs)  # Python's operators work on torch scalars too
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
    expected = theirs(*xs)
    firsts = torch.autograd.grad(expected, xs, create_graph=True)
    values = [mg.Value(a) for a in args]
    out = value_function(name)(*values)
    assert out.data == pytest.approx(expected.item(), rel=1e-12)
    out.backward(create_graph=True)
    for v, g in zip(values, firsts, strict=True):
        assert float(v.grad) == pytest.approx(g.item(), rel=1e-12, abs=1e-14)
        if g.requires_grad:
            seconds = torch.autograd.grad(g, xs, allow_unused=True, retain_graph=True)
        else:
            seconds = [None] * len(xs)
        if isinstance(v.grad, mg.Value) and v.grad.requires_grad:
            ours = graph.gradients(v.grad, 1.0, values)
        else:
            ours = [None] * len(values)
        for o, s_ in zip(ours, seconds, strict=True):
            assert (0.0 if o is None else float(o)) == pytest.approx(
                0.0 if s_ is None else s_.item(), rel=1e-10, abs=1e-12
            )


def test_third_derivatives_nest():
    f = lambda x: (x * x * x).sin()  # noqa: E731
    x = 0.8
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = torch.sin(t**3)
    (d1,) = torch.autograd.grad(y, t, create_graph=True)
    (d2,) = torch.autograd.grad(d1, t, create_graph=True)
    (d3,) = torch.autograd.grad(d2, t)
    assert mg.grad(f)(x) == pytest.approx(d1.item(), rel=1e-12)
    assert mg.grad(mg.grad(f))(x) == pytest.approx(d2.item(), rel=1e-12)
    assert mg.grad(mg.grad(mg.grad(f)))(x) == pytest.approx(d3.item(), rel=1e-12)
    xs = np.array([0.8, -0.3])
    g3 = mg.grad(
        lambda w: mg.grad(lambda u: mg.grad(lambda v: (v * v * v).sin().sum())(u).sum())(w).sum()
    )
    tt = torch.tensor(xs, requires_grad=True)
    (e1,) = torch.autograd.grad(torch.sin(tt**3).sum(), tt, create_graph=True)
    (e2,) = torch.autograd.grad(e1.sum(), tt, create_graph=True)
    (e3,) = torch.autograd.grad(e2.sum(), tt)
    np.testing.assert_allclose(g3(xs), e3.numpy(), rtol=1e-12)
