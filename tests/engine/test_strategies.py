"""The three backward strategies: same gradients, and the work each does against closed forms."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memograd as mg
from memograd.engine import count_edges, graph, paths_to_nodes

torch = pytest.importorskip("torch")


# --------------------------------------------------------------------------------------------
# Work counts on neuron-level MLPs (Values), against closed forms
# --------------------------------------------------------------------------------------------


def value_mlp(sizes: list[int], seed: int = 0) -> mg.Value:
    """The notes' network, neuron by neuron: O_kj = tanh(b_kj + sum_i W^k_ij O_(k-1)i).

    Inputs are plain floats (constants, not nodes); the last layer has no activation and one
    unit, whose output is the loss node. Each neuron's sum is built as micrograd builds it:
    ``sum(w * x for ..., b)``, a chain of additions starting from the bias.
    """
    rng = random.Random(seed)
    layer = [rng.uniform(-1, 1) for _ in range(sizes[0])]
    for k in range(1, len(sizes)):
        last = k == len(sizes) - 1
        outputs = []
        for _ in range(sizes[k]):
            act = sum((mg.Value(rng.uniform(-1, 1)) * o for o in layer), mg.Value(0.1))
            outputs.append(act if last else act.tanh())
        layer = outputs
    (out,) = layer
    return out


def closed_form_counts(sizes: list[int]) -> dict[str, int]:
    """Edges, nodes and naive path edges of ``value_mlp(sizes)``, by counting the structure.

    A neuron of layer k with fan-in n has n weight leaves, n products, n additions (the chain
    from the bias), a bias leaf and, except in the last layer, a tanh node: 3n + 1 (+1) nodes.
    Its edges: each product has 1 (first layer: the input is a constant) or 2, each addition 2,
    the tanh 1. Every node inside neuron j of layer k lies on exactly P_k paths from the loss,
    where P_k = product of the widths of the layers strictly between k and the output (the
    notes' w^(d-1) blow-up), because the inside of a neuron is a chain.
    """
    depth = len(sizes) - 1
    edges = nodes = naive_vjps = 0
    for k in range(1, depth + 1):
        n_in, width, last = sizes[k - 1], sizes[k], k == depth
        per_neuron_nodes = 3 * n_in + 1 + (0 if last else 1)
        per_neuron_edges = n_in * (1 if k == 1 else 2) + 2 * n_in + (0 if last else 1)
        paths = math.prod(sizes[k + 1 : depth])
        edges += width * per_neuron_edges
        nodes += width * per_neuron_nodes
        naive_vjps += width * per_neuron_nodes * paths
    naive_vjps -= 1  # the loss node itself is reached by the empty path, no VJP
    return {"edges": edges, "nodes": nodes, "naive_vjps": naive_vjps}


MLP_SIZES = [[2, 1], [2, 2, 1], [2, 2, 2, 1], [3, 4, 4, 1], [2, 3, 3, 3, 1]]


@pytest.mark.parametrize("sizes", MLP_SIZES, ids=lambda s: "-".join(map(str, s)))
def test_work_counts_match_closed_forms_on_neuron_level_mlps(sizes):
    expected = closed_form_counts(sizes)
    runs = {s: value_mlp(sizes).backward(s, stats=True) for s in graph.BACKWARD_STRATEGIES}
    for strategy in ("sweep", "memo"):
        stats = runs[strategy]
        assert stats.vjp_evaluations == expected["edges"], strategy
        assert stats.nodes_visited == expected["nodes"], strategy
        assert stats.accumulations == expected["edges"] - (expected["nodes"] - 1), strategy
    naive = runs["naive"]
    assert naive.vjp_evaluations == naive.paths == expected["naive_vjps"]
    assert naive.nodes_visited == expected["naive_vjps"] + 1
    # Every node keeps its gradient, so naive sums P(n) paths into node n: sum(P(n) - 1).
    assert naive.accumulations == expected["naive_vjps"] + 1 - expected["nodes"]
    root = value_mlp(sizes)
    assert count_edges(root) == expected["edges"]
    assert sum(paths_to_nodes(root).values()) - 1 == expected["naive_vjps"]


def test_naive_work_grows_like_width_to_the_depth_while_sweep_stays_linear():
    counts = [closed_form_counts([2] + [3] * d + [1]) for d in range(1, 6)]
    naive = [c["naive_vjps"] for c in counts]
    edges = [c["edges"] for c in counts]
    assert all(b / a > 2.5 for a, b in zip(naive, naive[1:], strict=False))  # ~x3 per layer
    assert all(b - a == edges[2] - edges[1] for a, b in zip(edges[1:], edges[2:], strict=False))


def test_naive_refuses_over_budget_naming_the_exact_path_count():
    root = value_mlp([2, 3, 3, 3, 1])
    paths = sum(paths_to_nodes(root).values()) - 1
    with pytest.raises(ValueError, match=f"would multiply out {paths:,} paths.*max_paths=100"):
        root.backward("naive", max_paths=100)
    # nothing was half-done: the sweep that follows gives the normal result
    grads_before = root.grad
    root.backward()
    assert root.grad == grads_before + 1.0


def test_all_strategies_give_identical_gradients_on_a_value_mlp():
    grads = {}
    for strategy in graph.BACKWARD_STRATEGIES:
        root = value_mlp([2, 3, 3, 1], seed=4)
        leaves = [n for n in graph.reverse_topological_order(root) if not n.parents]
        root.backward(strategy)
        grads[strategy] = [leaf.grad for leaf in leaves]
    assert grads["memo"] == pytest.approx(grads["sweep"], rel=1e-12)
    assert grads["naive"] == pytest.approx(grads["sweep"], rel=1e-12)


def test_tensor_mlp_counts_one_vjp_per_edge():
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.standard_normal((8, 4)))
    layers = [(4, 5), (5, 5), (5, 3)]
    params = [
        (
            mg.Tensor(rng.standard_normal(s), requires_grad=True),
            mg.Tensor(np.zeros(s[1]), requires_grad=True),
        )
        for s in layers
    ]
    h = x
    for k, (w, b) in enumerate(params):
        h = mg.linear(h, w, b)
        if k < len(params) - 1:
            h = h.relu()
    loss = mg.cross_entropy(h, np.array([0, 1, 2, 0, 1, 2, 0, 1]))
    # edges: first linear 2 (x is a constant), later linears 3, two relus, cross_entropy 1
    for strategy in graph.BACKWARD_STRATEGIES:
        for w, b in params:
            w.grad = b.grad = None
        stats = loss.backward(strategy=strategy, stats=True, retain_graph=True)
        assert (stats.vjp_evaluations, stats.accumulations) == (2 + 3 + 3 + 2 + 1, 0), strategy
        assert stats.nodes_visited == 6 + 2 + 3 + 1, strategy  # 6 params, 2 relu, 3 linear, 1


def test_memo_handles_a_hundred_thousand_op_tensor_chain():
    a = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    z = a
    for _ in range(10**5):
        z = z * 1.0
    stats = z.sum().backward(strategy="memo", stats=True)
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    assert stats.vjp_evaluations == 10**5 + 1


# --------------------------------------------------------------------------------------------
# Random graphs with shared subexpressions: the strategies agree with each other and PyTorch
# --------------------------------------------------------------------------------------------

OPS = ["add", "sub", "mul", "tanh", "sigmoid", "square", "scale", "sum_bcast"]


def build(program: list[tuple[str, int, int]], leaves: list, lib: str):
    """Run a little program over a growing list of nodes: (op, i, j) reads nodes[i], nodes[j].

    Indices are taken modulo the list length, so many ops share inputs: the notes' "one node
    feeding several others".
    """
    nodes = list(leaves)
    for op, i, j in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if op == "add":
            out = a + b
        elif op == "sub":
            out = a - b
        elif op == "mul":
            out = a * b
        elif op == "tanh":
            out = a.tanh()
        elif op == "sigmoid":
            out = a.sigmoid()
        elif op == "square":
            out = a * a
        elif op == "scale":
            out = 0.5 * a + 0.25
        else:  # a row-sum broadcast back: (3, 4) + (3, 1)
            out = a + (b.sum(axis=1, keepdims=True) if lib == "mg" else b.sum(dim=1, keepdim=True))
        nodes.append(out.tanh())  # keeps magnitudes bounded whatever the program
    total = nodes[-1]
    for node in nodes[len(leaves) : -1]:
        total = total + node
    return total.sum()


programs = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=12
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs, seed=st.integers(0, 2**16))
def test_strategies_agree_with_each_other_and_with_pytorch_on_random_graphs(program, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, size=(3, 4)) for _ in range(3)]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    build(program, reference, "torch").backward()
    for strategy in graph.BACKWARD_STRATEGIES:
        leaves = [mg.Tensor(a, requires_grad=True) for a in arrays]
        loss = build(program, leaves, "mg")
        loss.backward(strategy=strategy, max_paths=10**5)
        for mine, theirs in zip(leaves, reference, strict=True):
            if theirs.grad is None:  # a leaf the program never read gets no gradient
                assert mine.grad is None
            else:
                np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(program=programs)
def test_sweep_and_memo_count_each_edge_once_and_naive_each_path_edge(program):
    leaves = [mg.Tensor(np.full((3, 4), 0.3 * k), requires_grad=True) for k in range(3)]
    runs = {}
    for strategy in graph.BACKWARD_STRATEGIES:
        loss = build(program, leaves, "mg")
        runs[strategy] = loss.backward(strategy=strategy, stats=True, max_paths=10**6)
    edges = count_edges(loss)
    assert runs["sweep"].vjp_evaluations == runs["memo"].vjp_evaluations == edges
    assert runs["naive"].vjp_evaluations == sum(paths_to_nodes(loss).values()) - 1
    assert runs["naive"].vjp_evaluations >= edges


def test_both_node_classes_satisfy_the_node_contract():
    from memograd.engine.graph import Node

    x = mg.Tensor(np.ones(2), requires_grad=True)
    v = mg.Value(1.0)
    for node in (x, (x * x).sum(), v, v * v + 1.0):
        assert isinstance(node, Node)
