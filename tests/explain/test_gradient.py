"""Naive, memoized, engine, finite-difference and PyTorch gradients agree; work is counted."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from memograd.explain import (
    build_network,
    engine_gradient,
    finite_difference,
    iter_paths,
    memo_multiplication_count,
    memo_table_gradient,
    naive_gradient,
    naive_multiplication_count,
    parse_param,
)
from memograd.explain.arch import ParamRef

_TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "identity": lambda z: z,
}


def _torch_gradients(network):
    """PyTorch autograd on the same float64 weights: (weight grads, bias grads, loss)."""
    weights = [torch.tensor(w, requires_grad=True) for w in network.weights]
    biases = [torch.tensor(b, requires_grad=True) for b in network.biases]
    out = torch.tensor(network.x)
    for w, b, name in zip(weights, biases, network.activations, strict=True):
        out = _TORCH_ACTIVATIONS[name](out @ w + b)
    loss = ((out - torch.tensor(network.target)) ** 2).sum()
    if network.loss == "half_squared":
        loss = 0.5 * loss
    loss.backward()
    return [w.grad.numpy() for w in weights], [b.grad.numpy() for b in biases], loss.item()


def _all_params(arch):
    for k in range(1, arch.depth + 1):
        for j in range(1, arch.sizes[k] + 1):
            yield ParamRef("b", k, j)
            for i in range(1, arch.sizes[k - 1] + 1):
                yield ParamRef("W", k, j, source=i)


def test_notes_case_naive_memo_finite_difference_and_torch_agree():
    network = build_network("2-2-2-1", seed=0)
    ref = parse_param("W1_11", network.arch)
    naive = naive_gradient(network, ref)
    memo = memo_table_gradient(network, ref)
    engine = engine_gradient(network, ref)
    torch_weights, _, torch_loss = _torch_gradients(network)
    oracle = float(torch_weights[0][0, 0])
    assert network.forward.loss == pytest.approx(torch_loss, rel=1e-14)
    assert naive.gradient == pytest.approx(oracle, rel=1e-12)
    assert memo.gradient == pytest.approx(oracle, rel=1e-12)
    assert engine.gradient == pytest.approx(oracle, rel=1e-12)
    assert finite_difference(network, ref) == pytest.approx(oracle, rel=1e-7)
    paths = list(iter_paths(network, ref))
    assert naive.gradient == pytest.approx(sum(p.product for p in paths), rel=1e-15)
    # Two paths of four factors: 2 × 3 multiplications naively; memoized, the adjoints of
    # O_21 and O_22 (1 each), of O_11 (2), then the weight's own factor (1).
    assert (naive.multiplications, naive.paths, naive.additions) == (6, 2, 1)
    assert memo.multiplications == 5
    assert set(memo.adjoints) == {"Ŷ", "O_21", "O_22", "O_11"}


@pytest.mark.parametrize(
    ("arch", "activation", "output_activation", "loss"),
    [
        ("2-2-2-1", "sigmoid", "identity", "squared"),
        ("2-2-2-1", "sigmoid", "sigmoid", "half_squared"),
        ("3-4-3-2", "tanh", "identity", "squared"),
        ("3-5-4-1", "relu", "identity", "squared"),
        ("2-3-3-3-2", ["sigmoid", "tanh", "relu"], "tanh", "half_squared"),
    ],
)
def test_every_parameter_matches_torch_by_all_methods(arch, activation, output_activation, loss):
    network = build_network(
        arch, activation=activation, output_activation=output_activation, loss=loss, seed=7
    )
    torch_weights, torch_biases, _ = _torch_gradients(network)
    for ref in _all_params(network.arch):
        if ref.kind == "W":
            oracle = float(torch_weights[ref.layer - 1][ref.source - 1, ref.unit - 1])
        else:
            oracle = float(torch_biases[ref.layer - 1][ref.unit - 1])
        naive = naive_gradient(network, ref)
        memo = memo_table_gradient(network, ref)
        assert naive.gradient == pytest.approx(oracle, rel=1e-10, abs=1e-14), ref
        assert memo.gradient == pytest.approx(oracle, rel=1e-10, abs=1e-14), ref
        assert naive.multiplications == naive_multiplication_count(network, ref)
        assert memo.multiplications == memo_multiplication_count(network, ref)


@pytest.mark.parametrize("strategy", ["sweep", "memo", "naive"])
def test_engine_strategies_give_the_explainers_gradient(strategy):
    network = build_network("3-3-3-1", activation="tanh", seed=2)
    for ref in [parse_param(name, network.arch) for name in ("W1_23", "b2_3", "W3_21", "O1_2")]:
        engine = engine_gradient(network, ref, strategy=strategy)
        assert engine.gradient == pytest.approx(
            memo_table_gradient(network, ref).gradient, rel=1e-12
        )
        assert engine.strategy == strategy
        assert engine.stats["vjp_evaluations"] > 0


def test_unit_outputs_are_checked_against_finite_differences():
    network = build_network("2-3-3-2", seed=5)
    for name in ("O1_1", "O2_3", "O3_2"):
        ref = parse_param(name, network.arch)
        memo = memo_table_gradient(network, ref)
        assert naive_gradient(network, ref).gradient == pytest.approx(memo.gradient, rel=1e-12)
        assert finite_difference(network, ref) == pytest.approx(memo.gradient, rel=1e-6)
    output = parse_param("O3_2", network.arch)
    residual = network.forward.outputs[3][1] - network.target[1]
    assert memo_table_gradient(network, output).gradient == pytest.approx(2 * residual)
    assert naive_multiplication_count(network, output) == 0


def test_naive_multiplications_grow_like_paths_memo_like_edges():
    network = build_network([3] * 7 + [1], seed=1)
    ref = parse_param("W1_11", network.arch)
    naive, memo = naive_gradient(network, ref), memo_table_gradient(network, ref)
    # 3^5 paths of 8 factors each. Memo: adjoints of layers 2..5 (3x3 edges each), of layer 6
    # (3 edges into Ŷ), of O_11 (3 edges), then the weight's own factor.
    assert naive.paths == 3**5 and naive.multiplications == 3**5 * 7
    assert memo.multiplications == 4 * 9 + 3 + 3 + 1
    assert naive.gradient == pytest.approx(memo.gradient, rel=1e-10)


def test_naive_refuses_above_its_budget_naming_the_count():
    network = build_network([4] * 6 + [1], seed=0)
    ref = parse_param("W1_11", network.arch)
    with pytest.raises(ValueError, match="256 paths, more than max_paths=100"):
        naive_gradient(network, ref, max_paths=100)


def test_given_weights_input_and_target_are_used_as_is():
    weights = [
        np.array([[0.1, 0.2], [0.3, 0.4]]),
        np.array([[0.5, -0.5], [1.0, 0.0]]),
        np.array([[2.0], [-1.0]]),
    ]
    biases = [np.zeros(2), np.zeros(2), np.zeros(1)]
    network = build_network("2-2-2-1", weights=weights, biases=biases, x=[1.0, 0.0], target=[0.5])
    assert network.weight(1, 2, 1) == 0.3
    o1 = 1 / (1 + np.exp(-np.array([0.1, 0.2])))
    o2 = 1 / (1 + np.exp(-(o1 @ weights[1])))
    y_hat = float(o2 @ weights[2][:, 0])
    assert network.forward.loss == pytest.approx((y_hat - 0.5) ** 2, rel=1e-14)
    ref = parse_param("W1_11", network.arch)
    by_hand = (
        2
        * (y_hat - 0.5)
        * (2.0 * o2[0] * (1 - o2[0]) * 0.5 + (-1.0) * o2[1] * (1 - o2[1]) * (-0.5))
        * o1[0]
        * (1 - o1[0])
        * 1.0
    )
    assert memo_table_gradient(network, ref).gradient == pytest.approx(by_hand, rel=1e-12)


def test_bad_network_inputs_are_named():
    with pytest.raises(ValueError, match=r"W\^2 must have shape \(2, 2\)"):
        build_network("2-2-2-1", weights=[np.zeros((2, 2)), np.zeros((3, 2)), np.zeros((2, 1))])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        build_network("2-2-1", activation="swish")
    with pytest.raises(ValueError, match="2 hidden layer"):
        build_network("2-2-2-1", activation=["tanh"])
    with pytest.raises(ValueError, match="unknown loss"):
        build_network("2-2-1", loss="hinge")
    with pytest.raises(ValueError, match="the input x must have shape"):
        build_network("2-2-1", x=[1.0])
    with pytest.raises(ValueError, match="not finite"):
        build_network("2-2-1", target=[float("nan")])


def test_seeds_are_reproducible_and_streams_independent():
    a = build_network("2-3-1", seed=4)
    b = build_network("2-3-1", seed=4, x=[0.25, -0.5])
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights, strict=True))
    assert not np.array_equal(a.x, b.x)
    assert not np.array_equal(a.weights[0], build_network("2-3-1", seed=5).weights[0])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=2, max_size=5),
    st.sampled_from(["sigmoid", "tanh", "relu"]),
    st.integers(0, 2**32 - 1),
    st.data(),
)
def test_naive_equals_memo_on_random_networks(sizes, activation, seed, data):
    network = build_network(sizes, activation=activation, seed=seed)
    k = data.draw(st.integers(1, len(sizes) - 1))
    j = data.draw(st.integers(1, sizes[k]))
    i = data.draw(st.integers(1, sizes[k - 1]))
    for ref in (ParamRef("W", k, j, source=i), ParamRef("b", k, j), ParamRef("O", k, j)):
        naive, memo = naive_gradient(network, ref), memo_table_gradient(network, ref)
        assert naive.gradient == pytest.approx(memo.gradient, rel=1e-12, abs=1e-15)
        assert naive.multiplications >= memo.multiplications or k == len(sizes) - 1
