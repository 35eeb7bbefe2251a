"""memograd._numbers: exact big integers and fractions, shown short and rounded exactly."""

from __future__ import annotations

import sys
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memograd._numbers import (
    digit_count,
    exact_integer_text,
    readable_count,
    scientific,
    short_count,
    short_ratio,
)


def _decimal_scientific(value: int | Fraction) -> str:
    """The same rounding (3 figures, half up) done by the decimal module, as the oracle."""
    value = Fraction(value)
    context = Context(prec=3, rounding=ROUND_HALF_UP, Emax=10**9, Emin=-(10**9))
    rounded = context.divide(Decimal(value.numerator), Decimal(value.denominator))
    _, digits, exponent = rounded.as_tuple()
    text = "".join(map(str, digits)).ljust(3, "0")
    power = exponent + len(digits) - 1
    return f"{text[0]}.{text[1:3]}e{power:+03d}"


@given(st.integers(1, 10**400))
def test_digit_count_is_the_length_of_the_text(number):
    with exact_integer_text():
        assert digit_count(number) == len(str(number))


@pytest.mark.parametrize("power", [1, 17, 18, 19, 100, 4299, 4300, 4301, 20000])
def test_digit_count_at_powers_of_ten(power):
    assert digit_count(10**power) == power + 1
    assert digit_count(10**power - 1) == power


@given(st.integers(1, 10**600))
def test_scientific_rounds_integers_as_decimal_does(number):
    assert scientific(number) == _decimal_scientific(number)


@given(st.integers(1, 10**300), st.integers(1, 10**300))
def test_scientific_rounds_fractions_as_decimal_does(numerator, denominator):
    value = Fraction(numerator, denominator)
    assert scientific(value) == _decimal_scientific(value)


def test_scientific_of_the_notes_numbers():
    assert scientific(3**999) == "4.41e+476"  # 3^999 = 4406...: rounds up
    assert scientific(10**29) == "1.00e+29"
    assert scientific(9995) == "1.00e+04"  # the carry moves the point
    assert scientific(Fraction(1, 3)) == "3.33e-01"
    assert scientific(0) == "0"
    assert scientific(-1234) == "-1.23e+03"


def test_python_text_limit_does_not_apply_to_short_forms():
    # 10^5000 has more digits than Python converts to text by default (4300).
    assert scientific(10**5000) == "1.00e+5000"
    assert readable_count(10**5000, "paths") == "about 1.00e+5000 paths (5,001 digits)"


def test_short_and_readable_forms():
    assert short_count(999_999_999_999) == "999,999,999,999"
    assert short_count(1_234_567_890_123) == "1.23e+12"
    assert short_count(123_456_789, 9) == "123,456,789"
    assert short_count(1_234_567_890, 9) == "1.23e+09"
    assert readable_count(10**39) == f"{10**39:,}"
    assert readable_count(3**999) == "about 4.41e+476 (477 digits)"
    assert short_ratio(Fraction(17, 8)) == "2.12"
    assert short_ratio(Fraction(3**999, 4)) == "1.10e+476"


def test_exact_integer_text_restores_the_limit():
    before = sys.get_int_max_str_digits()
    with exact_integer_text():
        assert len(str(10**5000)) == 5001
    assert sys.get_int_max_str_digits() == before
