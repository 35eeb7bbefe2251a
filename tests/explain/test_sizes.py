"""The explainer's estimates against what building the thing really takes (nodes, bytes, digits)."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from memograd._numbers import exact_integer_text
from memograd.engine.graph import reverse_topological_order
from memograd.explain import (
    build_network,
    build_value_graph,
    cost_table,
    engine_gradient,
    finite_difference,
    memo_table_gradient,
    naive_gradient,
    parse_arch,
    parse_param,
    uniform_arch,
)
from memograd.explain import measure as measure_module
from memograd.explain.sizes import (
    VALUE_NODE_BYTES,
    cost_table_estimate,
    engine_estimate,
    measurement_estimate,
    naive_estimate,
    network_estimate,
    value_graph_nodes,
)


@pytest.mark.parametrize(
    ("arch", "activation", "output_activation", "loss"),
    [
        ("2-2-2-1", "sigmoid", "identity", "squared"),
        ("3-4-2", "relu", "sigmoid", "half_squared"),
        ("5-1", "tanh", "identity", "squared"),
        ("4-3-3-3-2", ["identity", "tanh", "relu"], "tanh", "squared"),
    ],
)
def test_value_graph_nodes_is_exact(arch, activation, output_activation, loss):
    network = build_network(
        arch, activation=activation, output_activation=output_activation, loss=loss, seed=1
    )
    graph = build_value_graph(network)
    assert value_graph_nodes(network.arch, network.activations, loss) == len(
        reverse_topological_order(graph.loss)
    )


def _peak(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_engine_estimate_bounds_the_measured_peak_of_the_engine_check():
    network = build_network("60-60-60-1", seed=0)
    ref = parse_param("W1_11", network.arch)
    estimate = engine_estimate(network.arch, network.activations)
    assert estimate.work == value_graph_nodes(network.arch, network.activations)
    peak = _peak(lambda: engine_gradient(network, ref, strategy="memo"))
    assert peak <= estimate.bytes <= 2 * peak


def test_network_estimate_bounds_the_measured_peak_of_the_numbers():
    arch = parse_arch("400-300-200-3")
    ref = parse_param("W1_11", arch)

    def numbers() -> None:
        network = build_network(arch, seed=0)
        memo_table_gradient(network, ref)
        naive_gradient(network, ref)
        finite_difference(network, ref)

    peak = _peak(numbers)
    estimate = network_estimate(arch)
    assert peak <= estimate.bytes <= 3 * peak


def test_naive_estimate_is_the_multiplications_the_naive_sum_counts():
    network = build_network("3-4-5-2", seed=0)
    for name in ("W1_21", "b2_3", "O1_2", "W3_5_2"):
        ref = parse_param(name, network.arch)
        assert (
            naive_estimate(network.arch, ref).work == naive_gradient(network, ref).multiplications
        )


def test_measurement_estimate_counts_every_node_the_timing_builds(monkeypatch):
    built = []

    def counting_build(network):
        graph = build_value_graph(network)
        built.append(len(reverse_topological_order(graph.loss)))
        return graph

    monkeypatch.setattr(measure_module, "build_value_graph", counting_build)
    rows = cost_table(2, 4)
    measure_module.measure_cost_table(rows, max_paths=10**6, repeats=2)
    archs = [uniform_arch(2, row.depth) for row in rows]
    estimate = measurement_estimate(archs, repeats=2)
    assert estimate.work == sum(built)  # every row within the path budget: both strategies
    assert estimate.bytes == VALUE_NODE_BYTES * max(built)  # graphs are freed between runs


def test_cost_table_estimate_bounds_the_digits_of_the_exact_table():
    for width, depth, inputs in ((3, 200, None), (10, 60, None), (7, 40, 1000)):
        rows = cost_table(width, depth, inputs)
        with exact_integer_text():
            digits = sum(
                len(str(value))
                for row in rows
                for key, value in row.to_dict().items()
                if key in ("paths_per_first_layer_weight", "naive_multiplications")
            )
            digits += sum(len(str(row.ratio.numerator)) for row in rows)
        estimate = cost_table_estimate(width, depth, inputs)
        assert digits <= estimate.work <= 2 * digits + 20 * depth


def test_estimates_cost_nothing_for_any_size():
    huge = parse_arch([10**12] * 3 + [1])
    assert network_estimate(huge).bytes > 10**24
    assert engine_estimate(huge, ["sigmoid", "sigmoid", "identity"]).work > 3 * 10**24
    assert naive_estimate(huge, parse_param("W1_1_1", huge)).work == 10**12 * 3
    json.dumps(cost_table_estimate(10**100, 1000).work)
