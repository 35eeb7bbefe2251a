"""Fibonacci three ways: values against closed forms, call counts against their formulas."""

from __future__ import annotations

import math
import sys
import tracemalloc
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memograd as mg
from memograd.fibonacci import (
    FIB_STRATEGIES,
    fib_calls,
    fib_count,
    fib_memo,
    fib_memory,
    fib_naive,
    fib_table,
    fib_word_additions,
)

# OEIS A000045, F(0)..F(20).
KNOWN = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765]


def binet(n: int) -> int:
    """F(n) = round(phi^n / sqrt 5), exact in floating point for small n."""
    phi = (1 + math.sqrt(5)) / 2
    return round(phi**n / math.sqrt(5))


@pytest.mark.parametrize("fib", [fib_naive, fib_memo, fib_table])
def test_first_values_match_the_sequence(fib):
    assert [fib(n) for n in range(len(KNOWN))] == KNOWN


@pytest.mark.parametrize("fib", [fib_memo, fib_table])
def test_values_match_binets_formula_up_to_70(fib):
    assert all(fib(n) == binet(n) for n in range(71))


def test_exported_from_the_package():
    assert mg.fibonacci.fib_memo is fib_memo


def test_naive_calls_equal_two_f_n_plus_one_minus_one():
    for n in range(0, 23):
        value, calls = fib_count(n, "naive")
        assert value == KNOWN[n] if n < len(KNOWN) else value == fib_table(n)
        assert calls == 2 * fib_table(n + 1) - 1


def test_memo_calls_are_two_n_minus_one():
    assert fib_count(0, "memo") == (0, 1)
    for n in [1, 2, 3, 10, 100, 999]:
        assert fib_count(n, "memo") == (fib_table(n), 2 * n - 1)


def test_table_steps_are_n_plus_one():
    for n in [0, 1, 2, 10, 1000]:
        assert fib_count(n, "table") == (fib_table(n), n + 1)


@pytest.mark.parametrize("strategy", FIB_STRATEGIES)
def test_closed_form_counts_agree_with_measured_counts(strategy):
    for n in range(0, 21):
        assert fib_calls(n, strategy) == fib_count(n, strategy)[1]


def test_naive_closed_form_is_exact_for_huge_n_without_running_it():
    # 2*F(n+1) - 1, with F(n+1) by the table: the fast-doubling closed form must agree exactly.
    for n in [50, 300, 4096, 10_001]:
        assert fib_calls(n, "naive") == 2 * fib_table(n + 1) - 1
    assert fib_calls(100, "naive") == 1_146_295_688_027_634_168_201


def test_fib_memo_20000_is_exact_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() < 20_000  # so Python's own recursion could not do this
    value, calls = fib_count(20_000, "memo")
    assert value == fib_table(20_000)
    assert calls == 39_999
    # Two oracles independent of both implementations: the last nine digits by iterating modulo
    # 10^9, the leading digits and the length by Binet's formula in 60-digit decimals.
    previous, current = 1, 0
    for _ in range(20_000):
        previous, current = current, (previous + current) % 10**9
    assert value % 10**9 == current
    with localcontext() as ctx:
        ctx.prec = 60
        phi = (1 + Decimal(5).sqrt()) / 2
        log10_value = (20_000 * phi.ln() - Decimal(5).sqrt().ln()) / Decimal(10).ln()
    digits = int(log10_value) + 1
    leading = int(Decimal(10) ** (log10_value - int(log10_value) + 19))
    assert value.bit_length() > 13_000 and value // 10 ** (digits - 20) == leading


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=1500))
def test_memo_and_table_agree_and_satisfy_cassinis_identity(n):
    value = fib_memo(n)
    assert value == fib_table(n)
    if n >= 1:
        # Cassini: F(n-1) F(n+1) - F(n)^2 = (-1)^n
        assert fib_table(n - 1) * fib_table(n + 1) - value * value == (-1) ** n


def test_ratio_of_consecutive_values_tends_to_the_golden_ratio():
    ratio = Fraction(fib_table(201), fib_table(200))
    assert abs(float(ratio) - (1 + math.sqrt(5)) / 2) < 1e-15


@pytest.mark.parametrize("fib", [fib_naive, fib_memo, fib_table])
def test_negative_n_is_refused(fib):
    with pytest.raises(ValueError, match="n must be >= 0.*got -1"):
        fib(-1)


@pytest.mark.parametrize("bad", [2.0, "3", True, None])
@pytest.mark.parametrize("fib", [fib_naive, fib_memo, fib_table])
def test_non_integer_n_is_refused_with_its_type(fib, bad):
    with pytest.raises(TypeError, match=f"n must be a whole number.*{type(bad).__name__}"):
        fib(bad)


def test_unknown_strategy_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="unknown Fibonacci strategy 'fast'; expected one of"):
        fib_count(5, "fast")
    with pytest.raises(ValueError, match="naive, memo, table"):
        fib_calls(5, "sweep")


@pytest.mark.parametrize("n", [5_000, 20_000, 60_000])
def test_fib_memory_estimates_the_measured_peak_of_memo(n):
    tracemalloc.start()
    try:
        fib_count(n, "memo")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= fib_memory(n, "memo") <= 1.25 * peak


def test_fib_memory_and_work_grow_as_the_square_of_n():
    # F(k) has about 0.694k bits: memo keeps every F(k), about 0.0463 n² bytes (46 GB at
    # n = 10^6); memo and table add numbers of those sizes, about 0.0116 n² 30-bit words.
    assert 46e9 < fib_memory(10**6, "memo") < 47e9
    assert fib_memory(10**6, "table") < 10**6  # three numbers of 694,242 bits
    assert fib_memory(10**6, "naive") == 500 * (10**6 + 1)
    words = sum(-(-(fib_table(k).bit_length()) // 30) for k in range(1, 2001))
    assert words <= fib_word_additions(2000) <= 1.01 * words + 2000
