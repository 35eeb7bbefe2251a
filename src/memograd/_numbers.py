"""Exact big numbers, readable: counts with hundreds of digits shown short, never as floats.

Path counts and multiplication counts are exact Python integers, and their ratios exact
fractions; a float would overflow past 1.8e308 (3^999 paths is 4.40e+476) or round. For a
terminal they are shown with thousands separators while short, and beyond that in scientific
form computed from the exact value (the mantissa is rounded from the integer, not from a
float), with the number of digits where there is room for it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from fractions import Fraction

EXACT_DIGITS = 12
"""Integers up to this many digits are written out in full (``999,999,999,999``)."""

_LOG10_2 = 0.30102999566398120


def digit_count(number: int) -> int:
    """Decimal digits of ``abs(number)`` (1 for 0), without converting it to text."""
    number = abs(number)
    if number < 10**18:
        return len(str(number))
    exponent = int((number.bit_length() - 1) * _LOG10_2)  # never above floor(log10(number))
    while number >= 10 ** (exponent + 1):
        exponent += 1
    return exponent + 1


def _floor_log10(value: Fraction) -> int:
    """floor(log10(value)) for a positive exact fraction."""
    numerator, denominator = value.numerator, value.denominator
    exponent = digit_count(numerator) - digit_count(denominator)
    # value lies in [10^(exponent - 1), 10^(exponent + 1)): settle which side of 10^exponent.
    if exponent >= 0:
        below = numerator < denominator * 10**exponent
    else:
        below = numerator * 10**-exponent < denominator
    return exponent - 1 if below else exponent


def scientific(value: int | Fraction, significant: int = 3) -> str:
    """``4.40e+476``: ``value`` rounded (half up) to ``significant`` figures, exactly.

    Works for any size of integer or fraction (no float in between); the exponent is written
    as Python writes a float's, with a sign and at least two digits.
    """
    value = Fraction(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    exponent = _floor_log10(value)
    scaled = value / Fraction(10) ** (exponent - significant + 1)  # in [10^(s-1), 10^s)
    mantissa = int(scaled)
    if scaled - mantissa >= Fraction(1, 2):
        mantissa += 1
    if mantissa == 10**significant:  # 9.995 rounds up to 10.0: move the point
        mantissa //= 10
        exponent += 1
    digits = str(mantissa)
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{head}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def short_count(number: int, exact_digits: int = EXACT_DIGITS) -> str:
    """``1,234,567`` while it has at most ``exact_digits`` digits, else ``4.40e+476``."""
    if digit_count(number) <= exact_digits:
        return f"{number:,}"
    return scientific(number)


READABLE_DIGITS = 40
"""A count in a sentence is exact up to this many digits."""


def is_exact_in_text(number: int) -> bool:
    """Whether :func:`readable_count` writes ``number`` out in full."""
    return digit_count(number) <= READABLE_DIGITS


def readable_count(number: int, noun: str = "") -> str:
    """A count for a sentence: ``1,024 paths`` in full while it has at most 40 digits, else
    ``about 4.41e+476 paths (477 digits)``."""
    noun = f" {noun}" if noun else ""
    if is_exact_in_text(number):
        return f"{number:,}{noun}"
    return f"about {scientific(number)}{noun} ({digit_count(number):,} digits)"


def short_ratio(value: Fraction) -> str:
    """A ratio to three significant figures: ``2.12``, ``1.69e+28``, ``6.03e+476``."""
    if abs(value) < 10**15:
        return f"{float(value):,.3g}"
    return scientific(value)


@contextlib.contextmanager
def exact_integer_text() -> Iterator[None]:
    """Allow converting huge exact integers to text (Python caps it at 4300 digits).

    The cap guards parsers against hostile input; the integers printed inside are our own
    results, whose size the command checked against its budget first.
    """
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)
