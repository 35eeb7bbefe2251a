"""Fibonacci three ways: the smallest case of "memoization turns exponential work into linear".

Standard indexing, F(0) = 0 and F(1) = 1, exact Python integers. Each strategy counts its work,
so the difference is a number, not a claim:

=========  ====================================  =================================
strategy   what it does                          calls for n >= 1 (n = 0: 1 call)
=========  ====================================  =================================
naive      fib(n-1) + fib(n-2), recomputed       2*F(n+1) - 1  (exponential)
memo       the same recursion, answers in a dict 2*n - 1       (each fib(k) computed once,
                                                 asked for at most twice)
table      bottom-up, F(0), F(1), ..., F(n)      n + 1         (one step per table cell)
=========  ====================================  =================================

``fib_calls`` gives these closed forms, ``fib_count`` measures them, and the tests check that
the two agree. ``fib_memory`` and ``fib_word_additions`` estimate the rest of the cost, also
before running: F(k) has about 0.694k bits, so memo's dict of every F(k) grows as n² bytes
(about 46 GB at n = 10^6) and the big-integer additions of memo and table as n² machine words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Literal

__all__ = [
    "FIB_STRATEGIES",
    "fib_calls",
    "fib_count",
    "fib_memo",
    "fib_memory",
    "fib_naive",
    "fib_table",
    "fib_word_additions",
]

Strategy = Literal["naive", "memo", "table"]
FIB_STRATEGIES: tuple[Strategy, ...] = ("naive", "memo", "table")


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be a whole number (int), got {n!r} of type {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be >= 0 (F(0) = 0, F(1) = 1), got {n}")
    return n


# --- naive: the definition, run literally ----------------------------------------------------


def _naive_counted(n: int) -> tuple[int, int]:
    calls = 0

    def fib(k: int) -> int:
        nonlocal calls
        calls += 1
        if k < 2:
            return k
        return fib(k - 1) + fib(k - 2)

    return fib(n), calls


def fib_naive(n: int) -> int:
    """F(n) by plain recursion: fib(n-1) + fib(n-2), every subproblem recomputed each time.

    Makes 2*F(n+1) - 1 calls: about 1.6^n (n = 35 is 30 million calls, a few seconds;
    n = 100 would outlast the universe). Recursion depth is n, so n must stay below Python's
    recursion limit; time runs out long before that.
    """
    return _naive_counted(_check_n(n))[0]


# --- memo: the same recursion plus a dict, on an explicit stack --------------------------------


def _memo_frame(k: int, memo: dict[int, int]) -> Generator[int, int, int]:
    """One call of the notes' memoized fib, written as a generator.

    Read ``(yield k - 1)`` as ``fib(k - 1)``: the driver runs the "call" and sends its answer back.
    The body is the textbook top-down memo, word for word.
    """
    if k in memo:
        return memo[k]
    value = k if k < 2 else (yield k - 1) + (yield k - 2)
    memo[k] = value
    return value


def _memo_counted(n: int) -> tuple[int, int]:
    """Run the memoized recursion on an explicit stack of suspended calls.

    Python's own recursion would stop near n = 1000 (RecursionError); a list of generators
    grows as far as memory allows, and the order of work is exactly the recursive one. Each
    generator created is one call of the recursion, which is what ``calls`` counts.
    """
    memo: dict[int, int] = {}
    stack = [_memo_frame(n, memo)]
    calls = 1
    answer: int | None = None  # what the most recently finished call returned
    while stack:
        try:
            argument = stack[-1].send(answer)  # type: ignore[arg-type]
        except StopIteration as finished:
            stack.pop()
            answer = finished.value
            continue
        stack.append(_memo_frame(argument, memo))
        calls += 1
        answer = None  # a new generator must be started with None
    assert answer is not None
    return answer, calls


def fib_memo(n: int) -> int:
    """F(n) by the top-down memo: the naive recursion, but each F(k) is stored in a dict the
    first time and read back after that.

    Makes 2*n - 1 calls for n >= 1 (one for n = 0): fib(k) is computed once for each k and asked
    for at most twice. Not bounded by the interpreter's stack: fib_memo(20000) works at the
    default recursion limit (see ``_memo_counted``).
    """
    return _memo_counted(_check_n(n))[0]


# --- table: bottom-up, no recursion ----------------------------------------------------------


def _table_counted(n: int) -> tuple[int, int]:
    # The table F(0..n) filled left to right; each cell needs only the two before it, so two
    # variables hold the live part of it (a full list would keep every F(k), O(n^2) bits).
    previous, current = 1, 0  # F(-1) = 1 makes F(1) = F(0) + F(-1) come out right
    steps = 1  # F(0)
    for _ in range(n):
        previous, current = current, previous + current
        steps += 1
    return current, steps


def fib_table(n: int) -> int:
    """F(n) bottom-up: F(0), F(1), ... F(n), each the sum of the two before. n + 1 steps,
    no recursion, constant memory besides the numbers themselves."""
    return _table_counted(_check_n(n))[0]


def _fib_pair(n: int) -> tuple[int, int]:
    """(F(n), F(n+1)) by fast doubling, O(log n) multiplications, for the closed forms only.

    F(2k) = F(k) * (2*F(k+1) - F(k)) and F(2k+1) = F(k)^2 + F(k+1)^2, walking n's bits from the
    top. It is a fourth strategy in its own right, but it is here so that ``fib_calls`` can state
    naive's 2*F(n+1) - 1 for large n in milliseconds.
    """
    a, b = 0, 1  # F(0), F(1)
    for bit in bin(n)[2:]:
        a, b = a * (2 * b - a), a * a + b * b  # (F(2k), F(2k+1)) from (F(k), F(k+1))
        if bit == "1":
            a, b = b, a + b
    return a, b


# --- counting ---------------------------------------------------------------------------------

_COUNTED: dict[str, Callable[[int], tuple[int, int]]] = {
    "naive": _naive_counted,
    "memo": _memo_counted,
    "table": _table_counted,
}


def _check_strategy(strategy: object) -> str:
    if strategy not in _COUNTED:
        raise ValueError(
            f"unknown Fibonacci strategy {strategy!r}; expected one of {', '.join(FIB_STRATEGIES)}"
        )
    return strategy  # type: ignore[return-value]


def fib_count(n: int, strategy: Strategy) -> tuple[int, int]:
    """``(F(n), calls)`` computed by ``strategy``, counting its work as it runs.

    ``calls`` is what the strategy actually did: calls of the recursive function for ``naive``
    and ``memo`` (memo hits included), table steps for ``table``. ``fib_calls`` states the same
    numbers in closed form.
    """
    return _COUNTED[_check_strategy(strategy)](_check_n(n))


def fib_calls(n: int, strategy: Strategy) -> int:
    """The work ``fib_count(n, strategy)`` will report, in closed form, without doing it.

    naive: 2*F(n+1) - 1; memo: 2*n - 1 for n >= 1 and 1 for n = 0; table: n + 1. Cheap even
    when naive's count has dozens of digits, which is how the command line refuses to start a
    computation that would not finish.
    """
    _check_strategy(strategy)
    n = _check_n(n)
    if strategy == "naive":
        return 2 * _fib_pair(n)[1] - 1
    if strategy == "memo":
        return max(1, 2 * n - 1)
    return n + 1


# --- what a run will cost, before running it ---------------------------------------------------

_BITS_PER_INDEX = math.log2((1 + math.sqrt(5)) / 2)  # F(k) ~ φ^k / √5: about 0.694 k bits
_WORD_BITS = 30  # CPython stores integers in 30-bit digits, 4 bytes each
_INT_HEADER = 28  # bytes of an int object besides its digits (64-bit CPython)
_MEMO_ENTRY = 100  # bytes per memo entry besides the value: dict slot, key, generator frame
_FRAME = 500  # bytes per frame of the naive recursion


def fib_memory(n: int, strategy: Strategy) -> int:
    """Peak bytes ``fib_count(n, strategy)`` will hold, estimated from ``n`` alone.

    memo: its dict keeps every F(k), k = 0..n, each an int of about 0.694k bits, so
    ``Σ_k (28 + 4·0.694k/30)`` ≈ 0.046 n² bytes, plus about 100 bytes per entry for the dict
    and the stack of suspended calls (measured within a few percent by ``tracemalloc``).
    table: three integers of F(n)'s size. naive: its recursion, n frames deep.
    """
    _check_strategy(strategy)
    n = _check_n(n)
    if strategy == "naive":
        return _FRAME * (n + 1)
    words_of_last = math.ceil(n * _BITS_PER_INDEX / _WORD_BITS)
    if strategy == "table":
        return 3 * (_INT_HEADER + 4 * words_of_last)
    all_words = fib_word_additions(n)  # the words of F(0..n) together
    return (_INT_HEADER + _MEMO_ENTRY) * (n + 1) + 4 * all_words


def fib_word_additions(n: int) -> int:
    """Machine-word additions memo and table do: adding F(k-1) + F(k-2) touches F(k)'s
    ``ceil(0.694k / 30)`` words, summed over k = 1..n, about 0.0116 n² (n = 2·10^5: 4.6e8)."""
    n = _check_n(n)
    slope = _BITS_PER_INDEX / _WORD_BITS
    return math.ceil(slope * n * (n + 1) / 2) + n
