"""Section 5: one training step of memograd beside hand-written NumPy (and PyTorch if present).

The steps are :func:`memograd.timing.make_step`'s and the timing is its harness
(:func:`memograd.timing.compare`: alternating rounds, medians), the same the repository's
benchmark uses with more peers and rounds, so these numbers are a short version of ``make bench``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.viz import html, plots
from memograd.viz.units import format_seconds

ANCHOR = "speed"
HEADING = "Speed: one training step, side by side"
APPENDIX = True  # the story ends with the summary; speed is for the practitioner after it

# Peers of the short comparison, with the names the report shows.
PEER_NAMES = {"memograd": "memograd", "numpy": "NumPy by hand", "torch": "PyTorch (CPU)"}


@contextlib.contextmanager
def one_thread_each() -> Iterator[str]:
    """Run NumPy's BLAS and PyTorch on one thread each while timing, then restore them.

    A step of this size is microseconds of arithmetic per matrix; with a thread pool per
    library on a small machine, a step's time is mostly waiting for a descheduled worker thread
    (measured here: medians twice as long and single calls stalling for 100 ms on a busy
    2-core machine). One thread each compares the libraries' own work. Yields a description of
    the setting for the report.
    """
    with contextlib.ExitStack() as stack:
        described = []
        try:
            from threadpoolctl import threadpool_limits
        except ModuleNotFoundError:
            described.append("BLAS threads unchanged (threadpoolctl is not installed)")
        else:
            stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
            described.append("BLAS on one thread")
        torch = sys.modules.get("torch")
        if torch is not None:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, before)
            described.append("PyTorch on one thread")
        yield ", ".join(described)


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd.timing import PeerUnavailable, TimingPlan, compare, make_step

    steps, skipped = {}, {}
    for peer in PEER_NAMES:
        try:
            steps[peer] = make_step(peer, settings.speed_sizes, settings.speed_batch, settings.seed)
        except PeerUnavailable as exc:
            skipped[peer] = exc.reason
    plan = TimingPlan(
        rounds=settings.speed_rounds, batch_seconds=settings.speed_batch_seconds, warmup_calls=2
    )
    with one_thread_each() as threads:
        comparison = compare(steps, plan, reference="memograd")
    peers = {
        peer: {
            "name": PEER_NAMES[peer],
            "median_ms": timing.median * 1e3,
            "fastest_ms": min(timing.rounds) * 1e3,
            "memograd_ratio": comparison.ratio(peer),
            "memograd_ratio_fastest": min(comparison.timings["memograd"].rounds)
            / min(timing.rounds),
            **timing.as_dict(),
        }
        for peer, timing in comparison.timings.items()
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    data = {
        "cores": os.cpu_count(),
        "load_average": load,
        "sizes": list(settings.speed_sizes),
        "batch": settings.speed_batch,
        "dtype": "float32",
        "rounds": settings.speed_rounds,
        "threads": threads,
        "peers": peers,
        "skipped": skipped,
    }
    return data, {}


def _spread(peer: dict[str, Any]) -> float:
    return (peer["max_s"] - peer["min_s"]) / 2 / peer["median_s"]


def _ratio_text(ratio: float, peer: dict[str, Any], reference: dict[str, Any] | None) -> str:
    if reference is None or peer is reference:
        return f"{ratio:.2f}"
    overlap = peer["min_s"] <= reference["max_s"] and reference["min_s"] <= peer["max_s"]
    return f"{ratio:.2f} (within noise)" if overlap else f"{ratio:.2f}"


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    arch = "-".join(str(s) for s in data["sizes"])
    peers = data["peers"]
    section.paragraph(
        f"Speed is what makes the idea usable. One training step of a {arch} MLP on a batch of "
        f"{data['batch']} (forward, cross-entropy, backward, SGD update, {data['dtype']}) was "
        f"timed for each implementation below ({data['threads']}), in alternating rounds "
        f"({data['rounds']} of them), "
        "keeping the median and the fastest round. Every implementation starts from the same "
        "weights and batch. "
        "This is a short version of ",
        html.code("make bench"),
        " (the benchmark in memograd's repository), which runs more peers and more rounds.",
    )
    names = [p["name"] for p in peers.values()]
    section.figure(
        plots.speed_plot(
            names,
            [p["median_ms"] for p in peers.values()],
            [p["fastest_ms"] for p in peers.values()],
            f"One training step, {arch}, batch {data['batch']}",
        ),
        "Time per training step",
        "Median and fastest round of one full training step per implementation in this run; "
        "shorter bars are faster.",
    )
    reference = peers.get("memograd")
    section.table(
        [
            "implementation",
            "median per step",
            "fastest round",
            "calls per round",
            "memograd ÷ this (medians)",
            "memograd ÷ this (fastest)",
        ],
        [
            [
                p["name"],
                f"{format_seconds(p['median_s'])} ±{_spread(p):.0%}",
                format_seconds(p["min_s"]),
                str(p["calls_per_round"]),
                _ratio_text(p["memograd_ratio"], p, reference),
                f"{p['memograd_ratio_fastest']:.2f}",
            ]
            for p in peers.values()
        ],
        "± is half the range of the rounds around their median. Ratios below 1 mean memograd "
        "took less time than that implementation; “within noise” marks a ratio whose rounds "
        "overlap memograd's, so the two are not told apart by this run. When the fastest "
        "round is far below the median, other work was competing for the CPU.",
    )
    cores, load = data["cores"], data["load_average"]
    if load is not None and cores and load > 0.75 * cores:
        section.paragraph(
            f"This machine was busy while it measured (load average {load:.1f} on {cores} "
            "cores), so other programs competed for the CPU and these timings are noisier than "
            "usual: compare the medians with the fastest rounds, and run ",
            html.code("make bench"),
            " from memograd's repository on a quiet machine for numbers to quote.",
        )
    if data["skipped"]:
        section.paragraph(
            "Not measured: "
            + "; ".join(f"{PEER_NAMES[p]} ({why})" for p, why in data["skipped"].items())
            + "."
        )
