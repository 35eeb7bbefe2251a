"""memoize where code written for functools.lru_cache / functools.cache meets it.

Hashing once per call, recursion as deep as functools reaches, ``maxsize=0`` and a positional
``maxsize``, pickling and copying, a miss path that calls no builtin, ``cache_parameters()``.
CPython's own lru_cache tests run in test_cpython_lru.py.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import copy
import functools
import multiprocessing
import pickle
import sys
import threading
import time
import types

import pytest

from memograd.fibonacci import fib_table
from memograd.memo import CacheInfo, memoize

# Every test here runs on the C front and on the pure-Python wrapper (tests/memo/conftest.py).
pytestmark = pytest.mark.usefixtures("hit_path")


class Counted:
    """A hashable argument that counts its ``__hash__`` calls, as CPython's test counts them."""

    hashes = 0

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        Counted.hashes += 1
        return self.value.__hash__()  # no builtin: the reentrancy test watches them

    def __eq__(self, other):
        return type(other) is Counted and other.value == self.value


class Holder:
    def __init__(self):
        self.runs = 0

    @memoize
    def method(self, item, scale=2):
        self.runs += 1
        return item.value * scale


def _decorated(option):
    if option == "method":
        return Holder().method
    options = {
        "plain": {},
        "maxsize": {"maxsize": 4},
        "maxsize=1": {"maxsize": 1},
        "ttl": {"ttl": 60.0},
        "typed": {"typed": True},
        "key": {"key": lambda item, scale=2: (item, scale)},
    }[option]
    return memoize(**options)(lambda item, scale=2: item.value * scale)


OPTIONS = ["plain", "maxsize", "maxsize=1", "ttl", "typed", "key", "method"]


@pytest.mark.parametrize("option", OPTIONS)
def test_each_argument_is_hashed_once_per_call_hit_or_miss(option):
    f = _decorated(option)
    item = Counted(5)
    for expected_misses in (1, 1, 1):
        Counted.hashes = 0
        assert f(item) == 10
        assert Counted.hashes == 1
    assert f.cache_info().misses == expected_misses
    Counted.hashes = 0
    assert f(Counted(6), scale=3) == 18  # a miss with a keyword: still one hash
    assert Counted.hashes == 1


def test_a_bounded_cache_hashes_once_per_call_through_evictions_as_cpython_tests_it():
    f = memoize(maxsize=1)(lambda x, y: x.value * 3 + y)
    item = Counted(5)
    Counted.hashes = 0
    f(item, 1)  # miss
    f(item, 1)  # hit
    f(6 and Counted(6), 2)  # miss, evicts item's entry
    before = Counted.hashes
    f(item, 1)  # miss again
    assert Counted.hashes - before == 1
    assert f.cache_info() == CacheInfo(hits=1, misses=3, maxsize=1, currsize=1)


def test_a_content_keyed_call_hashes_its_hashable_arguments_at_most_twice():
    """The C store hashes the arguments up to the first unhashable one before giving up; the
    content key is then hashed once."""
    f = memoize(lambda item, rows: item.value + len(rows))
    item = Counted(1)
    Counted.hashes = 0
    assert f(item, [1, 2]) == 3
    assert Counted.hashes <= 2
    Counted.hashes = 0
    assert f(item, [1, 2]) == 3 and f.cache_info().hits == 1
    assert Counted.hashes <= 2


# --- recursion depth ----------------------------------------------------------------------------


def _reach(make):
    """The largest n for which a fresh ``make()``'s function of n computes at the current limit.

    The functions recurse n levels deep and return fib(n) (``make.expected`` says otherwise).
    """
    low, high = 1, sys.getrecursionlimit()
    while low < high:
        middle = (low + high + 1) // 2
        fib = make()
        try:
            value = fib(middle)
        except RecursionError:
            high = middle - 1
        else:
            assert value == getattr(make, "expected", fib_table)(middle)
            low = middle
    return low


def _fib_with(decorate):
    def make():
        @decorate
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        return fib

    return make


def _fib_method_with(decorate):
    def make():
        class Numbers:
            @decorate
            def fib(self, n):
                return n if n < 2 else self.fib(n - 1) + self.fib(n - 2)

        return Numbers().fib

    return make


def _fib_slotted_method_with(decorate):
    """Instances without weak references: memoize's shared cache, keyed on self too."""

    def make():
        class Numbers:
            __slots__ = ()

            @decorate
            def fib(self, n):
                return n if n < 2 else self.fib(n - 1) + self.fib(n - 2)

        return Numbers().fib

    return make


def _fib_static_with(decorate):
    def make():
        class Numbers:
            @staticmethod
            @decorate
            def fib(n):
                return n if n < 2 else Numbers.fib(n - 1) + Numbers.fib(n - 2)

        return Numbers.fib

    return make


def _countdown_with(decorate):
    """For a cache that keeps nothing (maxsize=0): fib would take exponential time."""

    def make():
        @decorate
        def countdown(n):
            return 0 if n == 0 else countdown(n - 1) + 1

        return countdown

    make.expected = lambda n: n
    return make


DEPTH_CASES = {
    "plain": (_fib_with, memoize, functools.cache),
    "maxsize=128": (_fib_with, memoize(maxsize=128), functools.lru_cache(maxsize=128)),
    "maxsize=16": (_fib_with, memoize(maxsize=16), functools.lru_cache(maxsize=16)),
    "ttl": (_fib_with, memoize(ttl=3600.0), functools.cache),
    "typed": (_fib_with, memoize(typed=True), functools.lru_cache(maxsize=None, typed=True)),
    "key=": (_fib_with, memoize(key=lambda n: n), functools.cache),
    "method": (_fib_method_with, memoize, functools.cache),
    "method, no weak references": (_fib_slotted_method_with, memoize, functools.cache),
    "staticmethod": (_fib_static_with, memoize, functools.cache),
    "maxsize=0": (_countdown_with, memoize(0), functools.lru_cache(maxsize=0)),
}


def _least_a_python_wrapper_costs(fn):
    """A dict in front of ``fn``: a wrapper written in Python can cost no less than its frame."""
    cache = {}

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return cache[args]
        except KeyError:
            cache[args] = value = fn(*args)
            return value

    return wrapper


@pytest.mark.parametrize("case", DEPTH_CASES)
def test_recursion_reaches_at_least_the_depth_functools_reaches(case):
    """Measured here, at this process's limit and stack. On Python 3.11 functools pays two levels
    of the limit per recursion (its C wrapper and the function), and so must memoize. From 3.12
    on, C calls count against a separate limit, and a wrapper written in Python pays a level
    that functools' C wrapper does not: there memoize must reach what the least such wrapper, a
    dict in front of the function, reaches."""
    shape, ours, theirs = DEPTH_CASES[case]
    functools_depth = _reach(shape(theirs))
    python_wrapper_depth = _reach(shape(_least_a_python_wrapper_costs))
    assert min(functools_depth, python_wrapper_depth) > 100  # the measurements are sound
    reached = _reach(shape(ours))
    assert reached >= python_wrapper_depth
    if sys.version_info < (3, 12):
        assert reached >= functools_depth


def test_at_the_limit_values_are_right_and_everything_that_fit_is_cached():
    limit = _reach(_fib_with(memoize))
    fib = _fib_with(memoize)()
    assert fib(limit) == fib_table(limit)
    info = fib.cache_info()
    assert info.currsize >= limit - 1  # at most the deepest keys ran uncached
    assert fib(limit) == fib_table(limit) and fib.cache_info().hits == info.hits + 1


@pytest.mark.parametrize("maxsize", [3, 16, 128])
def test_bounded_recursion_computes_each_value_once_as_functools_does(maxsize):
    """Entries go to the most-recently-used end when computed, as functools inserts them, so a
    bounded cache smaller than the recursion still computes fib(n) in n + 1 computations."""
    ours = _fib_with(memoize(maxsize=maxsize))()
    theirs = _fib_with(functools.lru_cache(maxsize=maxsize))()
    assert ours(300) == theirs(300) == fib_table(300)
    assert ours.cache_info().misses == theirs.cache_info().misses == 301
    assert ours.cache_info().currsize == maxsize


# --- maxsize ------------------------------------------------------------------------------------


def test_maxsize_zero_caches_nothing_and_counts_every_call_as_functools():
    runs = []

    @memoize(0)
    def f(x):
        runs.append(x)
        return iter([x])  # one-shot results are fine when nothing is cached

    assert [list(f([1])), list(f([1])), list(f(2))] == [[[1]], [[1]], [2]]
    assert len(runs) == 3
    theirs = functools.lru_cache(maxsize=0)(lambda x: x)
    theirs(1), theirs(1), theirs(2)
    assert f.cache_info() == CacheInfo(*theirs.cache_info()) == CacheInfo(0, 3, 0, 0)
    f.cache_clear()
    assert f.cache_info() == CacheInfo(0, 0, 0, 0)


def test_a_negative_maxsize_is_zero_as_in_functools():
    f = memoize(maxsize=-10)(lambda x: x)
    f(1), f(1)
    assert f.cache_info() == CacheInfo(hits=0, misses=2, maxsize=0, currsize=0)


def test_maxsize_and_typed_may_be_positional_as_lru_cache_takes_them():
    @memoize(2, True)
    def f(x):
        return x

    f(1), f(1.0), f(1)
    assert f.cache_info() == CacheInfo(hits=1, misses=2, maxsize=2, currsize=2)
    assert f.cache_parameters() == {"maxsize": 2, "typed": True}
    assert memoize(None)(lambda: 1).cache_parameters()["maxsize"] is None
    g = memoize(lambda x: [x], ttl=5.0)  # the function in maxsize's place, with options
    assert g(1) is g(1) and g.cache_parameters()["ttl"] == 5.0


def test_memoize_written_above_staticmethod_or_classmethod_memoizes_the_function_inside():
    class Paths:
        calls = 0

        @memoize
        @classmethod
        def of(cls, n):
            cls.calls += 1
            return f"{cls.__name__}/{n}"

        @memoize(4)
        @staticmethod
        def square(n):
            return n * n

    assert Paths.of(1) == Paths().of(1) == "Paths/1" and Paths.calls == 1
    assert Paths.square(3) == Paths().square(3) == 9
    assert Paths.square.cache_info() == CacheInfo(hits=1, misses=1, maxsize=4, currsize=1)


def test_cache_parameters_are_functools_own_plus_the_options_in_use():
    def square(x):
        return x * x

    for options in ({}, {"maxsize": 7}, {"maxsize": 7, "typed": True}, {"maxsize": None}):
        ours = memoize(**options)(square)
        theirs = functools.lru_cache(**{"maxsize": None, **options})(square)
        assert ours.cache_parameters() == theirs.cache_parameters()
    clock = time.perf_counter
    keyed = memoize(ttl=3, key=str, timer=clock)(square)
    assert keyed.cache_parameters() == {
        "maxsize": None,
        "typed": False,
        "ttl": 3.0,
        "timer": clock,
        "key": str,
    }
    rebuilt = memoize(**keyed.cache_parameters())(square)
    assert rebuilt.cache_parameters() == keyed.cache_parameters()
    assert Holder.method.cache_parameters() == {"maxsize": None, "typed": False}


# --- pickling and copying -----------------------------------------------------------------------


@memoize
def module_square(x):
    return x * x


class Shapes:
    def __init__(self, side):
        self.side = side

    @memoize
    def area(self, times=1):
        return self.side * self.side * times

    @staticmethod
    @memoize
    def double(x):
        return 2 * x

    @classmethod
    @memoize
    def named(cls, suffix):
        return cls.__name__ + suffix


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_memoized_functions_methods_and_static_methods_pickle_by_reference(protocol):
    for memoized in (module_square, Shapes.area, Shapes.double):
        assert pickle.loads(pickle.dumps(memoized, protocol)) is memoized
    named = pickle.loads(pickle.dumps(Shapes.named, protocol))  # a method bound to the class
    assert named == Shapes.named and named("!") == "Shapes!"


def test_a_bound_memoized_method_pickles_with_its_instance_and_gets_its_own_cache():
    shape = Shapes(3)
    assert shape.area(2) == 18
    clone = pickle.loads(pickle.dumps(shape.area))
    assert clone.__self__ is not shape and clone.__self__.side == 3
    before = Shapes.area.cache_info()
    assert clone(2) == 18  # computed again: the clone's own cache is empty
    after = Shapes.area.cache_info()
    assert (after.hits, after.misses, after.currsize) == (
        before.hits,
        before.misses + 1,
        before.currsize + 1,
    )
    assert pickle.loads(pickle.dumps(shape)).area() == 9  # the instance itself pickles too


def test_copies_are_the_wrapper_itself_as_with_functools():
    part = functools.partial(lambda x, y: x + y, 2)
    for memoized in (module_square, Shapes.area, Shapes.double, memoize(2)(part)):
        assert copy.copy(memoized) is memoized
        assert copy.deepcopy(memoized) is memoized
    shape = Shapes(2)
    bound = shape.area
    assert copy.copy(bound) == bound  # the same instance's method
    deep = copy.deepcopy(bound)
    assert deep.__self__ is not shape and deep() == 4


def _square_in_child(x):
    return module_square(x), module_square.cache_info().misses


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_multiprocessing_sends_memoized_functions_and_methods_to_other_processes():
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        assert list(pool.map(module_square, [2, 3])) == [4, 9]
        assert list(pool.map(Shapes.double, [2, 3])) == [4, 6]
        assert list(pool.map(Shapes(3).area, [1, 2])) == [9, 18]
        value, misses = pool.submit(_square_in_child, 7).result()
        assert value == 49 and misses >= 1


# --- reentrancy -------------------------------------------------------------------------------


class _Tripwires:
    """Every builtin function replaced by a recording stand-in that calls the original."""

    def __init__(self):
        self.called: list[str] = []
        self.saved = {
            name: value
            for name, value in vars(builtins).items()
            if isinstance(value, types.BuiltinFunctionType)
        }

    def __enter__(self):
        wires = {name: self._wire(name, original) for name, original in self.saved.items()}
        builtins.__dict__.update(wires)  # a method call: no builtin runs once the first is wired
        return self

    def __exit__(self, *exc):
        builtins.__dict__.update(self.saved)

    def _wire(self, name, original):
        called = self.called

        def wire(*args, **kwargs):
            called.append(name)
            return original(*args, **kwargs)

        return wire


@pytest.mark.parametrize(
    "options",
    [{}, {"maxsize": 2}, {"maxsize": 0}, {"ttl": 60.0}, {"typed": True}, {"key": lambda x: x}],
)
def test_hits_and_misses_call_no_builtin_a_user_could_have_replaced(options):
    """A user may install a memoized builtin (``builtins.len = memoize(len)``, as CPython's tests
    do): the cache's own paths must never call back into it."""

    @memoize(**options)
    def fib(x):
        return x if x < 2 else fib(x - 1) + fib(x - 2)

    @memoize(**{**options, "key": None})
    def named(**keywords):
        return keywords["a"] - keywords["b"]

    holder = Holder()
    holder.method(Counted(1))  # its cache is made at its first call; then calls go through it
    item = Counted(3)
    with _Tripwires() as wires:
        results = [fib(20), fib(20), holder.method(item), holder.method(item)]
        results += [named(b=1, a=2), named(a=2, b=1)]
    assert results == [6765, 6765, 6, 6, 1, 1]
    assert wires.called == []


def test_a_memoized_len_installed_in_builtins_does_not_recurse_into_itself():
    original = builtins.len
    try:
        builtins.len = memoize(4)(original)
        assert [len("abcdefghijklmn"[:i]) for i in [0, 0, 1, 2, 3, 3, 4, 5, 6, 1]] == [
            0,
            0,
            1,
            2,
            3,
            3,
            4,
            5,
            6,
            1,
        ]
        bounded = memoize(2)(lambda x: [x])
        assert [bounded(i) for i in range(6)] == [[i] for i in range(6)]
    finally:
        builtins.len = original


# --- threads and the miss path's bookkeeping ----------------------------------------------------


def test_waiters_on_a_flight_wake_once_the_owner_lands_and_share_its_value():
    started, release = threading.Event(), threading.Event()
    runs = []

    @memoize(maxsize=4)
    def slow(x):
        runs.append(x)
        started.set()
        assert release.wait(10)
        return [x]

    results = []
    owner = threading.Thread(target=lambda: results.append(slow(1)))
    owner.start()
    assert started.wait(10)
    waiters = [threading.Thread(target=lambda: results.append(slow(1))) for _ in range(4)]
    for w in waiters:
        w.start()
    release.set()
    for t in [owner, *waiters]:
        t.join(10)
    assert runs == [1] and len(results) == 5 and all(r is results[0] for r in results)
    assert slow.__memo__.flights == {}
    assert slow.cache_info() == CacheInfo(hits=4, misses=1, maxsize=4, currsize=1)


def test_a_failed_computation_leaves_no_entry_counted_and_no_flight():
    @memoize(maxsize=8)
    def fragile(x):
        raise ValueError(x)

    for _ in range(3):
        with pytest.raises(ValueError):
            fragile(1)
    assert fragile.cache_info() == CacheInfo(hits=0, misses=3, maxsize=8, currsize=0)
    assert fragile.__memo__.flights == {}
