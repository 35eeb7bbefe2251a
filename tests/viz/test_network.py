"""The explainer's neuron-level graph, with the chain-rule paths of one weight highlighted."""

from __future__ import annotations

import math
import re

import pytest

import memograd as mg
from memograd.viz.network import draw_network


def _count(svg: str, kind: str, style: str) -> int:
    return len(re.findall(rf'class="{kind} {kind}-{style}"', svg))


def _expected_highlighted_edges(sizes: list[int], layer: int) -> int:
    """The parameter's edge, its unit to every unit above, all edges above, output to L."""
    above = sum(sizes[m] * sizes[m + 1] for m in range(layer + 1, len(sizes) - 1))
    return 1 + sizes[layer + 1] + above + sizes[-1]


@pytest.mark.parametrize(
    ("arch", "param", "layer"),
    [("2-2-2-1", "W1_11", 1), ("3-3-3-3-1", "W2_12", 2), ("2-4-3-2", "b1_2", 1)],
)
def test_paths_of_a_parameter_are_highlighted_and_nothing_else(arch, param, layer):
    network = mg.explain.build_network(arch, seed=0)
    svg = draw_network(network, param).svg
    sizes = [int(s) for s in arch.split("-")]
    # param, its unit, every unit of later layers, and L.
    assert _count(svg, "node", "highlight") == 1 + 1 + sum(sizes[layer + 1 :]) + 1
    assert _count(svg, "edge", "highlight") == _expected_highlighted_edges(sizes, layer)
    total_edges = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False)) + sizes[-1] + 1
    assert _count(svg, "edge", "highlight") + _count(svg, "edge", "normal") == total_edges


def test_units_show_their_forward_values_in_the_notes_notation():
    network = mg.explain.build_network("2-2-2-1", seed=0)
    svg = draw_network(network, "W1_11").svg
    for label in ("x₁", "O₁₁", "O₂₂", "Ŷ", "W¹₁₁", ">L<"):
        assert label in svg
    o21 = float(network.forward.outputs[2][0])
    assert f"{o21:.4g}" in svg
    assert f"{network.forward.loss:.4g}" in svg
    assert not math.isnan(o21)


def test_states_override_the_highlight():
    network = mg.explain.build_network("2-2-2-1", seed=0)
    svg = draw_network(
        network, "W1_11", states={(2, 1): "current", "L": "stored"}, edge_states={}
    ).svg
    assert _count(svg, "node", "current") == 1 and _count(svg, "node", "stored") == 1
