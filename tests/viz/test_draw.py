"""mg.viz.draw on real engine graphs: every node drawn once, paths highlighted, both engines."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import memograd as mg
from memograd.viz import draw

draw_module = importlib.import_module("memograd.viz.drawing")

HAS_DOT = shutil.which("dot") is not None


def _neuron():
    x, w, b = mg.Value(2.0), mg.Value(-0.5), mg.Value(0.1)
    y = (x * w + b).tanh()
    out = y * y + x  # y is used twice by one op, x by two ops
    return x, w, b, y, out


def _classes(svg: str, kind: str) -> list[str]:
    return re.findall(rf'class="{kind} {kind}-([a-z]+)"', svg)


def test_builtin_drawing_has_one_box_per_node_and_one_arrow_per_distinct_edge():
    x, w, b, y, out = _neuron()
    drawing = draw(out, engine="builtin")
    ET.fromstring(drawing.svg)  # well-formed XML
    # Nodes: x, w, x*w, b, +, tanh, y*y, + : 8. Edges: x->*, w->*, *->+, b->+, +->tanh,
    # tanh->y*y (twice, drawn once with "×2"), y*y->+, x->+ : 8 arrows.
    assert len(_classes(drawing.svg, "node")) == 8
    assert len(_classes(drawing.svg, "edge")) == 8
    assert "×2" in drawing.svg
    assert drawing.engine == "builtin"
    assert "data -0.5" in drawing.svg and "tanh" in drawing.svg


def test_highlight_marks_exactly_the_paths_from_the_node_to_the_root():
    x, w, b, y, out = _neuron()
    drawing = draw(out, highlight=w, engine="builtin")
    nodes = _classes(drawing.svg, "node")
    # w, x*w, +, tanh, y*y, final + lie on w's paths; x and b do not.
    assert nodes.count("highlight") == 6
    assert nodes.count("leaf") == 2
    edges = _classes(drawing.svg, "edge")
    # w->*, *->+, +->tanh, tanh->y*y, y*y->+ are on the paths; x->*, b->+, x->+ are not.
    assert edges.count("highlight") == 5 and edges.count("normal") == 3


def test_highlighting_a_node_outside_the_graph_is_an_error():
    _, _, _, _, out = _neuron()
    with pytest.raises(ValueError, match="not part of the drawn graph"):
        draw(out, highlight=mg.Value(1.0), engine="builtin")


def test_draw_refuses_what_is_not_a_graph_node():
    with pytest.raises(TypeError, match="needs a graph node with .op and .parents"):
        draw(3.0)
    with pytest.raises(ValueError, match="engine must be"):
        draw(mg.Value(1.0), engine="svg")


def test_tensor_nodes_show_shape_and_dtype():
    W = mg.Tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    X = mg.Tensor(np.ones((2, 3), dtype=np.float32))
    loss = (X @ W).relu().sum()
    drawing = draw(loss, engine="builtin")
    assert "3×4  float32" in drawing.svg and "2×4  float32" in drawing.svg
    assert len(_classes(drawing.svg, "node")) == 5


def test_a_deep_chain_draws_without_recursion_and_big_graphs_are_refused():
    v = mg.Value(0.5)
    for _ in range(1500):
        v = v * 1.001
    drawing = draw(v, engine="builtin", max_nodes=5000)
    assert len(_classes(drawing.svg, "node")) == 1501
    with pytest.raises(ValueError, match="more than max_nodes=100"):
        draw(v, max_nodes=100)


@pytest.mark.skipif(not HAS_DOT, reason="graphviz's dot program is not installed")
def test_dot_engine_draws_the_same_graph_when_graphviz_is_present():
    _, w, _, _, out = _neuron()
    drawing = draw(out, highlight=w, engine="auto")
    assert drawing.engine == "dot"
    root = ET.fromstring(drawing.svg)
    groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert sum(g.get("class") == "node" for g in groups) == 8
    assert sum(g.get("class") == "edge" for g in groups) == 8
    assert drawing.svg.count("#d9480f") >= 6 + 5  # highlighted boxes and arrows


def test_auto_falls_back_to_builtin_silently_without_graphviz(monkeypatch):
    monkeypatch.setattr(draw_module.shutil, "which", lambda name: None)
    _, _, _, _, out = _neuron()
    assert draw(out).engine == "builtin"
    with pytest.raises(ValueError, match="needs graphviz's `dot` program"):
        draw(out, engine="dot")


def test_ids_of_two_drawings_never_collide():
    first = draw(_neuron()[-1], engine="builtin").svg
    second = draw(mg.Value(1.0) * 2.0, engine="builtin").svg
    ids_first = set(re.findall(r'id="([^"]+)"', first))
    ids_second = set(re.findall(r'id="([^"]+)"', second))
    assert ids_first and ids_second and not ids_first & ids_second


def test_value_and_tensor_show_themselves_as_svg_in_jupyter():
    out = _neuron()[-1]
    assert out._repr_svg_().startswith("<svg")
    t = mg.Tensor(np.ones(3), requires_grad=True).sum()
    assert t._repr_svg_().startswith("<svg")


def test_drawing_saves_as_svg_and_refuses_other_extensions(tmp_path):
    drawing = draw(_neuron()[-1], engine="builtin")
    path = drawing.save(tmp_path / "graph.svg")
    assert ET.parse(path).getroot().tag.endswith("svg")
    with pytest.raises(ValueError, match="ending in .svg"):
        drawing.save(tmp_path / "graph.png")


def test_importing_memograd_or_its_drawing_never_loads_matplotlib():
    code = (
        "import sys, memograd, memograd.viz; "
        "memograd.viz.draw(memograd.Value(1.0) * 2.0, engine='builtin'); "
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_names_label_nodes_and_show_data_false_keeps_only_gradients():
    x, w, b, y, out = _neuron()
    out.backward()
    drawing = draw(out, names=[(w, "w"), (y, "y")], show_data=False, engine="builtin")
    assert ">w<" in drawing.svg and ">y = tanh<" in drawing.svg
    assert "data " not in drawing.svg
    assert f"grad {w.grad:.4g}" in drawing.svg
    assert ">w<" in draw(out, names={w: "w"}, engine="builtin").svg


@pytest.mark.skipif(not HAS_DOT, reason="graphviz's dot program is not installed")
def test_a_failing_dot_program_falls_back_to_the_builtin_layout(monkeypatch):
    def broken(*args, **kwargs):
        raise subprocess.CalledProcessError(1, args[0], stderr="dot: crashed")

    monkeypatch.setattr(draw_module.subprocess, "run", broken)
    assert draw(_neuron()[-1]).engine == "builtin"
