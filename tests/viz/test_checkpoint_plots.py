"""The figure of "What memoization costs": two SVGs, axes labelled with their units."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

plots = pytest.importorskip("memograd.viz.plots", reason="needs matplotlib (memograd[cli])")


def test_checkpoint_plots_are_two_labelled_svgs_with_unique_ids() -> None:
    memory, work = plots.checkpoint_plots(
        [8, 16, 32],
        {"store-all": [9, 17, 33], "sqrt": [6, 8, 12], "revolve": [5, 6, 7]},
        {8: {"revolve": [(3, 3.75), (5, 2.0)], "sqrt": [(7, 1.5)], "store-all": [(9, 1.0)]}},
    )
    texts = []
    for svg in (memory, work):
        assert svg.startswith("<svg")
        root = ET.fromstring(svg)
        texts.append(
            " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
        )
    assert "Memory against depth" in texts[0] and "states held at once (log scale)" in texts[0]
    assert "Memory against recomputation" in texts[1] and "n = 8" in texts[1]
    assert "forward evaluations per layer (log)" in texts[1]
    ids = re.findall(r'id="([^"]+)"', memory) + re.findall(r'id="([^"]+)"', work)
    assert len(ids) == len(set(ids))
