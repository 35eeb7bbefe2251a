"""The report's figures: inline SVG with their titles, axis labels and units as real text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

plots = pytest.importorskip("memograd.viz.plots", reason="needs matplotlib (memograd[cli])")


def _texts(svg: str) -> str:
    root = ET.fromstring(f"<figures>{svg}</figures>")  # a pair of figures is two <svg>s
    return " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


FIGURES = {
    "fib": lambda: "".join(
        plots.fibonacci_plots(
            [1, 2, 3], {"naive": [1, 3, 5], "memo": [1, 3, 5]}, {"naive": [1e-6, 2e-6, None]}
        )
    ),
    "depth": lambda: plots.depth_cost_plot([1, 2, 3], [1, 2, 4], [10, 34, 98], [8, 16, 24], 2),
    "time": lambda: plots.strategy_time_plot(
        [1, 2, 3], {"naive": [1e-4, 2e-4, None], "sweep": [1e-4, 1e-4, 1e-4]}, 2
    ),
    "training": lambda: "".join(
        plots.training_plots(
            [1, 2], {"train": [1.0, 0.5], "test": [1.1, 0.6]}, {"train": [0.5, 0.9]}
        )
    ),
    "confusion": lambda: plots.confusion_plot(np.eye(3, dtype=int) * 5, ["0", "1", "2"]),
    "digits": lambda: plots.digits_plot([np.arange(64)] * 3, [1, 2, 3], [7, 7, 7]),
    "speed": lambda: plots.speed_plot(
        ["memograd", "NumPy by hand"], [1.0, 2.0], [0.5, 1.5], "One step"
    ),
}
EXPECTED_TEXT = {
    "fib": ["Function calls to compute F(n)", "calls (count, log scale)", "time (µs, log scale)"],
    "depth": ["Chain-rule work against depth, width 2", "count (log scale)", "depth d"],
    "time": ["time per backward (ms, log scale)", "depth d (hidden layers)"],
    "training": ["cross-entropy loss (nats)", "accuracy (%)", "epoch (passes"],
    "confusion": ["predicted class (digit)", "true class (digit)", "test examples (count)"],
    "digits": ["Misclassified test digits", "true 1", "predicted 7"],
    "speed": ["time per training step (ms;", "2 ms", "1.5 ms", "fastest round", "median round"],
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_is_inline_svg_with_title_and_labelled_axes(name):
    svg = FIGURES[name]()
    assert svg.startswith("<svg") and "<?xml" not in svg and "<!DOCTYPE" not in svg
    text = _texts(svg)
    for expected in EXPECTED_TEXT[name]:
        assert expected in text, (expected, text[:300])


def test_two_figures_in_one_page_share_no_id():
    first, second = FIGURES["fib"](), FIGURES["depth"]()
    ids = re.findall(r'id="([^"]+)"', first) + re.findall(r'id="([^"]+)"', second)
    assert ids and len(ids) == len(set(ids))
    for svg in (first, second):
        for ref in re.findall(r"url\(#([^)]+)\)", svg):
            assert f'id="{ref}"' in svg


def test_digits_plot_needs_an_image():
    with pytest.raises(ValueError, match="at least one image"):
        plots.digits_plot([], [], [])
