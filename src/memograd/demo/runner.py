"""Run the demo's sections in the notes' order and assemble the report.

Each section module has ``ANCHOR``, ``HEADING``, ``measure(settings)`` returning the JSON-ready
figures of this run plus any objects its drawing needs, and ``render(section, data, objects)``.
The runner only sequences them, times them and reports progress; it knows no section's
content.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from memograd._files import prepare_output_dir
from memograd.demo import (
    accumulate,
    depth,
    directions,
    memoization,
    model,
    notes_network,
    speed,
    summary,
)
from memograd.demo.settings import DemoSettings

REPORT_NAME = "report.html"
SECTIONS: tuple[ModuleType, ...] = (
    memoization,
    notes_network,
    accumulate,
    depth,
    directions,
    model,
    speed,
)
"""Measured in this order. Rendered in it too, with the summary after the last section that
is not an appendix (``APPENDIX = True``: speed, for the practitioner after the story)."""

WRITING = "Drawing the figures and writing report.html"

# on_progress(index, total, heading, finished): called before and after each section.
Progress = Callable[[int, int, str, bool], None]


@dataclass
class DemoResult:
    """Everything one demo run measured, per section, and where its report went."""

    settings: DemoSettings
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    report_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": None if self.report_path is None else os.fspath(self.report_path),
            "settings": self.settings.as_dict(),
            "seconds": self.seconds,
            "sections": self.data,
        }


def measure_all(
    settings: DemoSettings, on_progress: Progress | None = None, *, steps: int | None = None
) -> DemoResult:
    """Run every section's measurements; nothing is written.

    ``steps`` is the total the progress callback reports (more than the sections when the
    caller has work of its own to report after them).
    """
    result = DemoResult(settings)
    total = steps or len(SECTIONS)
    for index, module in enumerate(SECTIONS, start=1):
        if on_progress is not None:
            on_progress(index, total, module.HEADING, False)
        started = time.perf_counter()
        data, objects = module.measure(settings)
        result.seconds[module.ANCHOR] = time.perf_counter() - started
        result.data[module.ANCHOR] = data
        result.objects[module.ANCHOR] = objects
        if on_progress is not None:
            on_progress(index, total, module.HEADING, True)
    return result


def build_report(result: DemoResult) -> Any:
    """The :class:`~memograd.viz.html.Report` of a finished run."""
    from memograd import __version__
    from memograd.viz import html

    settings = result.settings
    mode = "quick run (--quick)" if settings.quick else "full run"
    report = html.Report(
        "Backpropagation is the chain rule plus memoization",
        html.join(
            "Every number on this page was measured by ",
            html.code(
                f"memograd demo{' --quick' if settings.quick else ''} --seed {settings.seed}"
            ),
            f": memograd {__version__}, {mode}, Python {platform.python_version()} on "
            f"{platform.machine()} with {os.cpu_count()} cores.",
        ),
        footer=html.join(
            f"Generated {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} in "
            f"{sum(result.seconds.values()):.1f} s of measurement. A single self-contained "
            "file: no scripts and nothing fetched from the network, readable offline and on paper."
        ),
    )
    story = [m for m in SECTIONS if not getattr(m, "APPENDIX", False)]
    appendices = [m for m in SECTIONS if getattr(m, "APPENDIX", False)]
    for module in story:
        section = report.section(module.ANCHOR, module.HEADING)
        module.render(section, result.data[module.ANCHOR], result.objects[module.ANCHOR])
    closing = report.section(summary.ANCHOR, summary.HEADING)
    summary.render(closing, result.data, {s.anchor: s.label for s in report.sections})
    for module in appendices:
        section = report.section(module.ANCHOR, module.HEADING, appendix=True)
        module.render(section, result.data[module.ANCHOR], result.objects[module.ANCHOR])
    return report


def headings() -> list[str]:
    """The report's section headings in order, numbered as the report numbers them."""
    story = [m.HEADING for m in SECTIONS if not getattr(m, "APPENDIX", False)]
    story.append(summary.HEADING)
    appendices = [m.HEADING for m in SECTIONS if getattr(m, "APPENDIX", False)]
    return [f"{i}. {h}" for i, h in enumerate(story, 1)] + [
        f"Appendix {chr(ord('A') + i)}. {h}" for i, h in enumerate(appendices)
    ]


def run_demo(
    out: str | os.PathLike[str],
    settings: DemoSettings,
    on_progress: Progress | None = None,
) -> DemoResult:
    """Measure everything, then write ``out/report.html`` atomically; returns the result.

    ``out`` is checked first, so a bad directory fails before any measuring.
    """
    directory = prepare_output_dir(out)
    steps = len(SECTIONS) + 1
    result = measure_all(settings, on_progress, steps=steps)
    if on_progress is not None:
        on_progress(steps, steps, WRITING, False)
    report = build_report(result)
    result.report_path = report.write(directory / REPORT_NAME)
    if on_progress is not None:
        on_progress(steps, steps, WRITING, True)
    return result
