"""Numbers as a reader takes them in: times in the unit that fits, ratios without "1x".

A time is written with three significant digits in whichever of s, ms, µs and ns puts it
between 1 and 1000 (12.3 ms, 85.2 µs), never as ``1.18e+03 µs``; a ratio of two counts or
times says how many times as much, and "about the same" when it is within 5% of 1, instead of
a rounded ``1x`` that reads as no difference.
"""

from __future__ import annotations

import math

_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def format_seconds(seconds: float) -> str:
    """``0.0123`` -> ``12.3 ms``; three significant digits, no exponent."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a time must be a finite number >= 0, got {seconds!r}")
    if seconds == 0:
        return "0 s"
    if seconds >= 999.5:
        return f"{seconds:,.0f} s"
    for scale, unit in _UNITS:
        # Rounded first, so that 999.7 µs reads 1 ms rather than 1e+03 µs.
        text = f"{seconds / scale:.3g}"
        if float(text) >= 1 or unit == "ns":
            return f"{text} {unit}"
    raise AssertionError("unreachable: the last unit always answers")


def format_ratio(ratio: float) -> str:
    """How many times as much: ``1.24×``, ``38×``, ``1,536×``; ``about the same`` near 1."""
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"a ratio must be a finite number > 0, got {ratio!r}")
    if 0.95 <= ratio <= 1.05:
        return "about the same"
    if ratio < 10:
        return f"{ratio:.2f}×" if ratio < 1 else f"{ratio:.3g}×"
    return f"{ratio:,.0f}×"
