"""Value: micrograd's surface, exact local derivatives, micrograd parity, deep graphs, errors."""

from __future__ import annotations

import math
import random

import pytest

import memograd as mg
from memograd.engine import graph


def finite_difference(f, x: float, eps: float = 1e-6) -> float:
    return (f(x + eps) - f(x - eps)) / (2 * eps)


UNARY_CASES = [
    ("tanh", lambda v: v.tanh(), math.tanh, 0.7),
    ("relu_positive", lambda v: v.relu(), lambda x: max(x, 0.0), 0.7),
    ("relu_negative", lambda v: v.relu(), lambda x: max(x, 0.0), -0.7),
    ("exp", lambda v: v.exp(), math.exp, 0.3),
    ("log", lambda v: v.log(), math.log, 1.7),
    ("sigmoid", lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), -0.4),
    ("neg", lambda v: -v, lambda x: -x, 0.9),
    ("square", lambda v: v**2, lambda x: x**2, -1.3),
    ("cube_root", lambda v: v ** (1 / 3), lambda x: x ** (1 / 3), 2.0),
    ("reciprocal", lambda v: 1 / v, lambda x: 1 / x, 1.5),
    ("two_to_the", lambda v: 2**v, lambda x: 2**x, 0.5),
    ("rsub", lambda v: 3 - v, lambda x: 3 - x, 0.5),
    ("radd", lambda v: 3 + v, lambda x: 3 + x, 0.5),
    ("rmul", lambda v: 3 * v, lambda x: 3 * x, 0.5),
    ("div_number", lambda v: v / 4, lambda x: x / 4, 0.5),
]


@pytest.mark.parametrize(
    ("name", "op", "reference", "x"), UNARY_CASES, ids=[c[0] for c in UNARY_CASES]
)
def test_unary_value_and_gradient_match_math_and_finite_differences(name, op, reference, x):
    v = mg.Value(x)
    out = op(v)
    out.backward()
    assert out.data == pytest.approx(reference(x), rel=1e-12)
    assert v.grad == pytest.approx(finite_difference(reference, x), rel=1e-6, abs=1e-9)


BINARY_CASES = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a**b),
]


@pytest.mark.parametrize(("name", "op"), BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_gradients_match_finite_differences_for_both_inputs(name, op):
    x, y = 1.3, 0.8
    a, b = mg.Value(x), mg.Value(y)
    op(a, b).backward()
    assert a.grad == pytest.approx(finite_difference(lambda t: op(t, y), x), rel=1e-6)
    assert b.grad == pytest.approx(finite_difference(lambda t: op(x, t), y), rel=1e-6)


def test_node_used_twice_by_one_op_counts_both_edges_in_every_strategy():
    # b = a + a; c = b * b: dc/da = 2b * 2 = 8a. A backward that visits each parent once, or
    # that deduplicates parents, gets 4a or 2a.
    for strategy in graph.BACKWARD_STRATEGIES:
        a = mg.Value(3.0)
        b = a + a
        c = b * b
        c.backward(strategy)
        assert a.grad == 24.0, strategy
        assert b.grad == 12.0, strategy
        assert c.grad == 1.0, strategy


def test_gradients_accumulate_across_backward_calls_until_reset():
    a = mg.Value(2.0)
    y = a * a
    y.backward()
    y.backward()
    assert a.grad == 8.0
    a.grad = 0.0
    (a * 3).backward()
    assert a.grad == 3.0


def test_micrograd_readme_example_gives_micrograd_numbers():
    # The example of micrograd's README, with its printed results.
    a = mg.Value(-4.0)
    b = mg.Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)


def _random_expression(value_type, seed: int):
    """A random scalar expression graph with shared subexpressions, over any Value type.

    Only ops that micrograd 0.1.0 has (no tanh, no exp); ``x / (x * x + 1)`` keeps values bounded.
    """
    rng = random.Random(seed)
    leaves = [value_type(rng.uniform(-1.5, 1.5)) for _ in range(4)]
    nodes = list(leaves)
    for _ in range(25):
        kind = rng.choice(["add", "sub", "mul", "div", "pow", "squash", "relu", "rsqrt", "const"])
        a, b = rng.choice(nodes), rng.choice(nodes)
        if kind == "add":
            out = a + b
        elif kind == "sub":
            out = a - b
        elif kind == "mul":
            out = a * b
        elif kind == "div":
            out = a / (b * b + 1.0)
        elif kind == "pow":
            out = a ** rng.choice([2, 3])
        elif kind == "squash":
            out = a / (a * a + 1.0)
        elif kind == "relu":
            out = a.relu()
        elif kind == "rsqrt":
            out = (a * a + 1.0) ** -0.5
        else:
            out = rng.uniform(-2, 2) * a + rng.uniform(-1, 1)
        nodes.append(out / (out * out + 1.0) if abs(out.data) > 5 else out)
    total = nodes[-1]
    for node in nodes[-6:-1]:
        total = total + node
    return leaves, total


@pytest.mark.parametrize("seed", range(12))
def test_random_expressions_match_micrograd_values_and_gradients(seed):
    micrograd_engine = pytest.importorskip("micrograd.engine")
    ours, our_total = _random_expression(mg.Value, seed)
    theirs, their_total = _random_expression(micrograd_engine.Value, seed)
    our_total.backward()
    their_total.backward()
    assert our_total.data == pytest.approx(their_total.data, rel=1e-12, abs=1e-12)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.grad == pytest.approx(reference.grad, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_three_strategies_agree_on_random_scalar_expressions(seed):
    grads = {}
    for strategy in graph.BACKWARD_STRATEGIES:
        leaves, total = _random_expression(mg.Value, seed)
        total.backward(strategy, max_paths=10**7)
        grads[strategy] = [leaf.grad for leaf in leaves]
    for strategy in ("memo", "naive"):
        assert grads[strategy] == pytest.approx(grads["sweep"], rel=1e-9, abs=1e-12)


def test_million_node_chain_backpropagates_at_the_default_recursion_limit():
    x = mg.Value(0.5)
    y = x
    for _ in range(10**6):
        y = y * 1.0000001
    stats = y.backward(stats=True)
    assert stats.nodes_visited == 10**6 + 1
    assert x.grad == pytest.approx(1.0000001**1e6, rel=1e-9)


def test_no_grad_records_no_parents_and_backward_refuses():
    x = mg.Value(2.0)
    with mg.no_grad():
        y = x * x + 1
    assert y.parents == () and y.op == "" and y.data == 5.0
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()
    z = x * x  # grad mode is back on after the block
    assert z.parents == (x, x) and z.op == "*"


def test_detach_stops_the_gradient():
    x = mg.Value(3.0)
    y = x * x.detach()
    y.backward()
    assert x.grad == 3.0  # only the first factor carries a gradient


def test_parents_and_op_describe_the_graph_for_drawing():
    a, b = mg.Value(1.0), mg.Value(2.0)
    c = a * b
    d = c.tanh()
    e = d + 1
    assert (c.op, c.parents) == ("*", (a, b))
    assert (d.op, d.parents) == ("tanh", (c,))
    assert (e.op, e.parents) == ("+", (d,))
    assert (a.op, a.parents) == ("", ())


def test_unsupported_operands_and_bad_domains_give_clear_errors():
    with pytest.raises(TypeError, match="unsupported operand type 'str'"):
        mg.Value(1.0) + "2"
    with pytest.raises(TypeError, match="unsupported operand type 'list'"):
        mg.Value([1.0])
    with pytest.raises(ValueError, match="log: expected a positive number, got -1.0"):
        mg.Value(-1.0).log()
    with pytest.raises(ZeroDivisionError, match="divisor"):
        mg.Value(1.0) / mg.Value(0.0)
    with pytest.raises(ValueError, match="strategy must be one of sweep, memo, naive; got 'fast'"):
        (mg.Value(1.0) * 2).backward("fast")


def test_sigmoid_and_exp_stay_finite_at_extreme_inputs():
    assert mg.Value(-1000.0).sigmoid().data == 0.0
    assert mg.Value(1000.0).sigmoid().data == 1.0
    assert mg.Value(1000.0).exp().data == math.inf
