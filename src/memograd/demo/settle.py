"""Timings that say how far to trust them: repeated until stable, or labelled as noise.

On a shared machine a single timing can differ from the next by more than the differences a
table shows, and the noise is one-sided: another program can only make a run slower. So each
time here is the middle of the five fastest of repeated measurements, taken until those five
agree within ``tolerance`` (half their range, relative to their middle), or until the time
budget runs out, when the entry is labelled as noise with its spread. The entries of one table
are measured together in rounds, each round sampling every entry once in a rotated order (the
bench harness's habit), so a burst of load lands on all of them alike and each has the same
chances to run undisturbed.
:func:`within_noise` tells a reader when two times differ by less than their spreads.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass

from memograd.viz.units import format_seconds

WINDOW = 5


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the middle of the fastest samples, and their relative half-range."""

    seconds: float
    spread: float  # (max - min) / 2 / middle of the WINDOW fastest samples
    samples: int
    stable: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def describe(timing: Timing | dict) -> str:
    """``85.2 µs ±2%``, or ``85.2 µs (noise ±31%)`` when it never settled within its budget."""
    t = timing if isinstance(timing, dict) else timing.as_dict()
    spread = f"±{t['spread']:.0%}"
    if t["stable"]:
        return f"{format_seconds(t['seconds'])} {spread}"
    return f"{format_seconds(t['seconds'])} (noise {spread})"


def _settled(samples: list[float]) -> tuple[float, float]:
    """The middle of the WINDOW fastest samples, and their half-range relative to it."""
    fastest = sorted(samples)[:WINDOW]
    middle = statistics.median(fastest)
    spread = (fastest[-1] - fastest[0]) / 2 / middle if middle > 0 else 0.0
    return middle, spread


def measure_together(
    samplers: Mapping[Hashable, Callable[[], float]],
    *,
    tolerance: float = 0.05,
    budget_seconds: float = 1.0,
    max_rounds: int = 60,
) -> dict[Hashable, Timing]:
    """Sample every entry once per round (seconds per call of what it times), rotating the
    order, until all have settled within ``tolerance`` or the budget is spent; at least
    WINDOW rounds, and every entry gets as many samples as the others."""
    keys = list(samplers)
    samples: dict[Hashable, list[float]] = {key: [] for key in keys}
    settled: dict[Hashable, tuple[float, float]] = {}
    started = time.perf_counter()
    for round_number in range(max_rounds):
        shift = round_number % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            samples[key].append(samplers[key]())
        if round_number + 1 < WINDOW:
            continue
        settled = {key: _settled(samples[key]) for key in keys}
        if all(spread <= tolerance for _, spread in settled.values()):
            break
        if time.perf_counter() - started > budget_seconds:
            break
    return {
        key: Timing(middle, spread, len(samples[key]), spread <= tolerance)
        for key, (middle, spread) in settled.items()
    }


def per_call(
    function: Callable[[], object], *, min_batch_seconds: float = 2e-3
) -> Callable[[], float]:
    """A sampler: seconds per call of ``function`` over a batch long enough that the clock's
    resolution and the loop vanish (the batch size is fixed by the first, calibrating, run)."""
    number = 1
    while True:
        started = time.perf_counter()
        for _ in range(number):
            function()
        if time.perf_counter() - started >= min_batch_seconds or number >= 1_000_000:
            break
        number *= 2

    def sample() -> float:
        started = time.perf_counter()
        for _ in range(number):
            function()
        return (time.perf_counter() - started) / number

    return sample


def within_noise(a: Timing | dict, b: Timing | dict) -> bool:
    """True when two times differ by less than the sum of their spreads: the difference is
    noise, not a measurement."""
    first = a if isinstance(a, dict) else a.as_dict()
    second = b if isinstance(b, dict) else b.as_dict()
    gap = abs(first["seconds"] - second["seconds"])
    return gap <= first["spread"] * first["seconds"] + second["spread"] * second["seconds"]


def unsettled_note(timings: list[dict | None]) -> str:
    """A caption's warning when some times never settled: `` 3 of these 18 times ...``."""
    measured = [t for t in timings if t is not None]
    noisy = sum(not t["stable"] for t in measured)
    if not noisy:
        return ""
    return (
        f" {noisy} of these {len(measured)} times never settled while this machine was busy "
        "(marked “noise” in the table): read their points as noise, not as measurements."
    )
