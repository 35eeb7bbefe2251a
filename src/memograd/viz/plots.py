"""The report's figures, drawn with matplotlib and returned as inline SVG strings.

Each function takes plain numbers (lists, arrays) measured elsewhere and returns the ``<svg>``
element of one figure with a title and labelled axes, units included. Figures are built on
``matplotlib.figure.Figure`` directly, never through ``pyplot``: no GUI backend is ever
selected, no global figure state leaks into a user's session, and the SVG canvas renders
without a display (the same guarantee the Agg backend gives for raster output).

matplotlib is imported here only; ``import memograd`` never loads this module.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from memograd._files import write_atomically
from memograd.viz._svg import prefix_ids, strip_prolog

# One colour per strategy across every figure, so "naive" is always the same orange.
COLOURS = {
    "naive": "#c2410c",
    "memo": "#2563eb",
    "table": "#2b8a3e",
    "sweep": "#2b8a3e",
    "train": "#2563eb",
    "test": "#c2410c",
    "validation": "#c2410c",
    "memograd": "#2563eb",
    "NumPy by hand": "#6b7280",
    "PyTorch (CPU)": "#c2410c",
}
_FALLBACK = ["#7c3aed", "#0f766e", "#a16207", "#be185d", "#475569"]
_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.7,
    "legend.frameon": False,
    # Text stays text (searchable, selectable, small) instead of outlines.
    "svg.fonttype": "none",
}


def colour(name: str, index: int = 0) -> str:
    return COLOURS.get(name, _FALLBACK[index % len(_FALLBACK)])


def new_figure(width: float = 7.2, height: float = 3.4, ncols: int = 1) -> tuple[Figure, list]:
    """A figure with ``ncols`` side-by-side axes, in the report's style."""
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = [figure.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return figure, axes


def to_svg(figure: Figure, name: str) -> str:
    """The figure as an inline ``<svg>`` element whose ids are unique to ``name``."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = strip_prolog(buffer.getvalue())
    return prefix_ids(svg, f"{name}-")


def _style(axes) -> None:  # noqa: ANN001 - matplotlib Axes
    with matplotlib.rc_context(_RC):
        axes.grid(True, color=_RC["grid.color"], linewidth=_RC["grid.linewidth"])
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)


def fibonacci_plots(
    ns: Sequence[int],
    calls: Mapping[str, Sequence[float]],
    seconds: Mapping[str, Sequence[float | None]],
) -> tuple[str, str]:
    """Calls and time against n for each Fibonacci strategy, on log scales: two figures, so a
    page can set them side by side or, on a phone, one above the other."""
    with matplotlib.rc_context(_RC):
        figure, (left,) = new_figure(3.9, 3.3)
        for i, (name, values) in enumerate(calls.items()):
            left.plot(ns, values, marker="o", ms=3.5, lw=1.8, color=colour(name, i), label=name)
        left.set_yscale("log")
        left.set_title("Function calls to compute F(n)")
        left.set_xlabel("n (index of the Fibonacci number)")
        left.set_ylabel("calls (count, log scale)")
        left.legend()
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        _style(left)
        calls_svg = to_svg(figure, "fib-calls")
        figure, (right,) = new_figure(3.9, 3.3)
        for i, (name, values) in enumerate(seconds.items()):
            points = [(n, s * 1e6) for n, s in zip(ns, values, strict=True) if s]
            if points:
                xs, ys = zip(*points, strict=True)
                right.plot(xs, ys, marker="o", ms=3.5, lw=1.8, color=colour(name, i), label=name)
        right.set_yscale("log")
        right.set_title("Wall-clock time to compute F(n)")
        right.set_xlabel("n (index of the Fibonacci number)")
        right.set_ylabel("time (µs, log scale)")
        right.legend()
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        _style(right)
        time_svg = to_svg(figure, "fib-time")
    return calls_svg, time_svg


def depth_cost_plot(
    depths: Sequence[int],
    paths: Sequence[int],
    naive_multiplications: Sequence[int],
    memo_multiplications: Sequence[int],
    width: int,
) -> str:
    """Paths per first-layer weight and multiplications for the whole gradient, against depth."""
    figure, (axes,) = new_figure(7.2, 3.5)
    draw_depth_cost(axes, depths, paths, naive_multiplications, memo_multiplications, width)
    return to_svg(figure, "depth")


def draw_depth_cost(
    axes,  # noqa: ANN001 - matplotlib Axes
    depths: Sequence[int],
    paths: Sequence[int],
    naive_multiplications: Sequence[int],
    memo_multiplications: Sequence[int],
    width: int,
) -> None:
    """The counted-work panel, shared by the report and ``memograd cost --plot``."""
    with matplotlib.rc_context(_RC):
        # float(): these counts outgrow int64; a log axis needs floats anyway.
        axes.plot(
            depths,
            [float(p) for p in paths],
            marker="s",
            ms=3.5,
            lw=1.4,
            ls="--",
            color="#6b7280",
            label="paths per first-layer weight",
        )
        for counts, name, label in (
            (naive_multiplications, "naive", "naive: multiplications, every weight"),
            (memo_multiplications, "memo", "memoized backprop: multiplications"),
        ):
            axes.plot(
                depths,
                [float(m) for m in counts],
                marker="o",
                ms=3.5,
                lw=1.8,
                color=colour(name),
                label=label,
            )
        axes.set_yscale("log")
        axes.set_title(f"Chain-rule work against depth, width {width}")
        axes.set_xlabel(f"depth d (hidden layers of width {width})")
        axes.set_ylabel("count (log scale)")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(loc="upper left")
        _style(axes)


def strategy_time_plot(
    depths: Sequence[int], seconds: Mapping[str, Sequence[float | None]], width: int
) -> str:
    """Measured backward time of each engine strategy against depth (None = not run)."""
    figure, (axes,) = new_figure(7.2, 3.3)
    draw_strategy_times(axes, depths, seconds, width)
    return to_svg(figure, "strategy-time")


def draw_strategy_times(
    axes,  # noqa: ANN001 - matplotlib Axes
    depths: Sequence[int],
    seconds: Mapping[str, Sequence[float | None]],
    width: int,
) -> None:
    """The measured-time panel, shared by the report and ``memograd cost --plot``."""
    with matplotlib.rc_context(_RC):
        for i, (name, values) in enumerate(seconds.items()):
            points = [(d, s * 1e3) for d, s in zip(depths, values, strict=True) if s is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, marker="o", ms=3.5, lw=1.8, color=colour(name, i), label=name)
        axes.set_yscale("log")
        axes.set_title(f"Measured backward time of the engine, width {width}")
        axes.set_xlabel("depth d (hidden layers)")
        axes.set_ylabel("time per backward (ms, log scale)")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(loc="upper left")
        _style(axes)


def save_figure(figure: Figure, path: str | os.PathLike[str], fmt: str) -> Path:
    """Write ``figure`` to ``path`` as ``fmt`` (png or svg), atomically, in the report's style."""
    with matplotlib.rc_context(_RC):
        return write_atomically(path, lambda handle: figure.savefig(handle, format=fmt))


def training_plots(
    epochs: Sequence[int],
    loss: Mapping[str, Sequence[float]],
    accuracy: Mapping[str, Sequence[float]],
) -> tuple[str, str]:
    """Loss and accuracy per epoch, one line per split: two figures (see fibonacci_plots)."""
    drawn = []
    for name, series, title, ylabel, scale in (
        ("training-loss", loss, "Loss while training", "cross-entropy loss (nats)", 1.0),
        ("training-accuracy", accuracy, "Accuracy while training", "accuracy (%)", 100.0),
    ):
        with matplotlib.rc_context(_RC):
            figure, (axes,) = new_figure(3.9, 3.2)
            for i, (split, values) in enumerate(series.items()):
                axes.plot(
                    epochs[: len(values)],
                    [scale * v for v in values],
                    marker="o",
                    ms=3,
                    lw=1.8,
                    color=colour(split, i),
                    label=split,
                )
            axes.set_title(title)
            axes.set_xlabel("epoch (passes over the training set)")
            axes.set_ylabel(ylabel)
            axes.legend(loc="lower right" if scale != 1.0 else "upper right")
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            _style(axes)
            drawn.append(to_svg(figure, name))
    return drawn[0], drawn[1]


def confusion_plot(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """A confusion matrix with the count written in every non-zero cell."""
    matrix = np.asarray(matrix)
    with matplotlib.rc_context(_RC):
        figure, (axes,) = new_figure(4.6, 4.1)
        axes.grid(False)
        image = axes.imshow(matrix, cmap="Blues")
        ticks = range(len(labels))
        axes.set_xticks(ticks, labels)
        axes.set_yticks(ticks, labels)
        axes.set_title("Confusion matrix on the test set")
        axes.set_xlabel("predicted class (digit)")
        axes.set_ylabel("true class (digit)")
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, col), count in np.ndenumerate(matrix):
            if count:
                axes.text(
                    col,
                    row,
                    str(int(count)),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if count > threshold else "#1f2933",
                )
        figure.colorbar(image, ax=axes, shrink=0.8, label="test examples (count)")
    return to_svg(figure, "confusion")


def digits_plot(images: Sequence[np.ndarray], true: Sequence[int], predicted: Sequence[int]) -> str:
    """Misclassified digits as greyscale images, each titled with its true and predicted class."""
    count = len(images)
    if count == 0:
        raise ValueError("digits_plot needs at least one image")
    columns = min(count, 8)
    rows = (count + columns - 1) // columns
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(1.05 * columns + 0.3, 1.3 * rows + 0.45), layout="constrained")
        grid = figure.subplots(rows, columns, squeeze=False)
        for k, axes in enumerate(grid.flat):
            axes.set_axis_off()
            if k < count:
                side = int(round(np.sqrt(np.asarray(images[k]).size)))
                axes.imshow(np.asarray(images[k]).reshape(side, side), cmap="gray_r")
                axes.set_title(f"true {true[k]}\npredicted {predicted[k]}", fontsize=8.5)
        figure.suptitle("Misclassified test digits", fontsize=11.5, fontweight="bold")
    return to_svg(figure, "digits")


def speed_plot(
    names: Sequence[str],
    median_ms: Sequence[float],
    fastest_ms: Sequence[float],
    title: str,
) -> str:
    """Horizontal bars per implementation: median step time, and the fastest round beside it.

    On a quiet machine the two bars are close; when other programs compete for the CPU the
    median moves and the fastest round stays, so the pair shows how far to trust the medians.
    """
    with matplotlib.rc_context(_RC):
        height = 1.2 + 0.7 * len(names)
        figure, (axes,) = new_figure(7.2, height)
        positions = np.arange(len(names))
        colours = [colour(n, i) for i, n in enumerate(names)]
        medians = axes.barh(
            positions - 0.18, median_ms, color=colours, height=0.34, label="median round"
        )
        fastest = axes.barh(
            positions + 0.18,
            fastest_ms,
            color=colours,
            height=0.34,
            alpha=0.45,
            label="fastest round",
        )
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_title(title)
        axes.set_xlabel("time per training step (ms; shorter is faster)")
        axes.set_ylabel("implementation")
        for bars in (medians, fastest):
            for bar in bars:
                axes.text(
                    bar.get_width(),
                    bar.get_y() + bar.get_height() / 2,
                    f" {bar.get_width():.3g} ms",
                    va="center",
                    fontsize=8.5,
                )
        largest = max([*median_ms, *fastest_ms], default=1.0)
        axes.set_xlim(0, largest * 1.2)
        # Below the axes, not inside: inside, it covers the last bar's labels.
        figure.legend(handles=[medians, fastest], loc="outside lower center", ncols=2)
        _style(axes)
        axes.grid(axis="y", visible=False)
    return to_svg(figure, "speed")


def checkpoint_plots(
    depths: Sequence[int],
    stored: Mapping[str, Sequence[int]],
    curves: Mapping[int, Mapping[str, Sequence[tuple[int, float]]]],
) -> tuple[str, str]:
    """Store or recompute, counted: two figures (see fibonacci_plots).

    Left: the states each schedule holds at once against depth (``stored``: schedule -> one
    count per depth). Right: memory against recomputation at a few depths (``curves``: depth ->
    schedule -> (states held, forward evaluations per step) points; revolve's points, one per
    slot count, are joined into its curve, the others are single markers).
    """
    markers = {"store-all": "s", "sqrt": "D"}
    with matplotlib.rc_context(_RC):
        figure, (left,) = new_figure(3.9, 3.4)
        for i, (name, values) in enumerate(stored.items()):
            left.plot(depths, values, marker="o", ms=3.5, lw=1.8, color=colour(name, i), label=name)
        left.set_xscale("log", base=2)
        left.set_yscale("log")
        left.set_title("Memory against depth")
        left.set_xlabel("depth n (layers, log scale)")
        left.set_ylabel("states held at once (log scale)")
        left.legend(loc="upper left")
        _style(left)
        memory_svg = to_svg(figure, "checkpoint-memory")
        figure, (right,) = new_figure(3.9, 3.4)
        for i, (depth, schedules) in enumerate(curves.items()):
            tint = _FALLBACK[i % len(_FALLBACK)]
            for name, points in schedules.items():
                xs, ys = zip(*points, strict=True)
                if name in markers:
                    right.plot(xs, ys, ls="none", marker=markers[name], ms=6, color=tint)
                else:
                    right.plot(xs, ys, marker="o", ms=2.5, lw=1.5, color=tint, label=f"n = {depth}")
        right.plot([], [], ls="none", marker="s", color="#6b7280", label="store-all")
        right.plot([], [], ls="none", marker="D", color="#6b7280", label="sqrt")
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_title("Memory against recomputation")
        right.set_xlabel("states held at once (log scale)")
        right.set_ylabel("forward evaluations per layer (log)")
        right.legend(loc="upper right", fontsize=8.5)
        _style(right)
        work_svg = to_svg(figure, "checkpoint-work")
    return memory_svg, work_svg
