"""Forward mode at the neuron level: the same gradient as backprop and finite differences, its
work in closed form, and the cost of all parameters each way."""

from __future__ import annotations

import pytest

import memograd as mg
from memograd.explain.arch import parse_arch
from memograd.explain.directions import (
    all_parameter_costs,
    engine_forward_gradient,
    forward_gradient,
    forward_multiplication_count,
    parameters,
)
from memograd.explain.network import build_network


@pytest.mark.parametrize("arch", ["2-2-2-1", "3-4-2-2", "2-3-3-3-1"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "gelu"])
def test_forward_equals_reverse_and_finite_differences_for_every_parameter(arch, activation):
    network = build_network(arch, seed=1, activation=activation)
    for ref in parameters(network.arch):
        e = mg.explain.explain(arch, ref.name, network=network)
        forward = forward_gradient(network, ref)
        assert forward.gradient == pytest.approx(e.memo_gradient, rel=1e-12, abs=1e-15)
        assert forward.gradient == pytest.approx(e.finite_difference, rel=1e-5, abs=1e-9)
        engine, _ = engine_forward_gradient(network, ref)
        assert engine == pytest.approx(forward.gradient, rel=1e-12, abs=1e-15)
        assert forward.multiplications == forward_multiplication_count(network.arch, ref)


def test_the_notes_network_costs_by_hand():
    arch = parse_arch("2-2-2-1")
    # 10 weights and 5 biases
    costs = all_parameter_costs(arch)
    assert costs.parameters == 15 and costs.forward_passes == 15 and costs.reverse_passes == 1
    # reverse: adjoints of layer 1 from layer 2 (2x2 = 4) and of layer 2 from Ŷ (2x1 = 2), then
    # one multiplication per parameter: 6 + 15
    assert costs.reverse_multiplications == 21
    # forward, per parameter: layer-1 params 2 + 2 + 1 = 5 (6 of them), layer-2 params 1 + 1 = 2
    # (6), output params 1 (3): 30 + 12 + 3
    assert costs.forward_multiplications == 45


def test_one_forward_pass_counts_one_jvp_per_edge_downstream_of_the_parameter():
    network = build_network("2-2-2-1", seed=0)
    ref = mg.explain.parse_param("b2_1", network.arch)
    _, stats = engine_forward_gradient(network, ref)
    # The Value graph adds b2_1 + O_11 W^2_11 (+), then + O_12 W^2_21 (+), sigmoid, the product
    # O_21 W^3_11 (*), two additions into z_31 (the identity output adds no node), Ŷ - y (-)
    # and its square (**): 8 edges downstream of b2_1, one JVP each, in one pass.
    assert stats["passes"] == 1
    assert stats["jvp_evaluations"] == 8


def test_paths_mode_forward_on_the_command_line(capsys):
    from memograd.cli import main

    assert main(["paths", "--arch", "2-2-2-1", "--param", "W1_11", "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    assert "forward mode: ∂O/∂W^1_11 carried from W^1_11 towards L" in out
    assert "t(O_21)" in out and "one reverse pass, 21 multiplications" in out
    assert "15 passes (one per parameter), 45 multiplications" in out
    assert main(["paths", "--arch", "2-2-2-1", "--param", "W1_11", "--json"]) == 0
    import json

    document = json.loads(capsys.readouterr().out)
    assert document["forward_gradient"] == pytest.approx(document["memo_gradient"], rel=1e-12)
    assert document["forward_multiplications"] == 5
    assert document["all_parameters"]["forward_multiplications"] == 45
    assert main(["paths", "--arch", "2-2-2-1", "--param", "W1_11", "--mode", "sideways"]) == 2


@pytest.mark.parametrize("arch", ["2-2-2-1", "3-4-2-2"])
def test_unit_outputs_and_output_layer_count_only_real_products(arch):
    network = build_network(arch, seed=2)
    sizes = network.arch.sizes
    for k in range(1, network.arch.depth + 1):
        for j in range(1, sizes[k] + 1):
            ref = mg.explain.parse_param(f"O{k}_{j}", network.arch)
            forward = forward_gradient(network, ref)
            assert forward.multiplications == forward_multiplication_count(network.arch, ref)
            e = mg.explain.explain(arch, ref.name, network=network)
            assert forward.gradient == pytest.approx(e.memo_gradient, rel=1e-12, abs=1e-15)
    output_weight = mg.explain.parse_param(f"W{network.arch.depth}_1_1", network.arch)
    assert forward_multiplication_count(network.arch, output_weight) == 1


@pytest.mark.parametrize("text", ["1-1", "2-2-2-1", "3-1-4-1-5", "5-2", "1-6-1-3-2"])
def test_the_closed_form_for_every_parameter_adds_up_each_parameters_own_count(text):
    from memograd.explain.directions import parameters

    arch = parse_arch(text)
    refs = parameters(arch)
    costs = all_parameter_costs(arch)
    assert costs.parameters == len(refs)
    assert costs.forward_multiplications == sum(
        forward_multiplication_count(arch, ref) for ref in refs
    )


def test_every_parameters_cost_of_a_huge_network_comes_from_its_architecture_alone():
    # 10^10 weights and 4,400 layers: counted without listing a parameter (a list would never end)
    huge = all_parameter_costs(parse_arch("100000-100000-1"))
    assert huge.parameters == 100000 * 100000 + 100000 + 100000 + 1
    assert huge.forward_multiplications == (100000 * 100000 + 100000) * (1 + 1) + 100001
    deep = all_parameter_costs(parse_arch("-".join(["10"] * 4400 + ["1"])))
    assert deep.parameters == 4399 * 110 + 11
