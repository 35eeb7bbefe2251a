"""Path counts (exact, by dynamic programming) and path listing against brute force."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memograd.explain import (
    build_network,
    count_paths,
    iter_paths,
    parse_arch,
    parse_param,
    path_at,
    unit_path_counts,
)
from memograd.explain import paths as paths_module
from memograd.explain.arch import ParamRef
from memograd.explain.paths import iter_routes, route_at


def _brute_force_paths(sizes, layer, unit):
    """Walk the layered graph edge by edge from unit (layer, unit) and count arrivals at L."""
    count = 0
    stack = [(layer, unit)]
    while stack:
        k, _ = stack.pop()
        if k == len(sizes) - 1:
            count += 1  # an output unit has one edge, into L
            continue
        stack.extend((k + 1, j) for j in range(1, sizes[k + 1] + 1))
    return count


def test_notes_network_has_two_paths_from_w1_11():
    arch = parse_arch("2-2-2-1")
    assert count_paths(arch, parse_param("W1_11", arch)) == 2


def test_notes_paths_list_the_factors_in_the_notes_order():
    network = build_network("2-2-2-1", seed=0)
    ref = parse_param("W1_11", network.arch)
    paths = list(iter_paths(network, ref))
    assert [p.units for p in paths] == [("O_11", "O_21", "Ŷ"), ("O_11", "O_22", "Ŷ")]
    assert [f.symbol for f in paths[0].factors] == [
        "∂L/∂Ŷ",
        "∂Ŷ/∂O_21",
        "∂O_21/∂O_11",
        "∂O_11/∂W^1_11",
    ]
    assert [f.symbol for f in paths[1].factors] == [
        "∂L/∂Ŷ",
        "∂Ŷ/∂O_22",
        "∂O_22/∂O_11",
        "∂O_11/∂W^1_11",
    ]
    assert paths[0].multiplications == 3


def test_factor_values_are_the_local_derivatives_measured_by_nudging():
    network = build_network("2-2-2-1", seed=3)
    ref = parse_param("W1_11", network.arch)
    factors = list(iter_paths(network, ref))[0].factors
    h = 1e-6

    def slope(nudged, read):
        up, down = network.run_forward((nudged, h)), network.run_forward((nudged, -h))
        return (read(up) - read(down)) / (2 * h)

    measured = [
        slope(ParamRef("O", 3, 1), lambda f: f.loss),  # ∂L/∂Ŷ
        slope(ParamRef("O", 2, 1), lambda f: f.outputs[3][0]),  # ∂Ŷ/∂O_21
        slope(ParamRef("O", 1, 1), lambda f: f.outputs[2][0]),  # ∂O_21/∂O_11
        slope(ParamRef("W", 1, 1, source=1), lambda f: f.outputs[1][0]),  # ∂O_11/∂W^1_11
    ]
    for factor, expected in zip(factors, measured, strict=True):
        assert factor.value == pytest.approx(expected, rel=1e-6, abs=1e-9)
    product = math.prod(f.value for f in factors)
    assert list(iter_paths(network, ref))[0].product == pytest.approx(product, rel=1e-15)


@pytest.mark.parametrize("width", [1, 2, 3, 5])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_first_layer_weight_has_width_to_the_depth_minus_one_paths(width, depth):
    arch = parse_arch([width] * (depth + 1) + [1])
    assert count_paths(arch, parse_param("W1_1_1", arch)) == width ** (depth - 1)


def test_deeper_layers_biases_and_units_follow_the_closed_form():
    # In w-...-w-1 with d hidden layers, anything feeding unit j of layer k has w^(d-k) paths.
    width, depth = 3, 5
    arch = parse_arch([width] * (depth + 1) + [1])
    for k in range(1, depth + 2):
        expected = width ** max(depth - k, 0)
        assert count_paths(arch, ParamRef("W", k, 1, source=1)) == expected
        assert count_paths(arch, ParamRef("b", k, 1)) == expected
        assert count_paths(arch, ParamRef("O", k, 1)) == expected


def test_unequal_widths_give_the_product_of_the_widths_in_between():
    arch = parse_arch("3-4-5-2-6-2")
    assert count_paths(arch, parse_param("W1_2_3", arch)) == 5 * 2 * 6 * 2
    assert count_paths(arch, parse_param("b2_5", arch)) == 2 * 6 * 2
    assert count_paths(arch, parse_param("O4_6", arch)) == 2
    assert count_paths(arch, parse_param("W5_6_2", arch)) == 1


class _CountedSize(int):
    """A layer size that counts the arithmetic done with it: the work of counting paths."""

    operations = 0

    def __mul__(self, other):
        _CountedSize.operations += 1
        return int(self) * other

    __rmul__ = __mul__

    def __add__(self, other):
        _CountedSize.operations += 1
        return int(self) + other

    __radd__ = __add__


def test_thirty_layers_of_ten_give_ten_to_the_29_in_one_step_per_layer():
    _CountedSize.operations = 0
    arch = parse_arch([_CountedSize(10)] * 31 + [_CountedSize(1)])
    paths = count_paths(arch, parse_param("W1_11", arch))
    assert paths == 10**29
    assert type(paths) is int
    # One multiplication per layer above layer 1 (layers 2..31), however wide they are.
    assert _CountedSize.operations == 30


def test_layers_of_a_trillion_units_are_counted_without_a_step_per_unit():
    arch = parse_arch([10**12, 10**12, 10**12, 1])
    assert count_paths(arch, parse_param("W1_1_1", arch)) == 10**12
    assert count_paths(arch, parse_param("O1_5", arch)) == 10**12
    assert count_paths(arch, parse_param("b3_1", arch)) == 1


def test_listing_is_lazy_on_a_network_with_10_to_the_29_paths(monkeypatch):
    network = build_network([10] * 31 + [1], seed=0)
    ref = parse_param("W1_11", network.arch)
    built = []
    make_path = paths_module._chain_path

    def counting_chain_path(*args):
        path = make_path(*args)
        built.append(path)
        return path

    monkeypatch.setattr(paths_module, "_chain_path", counting_chain_path)
    first = list(iter_paths(network, ref, limit=3))
    last = path_at(network, ref, 10**29 - 1)
    # Four paths asked for, four built (of 10^29), each with its 32 factors and no more.
    assert len(built) == 4
    assert sum(len(path.factors) for path in built) == 4 * 32
    assert [p.index for p in first] == [0, 1, 2]
    assert first[1].units[-2:] == ("O_30,2", "Ŷ")
    assert last.units[1:-1] == tuple(f"O_{k},10" for k in range(2, 31))
    assert len(last.factors) == 32  # ∂L/∂Ŷ, 30 unit-to-unit edges, ∂O_11/∂W^1_11


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=5), st.data())
def test_dp_count_matches_brute_force_enumeration(sizes, data):
    arch = parse_arch(sizes)
    counts = unit_path_counts(arch)
    for k in range(len(sizes)):
        for j in range(1, sizes[k] + 1):
            assert counts[k][j - 1] == _brute_force_paths(sizes, k, j)
    k = data.draw(st.integers(1, arch.depth))
    ref = ParamRef("b", k, data.draw(st.integers(1, sizes[k])))
    routes = list(iter_routes(arch, ref))
    assert len(routes) == count_paths(arch, ref) == len(set(routes))
    assert [route_at(arch, ref, i) for i in range(len(routes))] == routes


def test_route_order_puts_the_output_unit_fastest():
    arch = parse_arch("2-2-3-2")
    ref = parse_param("O1_1", arch)
    expected = [(1, a, b) for a, b in itertools.product(range(1, 4), range(1, 3))]
    assert list(iter_routes(arch, ref)) == expected


def test_path_index_and_limit_are_checked():
    network = build_network("2-2-2-1", seed=0)
    ref = parse_param("W1_11", network.arch)
    with pytest.raises(IndexError, match="has 2 paths"):
        path_at(network, ref, 2)
    with pytest.raises(ValueError, match="limit"):
        list(iter_paths(network, ref, limit=-1))
    assert len(list(iter_paths(network, ref, limit=10))) == 2
