"""The cost table as a log-scale chart: paths and multiplications against depth.

The only module of the explainer that imports matplotlib, and only when called, so
``import memograd`` stays NumPy-only. It draws on a bare ``Figure`` (no pyplot state, no
GUI backend) and writes through a temporary file, so a crash never leaves half a PNG.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memograd.explain.cost import CostRow

PLOT_FORMATS = {".png": "png", ".svg": "svg"}


def plot_format(path: str | os.PathLike[str]) -> str:
    """The image format for ``path`` from its extension; ValueError unless .png or .svg."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise ValueError(
            f"cannot write a plot to {os.fspath(path)!r}: the file name must end in "
            f"{' or '.join(PLOT_FORMATS)}, got {suffix or 'no extension'!r}"
        )
    return PLOT_FORMATS[suffix]


def plot_cost(rows: Sequence[CostRow], path: str | os.PathLike[str]) -> Path:
    """Write the chart of ``rows`` (from :func:`memograd.explain.cost_table`) to ``path``.

    Lines: paths per first-layer weight, naive multiplications and backprop
    multiplications, on a log scale; measured seconds, when the rows have them, on a
    second log axis. Returns the path written.
    """
    fmt = plot_format(path)
    if not rows:
        raise ValueError("nothing to plot: the cost table has no rows")
    from matplotlib.figure import Figure

    target = Path(path)
    depths = [row.depth for row in rows]
    timed = [row for row in rows if row.sweep_seconds is not None]
    figure = Figure(figsize=(11.0 if timed else 7.0, 4.6), layout="constrained")
    counts = figure.add_subplot(1, 2 if timed else 1, 1)
    # float(): these counts outgrow int64; a log axis needs floats anyway. Naive is red and
    # backprop blue in both panels, so the eye pairs counted work with measured time.
    counts.plot(
        depths,
        [float(r.naive_multiplications) for r in rows],
        "o-",
        color="tab:red",
        label="naive: multiplications",
    )
    counts.plot(
        depths,
        [float(r.backprop_multiplications) for r in rows],
        "s-",
        color="tab:blue",
        label="backprop: multiplications",
    )
    counts.plot(
        depths,
        [float(r.paths_per_first_layer_weight) for r in rows],
        "^--",
        color="tab:gray",
        label="paths per first-layer weight",
    )
    _decorate(counts, "counted work (log scale)")
    counts.set_title(f"Every weight's gradient, width {rows[0].width}, one output")
    if timed:
        seconds = figure.add_subplot(1, 2, 2)
        naive = [r for r in timed if r.naive_seconds is not None]
        if naive:
            seconds.plot(
                [r.depth for r in naive],
                [r.naive_seconds for r in naive],
                "o-",
                color="tab:red",
                label="engine naive backward",
            )
        seconds.plot(
            [r.depth for r in timed],
            [r.sweep_seconds for r in timed],
            "s-",
            color="tab:blue",
            label="engine sweep backward",
        )
        _decorate(seconds, "seconds (log scale)")
        seconds.set_title("Measured time of one backward pass")
    directory = target.parent if str(target.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=directory
    )
    os.close(descriptor)
    try:
        figure.savefig(temporary, format=fmt)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _decorate(axes: Any, ylabel: str) -> None:
    axes.set_yscale("log")
    axes.set_xlabel("depth d (hidden layers)")
    axes.set_ylabel(ylabel)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
