"""The cost chart: real PNG and SVG files, checked extensions, matplotlib loaded lazily."""

import subprocess
import sys
import warnings

import pytest

from memograd.explain import cost_table
from memograd.viz.cost_plot import plot_cost, plot_format


def test_png_is_written_atomically(tmp_path):
    target = tmp_path / "cost.png"
    written = plot_cost(cost_table(3, 6), target)
    assert written == target
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cost.png"]  # no temporary left behind


def test_svg_shows_the_three_curves(tmp_path):
    target = tmp_path / "cost.SVG"
    plot_cost(cost_table(2, 5), target)
    svg = target.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("naive: multiplications", "backprop: multiplications", "paths per first"):
        assert label in svg


def test_huge_counts_plot_without_overflow(tmp_path):
    plot_cost(cost_table(10, 40), tmp_path / "deep.png")
    assert (tmp_path / "deep.png").stat().st_size > 1000


@pytest.mark.parametrize("name", ["cost.pdf", "cost", "cost.png.txt"])
def test_other_extensions_are_refused_by_name(tmp_path, name):
    with pytest.raises(ValueError, match=r"must end in \.png or \.svg"):
        plot_format(tmp_path / name)
    with pytest.raises(ValueError, match="must end in"):
        plot_cost(cost_table(2, 2), tmp_path / name)
    assert not (tmp_path / name).exists()


def test_importing_the_explainer_does_not_import_matplotlib():
    code = (
        "import sys, memograd, memograd.explain as ex; "
        "ex.explain; ex.cost_table(2, 3); "
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_deepest_plottable_table_draws_without_a_float_overflow(tmp_path):
    # Past the limit a clear error names the depth; at the limit matplotlib's float axis works.
    with pytest.raises(ValueError, match="plot up to --max-depth 516"):
        plot_cost(cost_table(3, 600), tmp_path / "over.svg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in the axis would be a RuntimeWarning
        path = plot_cost(cost_table(3, 516), tmp_path / "deep.svg")
    assert "<svg" in path.read_text()
