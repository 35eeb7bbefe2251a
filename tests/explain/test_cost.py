"""The cost table: closed forms against general sums against brute-force counting."""

import functools
import math
import sys
from fractions import Fraction

import pytest

from memograd.explain import (
    backprop_multiplications,
    backprop_multiplications_closed_form,
    build_network,
    cost_row,
    cost_table,
    naive_gradient,
    naive_multiplications,
    naive_multiplications_closed_form,
    parse_arch,
    paths_per_first_layer_weight,
    uniform_arch,
    weight_count,
)
from memograd.explain import gradient as gradient_module
from memograd.explain import network as network_module
from memograd.explain.arch import ParamRef


def _weights(arch):
    for k in range(1, arch.depth + 1):
        for i in range(1, arch.sizes[k - 1] + 1):
            for j in range(1, arch.sizes[k] + 1):
                yield ParamRef("W", k, j, source=i)


def _brute_force_naive(arch):
    """Run the naive sum for every weight and add up the multiplications it performed."""
    network = build_network(arch, seed=0)
    return sum(naive_gradient(network, ref).multiplications for ref in _weights(arch))


def _brute_force_backprop(arch):
    """A memoized recursion over the neuron graph that counts each multiplication it does."""
    sizes, depth = arch.sizes, arch.depth
    done = 0

    @functools.cache
    def adjoint(layer, unit):
        nonlocal done
        if layer == depth:
            return  # ∂L/∂Ŷ_j is given by the loss: no multiplication
        for above in range(1, sizes[layer + 1] + 1):
            adjoint(layer + 1, above)
            done += 1  # adjoint(above) × ∂O_above/∂O_unit

    for ref in _weights(arch):
        adjoint(ref.layer, ref.unit)
        done += 1  # adjoint(O_kj) × ∂O_kj/∂W^k_ij
    return done


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_closed_forms_match_brute_force_counting(width, depth):
    arch = uniform_arch(width, depth)
    naive, backprop = _brute_force_naive(arch), _brute_force_backprop(arch)
    assert naive_multiplications(arch) == naive
    assert naive_multiplications_closed_form(width, depth) == naive
    assert backprop_multiplications(arch) == backprop
    assert backprop_multiplications_closed_form(width, depth) == backprop


def test_general_sums_match_brute_force_on_unequal_widths():
    for sizes in ([3, 1, 4, 2], [2, 5, 1, 3, 2], [4, 2, 3]):
        arch = parse_arch(sizes)
        assert naive_multiplications(arch) == _brute_force_naive(arch)
        assert backprop_multiplications(arch) == _brute_force_backprop(arch)


def test_closed_forms_match_general_sums_far_beyond_brute_force():
    for width in (1, 2, 7, 10):
        for depth in (1, 5, 30, 200):
            arch = uniform_arch(width, depth)
            assert naive_multiplications_closed_form(width, depth) == naive_multiplications(arch)
            assert backprop_multiplications_closed_form(width, depth) == (
                backprop_multiplications(arch)
            )
            assert weight_count(arch) == depth * width**2 + width


def test_the_notes_network_row():
    row = cost_row(2, 2)
    assert row.arch == "2-2-2-1"
    assert row.paths_per_first_layer_weight == 2
    # 4 weights × 2 paths × 3 + 4 × 1 × 2 + 2 × 1 × 1; 6 unit edges + 10 weights.
    assert (row.naive_multiplications, row.backprop_multiplications) == (34, 16)
    assert row.ratio == pytest.approx(34 / 16)


def _no_network(*args, **kwargs):
    raise AssertionError("the cost table is counted, never built")


def test_table_counts_are_exact_and_the_ratio_explodes(monkeypatch):
    # Counts alone: no neuron-level network and no engine graph is built for the table.
    monkeypatch.setattr(network_module, "Network", _no_network)
    monkeypatch.setattr(gradient_module, "build_value_graph", _no_network)
    rows = cost_table(10, 30)
    assert [row.depth for row in rows] == list(range(1, 31))
    assert rows[-1].paths_per_first_layer_weight == 10**29
    assert rows[-1].backprop_multiplications == 59 * 100 + 20
    assert rows[-1].naive_multiplications == sum(m * 10**m for m in range(1, 32))
    ratios = [row.ratio for row in rows]
    assert all(b > a for a, b in zip(ratios, ratios[1:], strict=False))
    # For w >= 2 the ratio approaches w^d / (2 (w - 1)).
    assert rows[-1].ratio == pytest.approx(10**30 / 18, rel=0.05)


def test_inputs_change_only_the_first_layer():
    assert cost_row(3, 2, inputs=5).arch == "5-3-3-1"
    assert cost_row(3, 2, inputs=5).weights == 15 + 9 + 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cost_table(0, 3), "width must be a whole number >= 1, got 0"),
        (lambda: cost_table(3, 0), "max_depth must be a whole number >= 1, got 0"),
        (lambda: paths_per_first_layer_weight(2, -1), "depth must be"),
        (lambda: uniform_arch(2, 2, inputs=0), "inputs must be"),
    ],
)
def test_bad_sizes_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(("width", "depth"), [(3, 1000), (10, 310), (2, 1030)])
def test_ratios_past_the_float_range_are_exact_fractions(width, depth):
    # Used to fail with "integer division result too large for a float".
    row = cost_row(width, depth)
    assert row.ratio == Fraction(row.naive_multiplications, row.backprop_multiplications)
    assert row.naive_multiplications == naive_multiplications_closed_form(width, depth)
    assert row.ratio > sys.float_info.max
    document = row.to_dict()
    assert document["ratio"] is None  # no float holds it
    exact = document["ratio_exact"]
    assert Fraction(exact["numerator"], exact["denominator"]) == row.ratio
    assert math.gcd(exact["numerator"], exact["denominator"]) == 1


def test_a_ratio_within_the_float_range_is_also_a_float():
    document = cost_row(2, 2).to_dict()
    assert document["ratio"] == 34 / 16
    assert document["ratio_exact"] == {"numerator": 17, "denominator": 8}
