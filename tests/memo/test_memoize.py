"""memoize: keys, statistics, eviction, expiry, exceptions, threads, methods, coroutines, speed."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import sys
import threading
import time
import types
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memograd as mg
from memograd.fibonacci import fib_table
from memograd.memo import CacheInfo, memoize
from memograd.memo.wrapper import NO_ENTRY

# Every test here runs on the C front and on the pure-Python wrapper (tests/memo/conftest.py).
pytestmark = pytest.mark.usefixtures("hit_path")


def counted(fn):
    """``fn`` plus a list of the argument tuples it was really called with."""
    calls = []

    @functools.wraps(fn)
    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return fn(*args, **kwargs)

    spy.calls = calls
    spy.__signature__ = inspect.signature(fn)  # so memoize sees fn's parameters, not *args
    return spy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- basic caching and statistics -------------------------------------------------------------


def test_public_name_is_the_decorator():
    assert mg.memoize is memoize
    assert mg.CacheInfo is CacheInfo


def test_hits_and_misses_are_counted_and_the_function_runs_once_per_key():
    @memoize
    def square(x):
        square.runs += 1
        return x * x

    square.runs = 0
    assert [square(3), square(3), square(4), square(3), square(4)] == [9, 9, 16, 9, 16]
    assert square.runs == 2
    assert square.cache_info() == CacheInfo(hits=3, misses=2, maxsize=None, currsize=2)


def test_cache_clear_forgets_entries_and_statistics():
    f = memoize(counted(lambda x: x + 1))
    f(1), f(1)
    f.cache_clear()
    assert f.cache_info() == CacheInfo(0, 0, None, 0)
    assert f(1) == 2
    assert len(f.__wrapped__.calls) == 2


def test_after_a_failed_recursion_and_a_clear_the_size_counts_the_new_entries():
    """A computation that failed leaves its cell empty, and its exception's traceback keeps that
    cell alive in a reference cycle until a garbage collection. Once the cache is cleared such a
    cell is no longer an entry: it must not be subtracted from the new entries (it was, and
    ``currsize`` read 0 for 301 entries until the collector ran)."""

    @memoize
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    collecting = gc.isenabled()
    gc.disable()  # what a program between two collections sees
    try:
        with pytest.raises(RecursionError):
            fib(sys.getrecursionlimit() * 2)
        fib.cache_clear()
        assert fib(300) == 222232244629420445529739893461909967206666939096499764990979600
        assert fib.cache_info() == CacheInfo(hits=298, misses=301, maxsize=None, currsize=301)
    finally:
        if collecting:
            gc.enable()


def test_wrapper_keeps_name_doc_signature_and_wrapped():
    def area(width: float, height: float = 1.0) -> float:
        """Rectangle area."""
        return width * height

    cached = memoize(maxsize=4, ttl=2.5, typed=True)(area)
    assert cached.__name__ == "area"
    assert cached.__doc__ == "Rectangle area."
    assert cached.__wrapped__ is area
    assert str(inspect.signature(cached)) == str(inspect.signature(area))
    assert cached.cache_parameters() == {
        "maxsize": 4,
        "typed": True,
        "ttl": 2.5,
        "timer": time.monotonic,
    }
    assert cached(3.0) == 3.0 and cached(3.0, 2.0) == 6.0


def test_the_store_is_functools_c_lru_cache_not_a_python_fallback(hit_path):
    """The hit path's lookup must run in C: the store is CPython's C ``_lru_cache_wrapper``."""
    f = memoize(lambda x: x)
    store = f.__memo__.store
    assert type(store).__name__ == "_lru_cache_wrapper"
    assert not isinstance(store, types.FunctionType)  # the pure-Python lru_cache is a function
    generated = f.__generated__ if hit_path == "c" else f
    assert generated.__globals__["_mg_store"] is store  # the wrapper calls the store directly
    assert "_mg_store" in generated.__code__.co_names


def test_a_hit_is_one_exact_signature_frame_and_a_miss_adds_only_the_function(hit_path):
    """What keeps a hit near functools.cache (timed by ``make bench``, not here). On the C front
    a hit runs no Python frame at all, a miss the miss path and the function, and any other call
    (keywords, an omitted default) the generated wrapper, as the pure-Python path runs every call:
    the wrapper takes the function's own parameters (no ``*args``/``**kwargs`` to build), a hit
    runs no Python frame but the wrapper's (the lookup itself happens inside the C store), and a
    miss runs the function from the wrapper's own frame, with no helper in between (recursion
    depth)."""

    def area(width, height=1):
        return width * height

    f = memoize(area)
    generated = f.__generated__ if hit_path == "c" else f
    code = generated.__code__
    assert code.co_argcount == 2
    assert not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    assert generated.__defaults__ == (1,)
    f(3)
    if hit_path == "c":
        assert type(f).__name__ == "Memoized"
        assert python_frames(lambda: f(3, 1)) == []
        assert python_frames(lambda: f(3)) == ["memoized"]  # the default filled in Python
        assert python_frames(lambda: f(5, 1)) == ["memoized_miss", "area"]
        assert python_frames(lambda: f(6)) == ["memoized", "area"]
    else:
        assert python_frames(lambda: f(3, 1)) == ["memoized"]
        # And a miss (which shows that the probe sees what runs behind the store): the function.
        assert python_frames(lambda: f(5)) == ["memoized", "area"]


def python_frames(call):
    """The names of the Python functions that ``call()`` runs, itself left out."""
    frames = []
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call":
            frames.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(previous)
    return frames[1:]  # the first is call itself


# --- keys ------------------------------------------------------------------------------------


def test_keyword_order_positional_form_and_omitted_defaults_are_one_entry():
    f = memoize(counted(lambda a, b=2, *, c=3: a + 10 * b + 100 * c))
    assert {f(1), f(1, 2), f(a=1, b=2), f(b=2, a=1), f(1, c=3), f(c=3, b=2, a=1)} == {321}
    assert len(f.__wrapped__.calls) == 1
    assert f.cache_info().currsize == 1


def test_var_keyword_order_does_not_matter():
    f = memoize(counted(lambda *args, **options: (args, sorted(options.items()))))
    assert f(1, x=1, y=2) == f(1, y=2, x=1) == ((1,), [("x", 1), ("y", 2)])
    assert len(f.__wrapped__.calls) == 1


def test_positional_only_keyword_only_and_defaults_pass_through_unchanged():
    marker = []

    def f(a, /, b, *rest, c, d=marker, **extra):
        return a, b, rest, c, d is marker, extra

    cached = memoize(f)
    assert cached(1, 2, 3, c=4, e=5) == (1, 2, (3,), 4, True, {"e": 5})
    with pytest.raises(TypeError):
        cached(a=1, b=2, c=3)  # a is positional-only, as in f itself


def test_equal_numbers_share_an_entry_exactly_as_in_functools_unless_typed():
    """Python equality decides, through functools' own C key, so the two agree call for call.

    Its one quirk included: a lone int or str argument is its own key while any other lone
    argument is wrapped in a tuple, so ``f(1)`` and ``f(1.0)`` are two entries while
    ``f(1.0)`` and ``f(True)``, or ``f(1, 2)`` and ``f(1.0, 2)``, are one.
    """
    calls = [(1,), (1.0,), (True,), (1, 2), (1.0, 2), (1, 2.0), ("a",), (np.int64(1),)]
    ours = memoize(lambda *args: args)
    theirs = functools.cache(lambda *args: args)
    for args in calls:
        ours(*args), theirs(*args)
    assert ours.cache_info() == CacheInfo(*theirs.cache_info())
    assert ours.cache_info() == CacheInfo(hits=4, misses=4, maxsize=None, currsize=4)
    assert ours(1.0, 2) == (1, 2)  # the stored result of the first equal call comes back

    typed = memoize(typed=True)(counted(lambda x, y: (x, y)))
    assert type(typed(1, 2)[0]) is int and type(typed(1.0, 2)[0]) is float
    assert len(typed.__wrapped__.calls) == 2


def test_unhashable_containers_are_keyed_by_content_nested():
    f = memoize(counted(lambda x: repr(x)))
    f([1, [2, 3]])
    f([1, [2, 3]])
    f({"b": [1], "a": {2}})
    f({"a": {2}, "b": [1]})  # same dict, other insertion order
    f((1, [2]))
    f((1, [2]))
    f({1, 2})
    f({2, 1})
    f(bytearray(b"ab"))
    f(bytearray(b"ab"))
    assert len(f.__wrapped__.calls) == 5
    assert f.cache_info() == CacheInfo(hits=5, misses=5, maxsize=None, currsize=5)


def test_list_tuple_and_set_kinds_are_distinct_as_in_python():
    f = memoize(counted(lambda x: type(x).__name__))
    assert [f([1, [2]]), f((1, [2])), f([1, 2]), f({1, 2}), f(frozenset({1, 2}))] == [
        "list",
        "tuple",
        "list",
        "set",
        "frozenset",
    ]
    assert len(f.__wrapped__.calls) == 5


def test_content_key_is_taken_at_call_time_so_mutation_makes_a_new_entry():
    f = memoize(counted(sum))
    values = [1, 2]
    assert f(values) == 3
    values.append(4)
    assert f(values) == 7
    assert f([1, 2]) == 3
    assert len(f.__wrapped__.calls) == 2


def test_arrays_are_keyed_by_dtype_shape_and_bytes():
    f = memoize(counted(lambda a: float(a.sum())))
    a64 = np.arange(6, dtype=np.float64)
    assert f(a64) == 15.0
    assert f(a64.copy()) == 15.0  # equal array, another object: hit
    assert f(np.asfortranarray(a64.reshape(2, 3)).reshape(6)) == 15.0  # same values, hit
    f(a64.astype(np.float32))  # float32: another entry
    f(a64.reshape(2, 3))  # same bytes, other shape: another entry
    f(a64.reshape(3, 2))
    f(np.array([0, 1, 2, 3, 4, 6.0]))  # one value differs
    assert len(f.__wrapped__.calls) == 5
    assert f.cache_info().hits == 2


def test_fortran_and_c_ordered_equal_matrices_share_a_key():
    f = memoize(counted(lambda a: a.shape))
    m = np.arange(6.0).reshape(2, 3)
    f(m)
    f(np.asfortranarray(m))
    assert len(f.__wrapped__.calls) == 1


def test_object_arrays_are_keyed_by_their_elements_not_pointers():
    f = memoize(counted(lambda a: len(a)))
    f(np.array([[1], 2], dtype=object))
    f(np.array([[1], 2], dtype=object))  # new objects, equal contents
    f(np.array([[1], 3], dtype=object))
    assert len(f.__wrapped__.calls) == 2


def test_mixed_hashable_and_unhashable_arguments_and_keywords():
    f = memoize(counted(lambda x, y, *, z: (x, y, z)))
    f(1, [2], z={"k": [3]})
    f(1, y=[2], z={"k": [3]})
    f(1.0, [2], z={"k": [3]})
    f(2, [2], z={"k": [3]})
    assert len(f.__wrapped__.calls) == 2


class Opaque:
    __hash__ = None  # type: ignore[assignment]


def test_unkeyable_argument_error_names_its_type_and_parameter():
    def embed(tokens, table, *extra, scale=1.0):
        return 0

    f = memoize(embed)
    with pytest.raises(TypeError, match=r"argument 'table' of .*embed\(\).*type Opaque"):
        f([1], Opaque())
    with pytest.raises(TypeError, match=r"argument 'tokens\[1\]\['w'\]' .*element of type Opaque"):
        f([0, {"w": Opaque()}], 1)
    with pytest.raises(TypeError, match=r"argument 'extra\[1\]' .*Opaque"):
        f(1, 2, 3, Opaque())
    with pytest.raises(TypeError, match=r"argument 'scale' .*Opaque.*key="):
        f(1, 2, scale=Opaque())


def test_the_error_names_the_unkeyable_element_not_a_keyable_neighbour():
    f = memoize(lambda rows: rows)
    with pytest.raises(TypeError, match=r"argument 'rows\[1\]' .*element of type Opaque"):
        f([bytearray(b"ok"), Opaque()])
    with pytest.raises(TypeError, match=r"argument 'rows\[0\]\['k'\]\[1\]' .*Opaque"):
        f([{"k": (1, Opaque())}])
    assert f([bytearray(b"ok"), (1, 2)]) == [bytearray(b"ok"), (1, 2)]


def test_key_function_names_the_entry():
    f = memoize(key=lambda obj, scale: (obj.name, scale))(counted(lambda obj, scale: scale * 2))
    a, b = Opaque(), Opaque()
    a.name = b.name = "same"
    assert f(a, 1) == 2 and f(b, 1) == 2 and f(a, 2) == 4
    assert len(f.__wrapped__.calls) == 2


def test_key_function_may_return_a_list_but_not_an_unkeyable_object():
    f = memoize(key=lambda x: [x["id"]])(counted(lambda x: x["id"] * 10))
    assert f({"id": 1, "noise": Opaque()}) == 10
    assert f({"id": 1, "noise": Opaque()}) == 10
    assert len(f.__wrapped__.calls) == 1
    g = memoize(key=lambda x: Opaque())(lambda x: x)
    with pytest.raises(TypeError, match="key function .* Opaque"):
        g(1)


def test_type_error_raised_by_the_function_is_not_mistaken_for_an_unhashable_key():
    @memoize
    def f(x):
        raise TypeError("the function's own error")

    with pytest.raises(TypeError, match="the function's own error"):
        f(1)


def test_functions_with_reserved_parameter_names_get_the_generic_wrapper():
    def f(_mg_store, b=2, **kw):
        return _mg_store + b + sum(kw.values())

    cached = memoize(counted(f))
    assert cached(1) == 3 and cached(1, b=2) == 3 and cached(1, x=1, y=2) == 6
    assert cached(1, y=2, x=1) == 6
    assert cached.__wrapped__.calls == [((1,), {}), ((1,), {"b": 2}), ((1,), {"x": 1, "y": 2})]


# --- bounds and expiry -------------------------------------------------------------------------


def test_least_recently_used_entry_is_evicted_first():
    f = memoize(maxsize=2)(counted(lambda x: x))
    f(1), f(2)
    f(1)  # 1 is now the most recent: 2 is the oldest
    f(3)  # evicts 2
    assert f.cache_info() == CacheInfo(hits=1, misses=3, maxsize=2, currsize=2)
    f(1)  # still there
    f(2)  # evicted: computed again, evicts 3
    f(3)
    assert [args[0] for args, _ in f.__wrapped__.calls] == [1, 2, 3, 2, 3]


def test_entries_older_than_ttl_are_recomputed():
    clock = FakeClock()
    results = iter(range(100))
    f = memoize(ttl=10.0, timer=clock)(counted(lambda x: next(results)))
    assert f("a") == 0
    clock.now += 9.99
    assert f("a") == 0
    clock.now += 0.01  # exactly ttl old: expired
    assert f("a") == 1
    clock.now += 5
    assert f("a") == 1
    assert f.cache_info() == CacheInfo(hits=2, misses=2, maxsize=None, currsize=1)


def test_ttl_applies_to_content_keyed_calls_too():
    clock = FakeClock()
    f = memoize(ttl=1.0, timer=clock)(counted(len))
    f([1, 2]), f([1, 2])
    clock.now += 1.5
    f([1, 2])
    assert len(f.__wrapped__.calls) == 2


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"maxsize": True}, TypeError, "maxsize must be None .* a whole number, got True"),
        ({"maxsize": 2.5}, TypeError, "got 2.5"),
        ({"maxsize": "128"}, TypeError, "got '128'"),
        ({"ttl": 0}, ValueError, "ttl must be a finite number of seconds > 0, got 0"),
        ({"ttl": float("nan")}, ValueError, "got nan"),
        ({"ttl": "1"}, TypeError, "ttl must be a number of seconds or None, got '1'"),
        ({"typed": "yes"}, TypeError, "typed must be True or False, got 'yes'"),
        ({"key": 3}, TypeError, "key must be a function"),
        ({"timer": 3}, TypeError, "timer must be a function"),
    ],
)
def test_bad_options_are_refused_with_the_value(options, error, pattern):
    with pytest.raises(error, match=pattern):
        memoize(**options)


def test_non_functions_are_refused_by_name():
    with pytest.raises(TypeError, match=r"expected a function to decorate, got 3"):
        memoize(128)(3)


# --- exceptions --------------------------------------------------------------------------------


def test_exceptions_are_not_cached():
    attempts = []

    @memoize
    def flaky(x):
        attempts.append(x)
        if len(attempts) == 1:
            raise ConnectionError("first try fails")
        return x * 2

    with pytest.raises(ConnectionError):
        flaky(5)
    assert flaky.cache_info().currsize == 0
    assert flaky(5) == 10
    assert flaky(5) == 10
    assert attempts == [5, 5]
    assert flaky.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=1)


# --- threads -----------------------------------------------------------------------------------


def _run_threads(count, target):
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)


def test_eight_threads_asking_for_one_new_key_compute_it_once():
    runs = []
    start = threading.Barrier(8)

    @memoize
    def slow(x):
        runs.append(x)
        time.sleep(0.2)
        return object()  # identity shows every thread got the very same result

    results = [None] * 8

    def worker(i):
        start.wait()
        results[i] = slow("key")

    _run_threads(8, worker)
    assert len(runs) == 1
    assert all(r is results[0] for r in results)
    assert slow.cache_info() == CacheInfo(hits=7, misses=1, maxsize=None, currsize=1)


def test_waiting_threads_share_the_exception_and_the_next_call_recomputes():
    runs = []
    start = threading.Barrier(8)

    @memoize
    def failing(x):
        runs.append(x)
        time.sleep(0.2)
        if len(runs) == 1:
            raise ValueError("boom")
        return "ok"

    outcomes = [None] * 8

    def worker(i):
        start.wait()
        try:
            outcomes[i] = failing(1)
        except ValueError as error:
            outcomes[i] = str(error)

    _run_threads(8, worker)
    assert outcomes == ["boom"] * 8 and len(runs) == 1
    assert failing(1) == "ok" and len(runs) == 2


def test_different_keys_compute_in_parallel():
    """Both calls must be inside the function at once, or the barrier times out."""
    both_inside = threading.Barrier(2, timeout=5)

    @memoize
    def meet(x):
        both_inside.wait()
        return x

    results = {}

    def worker(i):
        results[i] = meet(i)

    _run_threads(2, worker)
    assert results == {0: 0, 1: 1}
    assert not both_inside.broken


def test_recursive_memoized_function_works_and_computes_each_value_once():
    @memoize
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(120) == fib_table(120)
    # fib(k) for k = 0..120 computed once; each of the 119 with k >= 2 asks for two values:
    # 1 + 2 * 119 = 239 calls, 121 of them computing.
    assert fib.cache_info() == CacheInfo(hits=118, misses=121, maxsize=None, currsize=121)


def test_recursion_from_several_threads_at_once_agrees():
    @memoize
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    results = [None] * 4

    def worker(i):
        results[i] = fib(90 + i)

    _run_threads(4, worker)
    assert results == [fib_table(90 + i) for i in range(4)]
    assert fib.cache_info().misses == 94  # 0..93, once each


# --- methods -----------------------------------------------------------------------------------


class Model:
    def __init__(self, scale):
        self.scale = scale
        self.runs = 0

    @memoize
    def predict(self, x):
        """Scaled input."""
        self.runs += 1
        return self.scale * x

    @memoize(maxsize=1)
    def bounded(self, x):
        self.runs += 1
        return x

    @staticmethod
    @memoize
    def helper(x):
        return x + 1


def test_methods_cache_per_instance():
    gc.collect()
    before = Model.predict.cache_info()
    a, b = Model(2), Model(3)
    assert [a.predict(5), a.predict(5), b.predict(5), b.predict(5)] == [10, 10, 15, 15]
    assert a.runs == 1 and b.runs == 1
    after = Model.predict.cache_info()  # the class attribute sums every instance
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 2)
    assert a.predict.cache_info() == after  # as with functools, a bound method reports the same
    assert a.predict.__doc__ == "Scaled input." and a.predict.__self__ is a


def test_instances_are_collected_after_their_last_reference_is_gone():
    gc.collect()
    registered = len(Model.predict.__caches__.instances)
    a = Model(2)
    a.predict(1)
    a.bounded(1)
    assert len(Model.predict.__caches__.instances) == registered + 1
    alive = weakref.ref(a)
    del a
    assert alive() is None  # no gc.collect() needed: the caches hold no reference to it
    assert len(Model.predict.__caches__.instances) == registered  # and its cache went with it


def test_a_temporary_instance_can_call_its_memoized_method():
    assert Model(4).predict(2) == 8


def test_per_instance_maxsize_and_clear():
    a = Model(1)
    a.bounded(1), a.bounded(2), a.bounded(1)
    assert a.runs == 3
    a.predict(1)
    Model.predict.cache_clear()
    assert a.predict.cache_info() == CacheInfo(0, 0, None, 0)


def test_static_memoized_method_caches_on_its_arguments():
    assert Model.helper(1) == 2 and Model(0).helper(1) == 2
    assert Model.helper.cache_info().misses == 1


def test_instances_without_weak_references_share_one_cache_as_in_functools():
    """Without weak references an instance cannot have a cache that lets it go: such instances
    share one cache keyed on ``self`` and the arguments, which keeps them alive, as functools'."""

    class Slotted:
        __slots__ = ("v",)

        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return type(other) is Slotted and other.v == self.v

        def __hash__(self):
            return hash(self.v)

        @memoize
        def get(self, x):
            return self.v * x

    a, b, c = Slotted(2), Slotted(2), Slotted(3)
    assert [a.get(5), b.get(5), c.get(5)] == [10, 10, 15]
    assert Slotted.get.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)


def test_a_method_is_bound_in_c_and_a_hit_runs_no_frame_but_the_wrappers(hit_path):
    """What keeps a method hit near functools' (timed by ``make bench``, not here). On the C front
    the class attribute is the front, which CPython treats as a method (no bound method made),
    and a hit on the instance called last runs no Python frame at all; another instance goes
    through the generated wrapper, which makes it the last one. On the pure-Python path the class
    attribute is a plain function, which CPython binds in C, and a hit finds the instance's cache
    and its value in that one frame. A miss adds only the user's method (recursion depth)."""

    class Scaled:
        def __init__(self, scale):
            self.scale = scale

        @memoize
        def predict(self, x):
            return self.scale * x

    attribute = Scaled.__dict__["predict"]
    a, b = Scaled(2), Scaled(3)
    a.predict(1), b.predict(1)
    if hit_path == "c":
        assert type(attribute).__name__ == "Memoized"
        assert python_frames(lambda: a.predict(1)) == ["memoized"]  # b was last: the registry
        assert python_frames(lambda: a.predict(1)) == []  # the instance called last
        assert python_frames(lambda: Scaled.predict(a, 1)) == []  # through the class: the same
        assert python_frames(lambda: a.predict(2)) == ["memoized_miss", "predict"]
        assert python_frames(lambda: a.predict(x=1)) == ["memoized"]
    else:
        assert isinstance(attribute, types.FunctionType)
        assert python_frames(lambda: a.predict(1)) == ["memoized"]  # b was last: the registry
        assert python_frames(lambda: a.predict(1)) == ["memoized"]  # the instance called last
        assert python_frames(lambda: a.predict(2)) == ["memoized", "predict"]
    assert [a.predict(1), b.predict(1), a.predict(2)] == [2, 3, 4]


def test_a_method_called_through_its_class_on_none_is_keyed_on_none_as_in_functools(hit_path):
    """``Model.method(None, x)``: the last-called entry's reference must never give None back
    (a dead reference does), or None would take that entry for its own, and it did: the call
    failed on the entry's missing store. None cannot be weakly referenced, so it shares the
    cache keyed on ``self``, as functools keys every call."""

    class Plain:
        @memoize
        def pair(self, x):
            return (self, x)

    assert Plain.pair(None, 7) == (None, 7) and Plain.pair(None, 7) == (None, 7)
    assert Plain().pair(7)[1] == 7
    assert Plain.pair(None, 7) == (None, 7)
    assert Plain.pair.cache_info() == CacheInfo(hits=2, misses=2, maxsize=None, currsize=2)


def wrapper_globals(memoized):
    """The globals of the generated wrapper, behind the C front or not."""
    return getattr(memoized, "__generated__", memoized).__globals__


def test_a_new_object_at_a_dead_instances_id_never_gets_its_values():
    """CPython reuses a freed object's address, so ids repeat: the entry of an instance that is
    gone must never answer for a new object with the same id, even if its removal never ran."""
    gc.collect()
    dead = Model(2)
    assert dead.predict(5) == 10
    dead_id = id(dead)
    stale = Model.predict.__caches__.instances[dead_id]
    del dead
    assert dead_id not in Model.predict.__caches__.instances  # removed when it went
    reused = None
    for _ in range(1000):  # almost always the first try: the freed block is handed out again
        candidate = Model(7)
        if id(candidate) == dead_id:
            reused = candidate
            break
    assert reused is not None, "CPython did not reuse the id: this test would prove nothing"
    assert reused.predict(5) == 35 and reused.runs == 1
    # As if the removal had failed: the dead instance's entry, values and all, under that id.
    assert stale[2].cache_info().currsize == 1 and stale[0]() is None
    fresh = Model(4)
    Model.predict.__caches__.instances[id(fresh)] = stale
    wrapper_globals(Model.predict)["_mg_recent"] = stale
    assert fresh.predict(5) == 20 and fresh.runs == 1
    assert Model.predict.__caches__.instances[id(fresh)][0]() is fresh  # replaced, not trusted


def test_an_instance_in_a_reference_cycle_takes_its_cache_along_when_collected():
    class Result:
        pass

    class Node:
        @memoize
        def compute(self, x):
            return Result()

    node = Node()
    node.me = node  # a cycle: only the garbage collector frees it
    result = weakref.ref(node.compute(1))
    assert wrapper_globals(Node.compute)["_mg_recent"][0]() is node
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None and result() is None  # the instance, and the value it cached
    assert Node.compute.__caches__.instances == {}
    assert wrapper_globals(Node.compute)["_mg_recent"] is NO_ENTRY  # nor kept as the last called
    assert Node.compute.cache_info() == CacheInfo(hits=0, misses=0, maxsize=None, currsize=0)


def test_threads_on_many_instances_each_get_their_own_values():
    """Threads calling different instances replace the cache of the instance called last all the
    time: none may ever see another instance's value."""

    class Scaled:
        def __init__(self, scale):
            self.scale = scale

        @memoize
        def times(self, x):
            return self.scale * x

    instances = [Scaled(k) for k in range(1, 9)]
    wrong = []

    def worker(i):
        mine, other = instances[i], instances[(i + 1) % 8]
        for round_ in range(1500):
            x = round_ % 10
            if mine.times(x) != mine.scale * x or other.times(x) != other.scale * x:
                wrong.append((i, x))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _run_threads(8, worker)
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
    info = Scaled.times.cache_info()
    assert info.misses == 80 and info.currsize == 80  # 10 keys each, each computed once
    assert info.hits == 8 * 1500 * 2 - 80


def test_calls_through_the_class_use_the_instances_own_cache():
    """``Model.predict(obj, x)`` is the same call as ``obj.predict(x)``: one cache entry, kept
    with the instance, which the cache does not keep alive."""
    a = Model(2)
    assert Model.predict(a, 5) == 10 and a.predict(5) == 10 and Model.predict(a, x=5) == 10
    assert a.runs == 1
    alive = weakref.ref(a)
    del a
    assert alive() is None


def test_a_subclass_overriding_a_memoized_method_has_a_cache_of_its_own():
    class Base:
        def __init__(self):
            self.calls = []

        @memoize
        def value(self, x):
            self.calls.append(("base", x))
            return x * 10

        @memoize
        def label(self):
            return type(self).__name__

    class Derived(Base):
        @memoize
        def value(self, x):
            self.calls.append(("derived", x))
            return super().value(x) + 1

    d, b = Derived(), Base()
    assert [d.value(2), d.value(2), b.value(2)] == [21, 21, 20]
    assert (d.label(), b.label()) == ("Derived", "Base")
    assert d.calls == [("derived", 2), ("base", 2)] and b.calls == [("base", 2)]
    assert Derived.value.cache_info() == CacheInfo(hits=1, misses=1, maxsize=None, currsize=1)
    assert Base.value.cache_info() == CacheInfo(hits=0, misses=2, maxsize=None, currsize=2)
    assert Base.value(d, 2) == 20 and len(d.calls) == 2  # the base's cache of d answers


def test_slots_with_a_weakref_slot_get_a_cache_per_instance_that_lets_them_go():
    class Slotted:
        __slots__ = ("v", "__weakref__")

        def __init__(self, v):
            self.v = v

        @memoize
        def get(self, x):
            return self.v * x

    a, b = Slotted(2), Slotted(3)
    assert [a.get(5), b.get(5), a.get(5)] == [10, 15, 10]
    assert len(Slotted.get.__caches__.instances) == 2
    alive = weakref.ref(a)
    del a
    assert alive() is None and len(Slotted.get.__caches__.instances) == 1


def test_instances_without_weak_references_key_on_self_with_a_key_function_too():
    """The shared cache keys on the instance and on what ``key=`` makes of the other
    arguments (which is all it is given, as on any method)."""

    class Point(tuple):
        @memoize(key=lambda values, noise: values)
        def total(self, values, noise):
            return self[0] + sum(values)

    p, q = Point((1,)), Point((2,))
    assert [p.total((1, 2), object()), q.total((1, 2), object()), p.total((1, 2), [])] == [4, 5, 4]
    assert Point.total.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    # A key the store cannot hash is keyed by content, with the instance still in it.
    assert [p.total([1, 2], None), q.total([1, 2], None), q.total([1, 2], 0)] == [4, 5, 5]
    assert Point.total.cache_info() == CacheInfo(hits=2, misses=4, maxsize=None, currsize=4)


def test_stacked_descriptors_keep_working_on_memoized_methods():
    class Stack:
        def __init__(self, side):
            self.side = side
            self.runs = 0

        @property
        @memoize
        def area(self):
            self.runs += 1
            return self.side * self.side

        @classmethod
        @memoize
        def make(cls, side):
            return (cls.__name__, side)

        @staticmethod
        @memoize
        def twice(x):
            return [x, x]

        @memoize
        @staticmethod
        def thrice(x):
            return [x] * 3

    s = Stack(3)
    assert [s.area, s.area] == [9, 9] and s.runs == 1  # the property's cache is s's own
    assert Stack.make(2) == s.make(2) == ("Stack", 2)
    assert Stack.make.cache_info() == CacheInfo(hits=1, misses=1, maxsize=None, currsize=1)
    assert Stack.twice(1) is s.twice(1) and Stack.thrice(2) is s.thrice(2)
    alive = weakref.ref(s)
    del s
    assert alive() is None


def test_memoized_methods_with_ttl_maxsize_zero_and_defaults():
    clock = FakeClock()

    class Options:
        def __init__(self):
            self.runs = 0

        @memoize(ttl=5.0, timer=clock)
        def fresh(self, x, scale=2):
            self.runs += 1
            return x * scale

        @memoize(0)
        def never(self, x):
            self.runs += 1
            return x

    o = Options()
    assert [o.fresh(1), o.fresh(1, 2), o.fresh(x=1, scale=2)] == [2, 2, 2] and o.runs == 1
    clock.now += 5.0
    assert o.fresh(1) == 2 and o.runs == 2
    assert [o.never(1), o.never(1)] == [1, 1] and o.runs == 4
    assert Options.never.cache_info() == CacheInfo(hits=0, misses=2, maxsize=0, currsize=0)


# --- coroutines --------------------------------------------------------------------------------


def test_async_function_caches_the_awaited_result_and_shares_concurrent_awaits():
    runs = []

    @memoize
    async def fetch(x):
        runs.append(x)
        await asyncio.sleep(0.05)
        return x * 10

    async def main():
        first = await asyncio.gather(*(fetch(1) for _ in range(5)), fetch(2))
        again = await fetch(1)
        return first, again

    first, again = asyncio.run(main())
    assert first == [10, 10, 10, 10, 10, 20] and again == 10
    assert sorted(runs) == [1, 2]
    assert fetch.cache_info() == CacheInfo(hits=5, misses=2, maxsize=None, currsize=2)
    assert inspect.iscoroutinefunction(fetch)


def test_async_exception_is_shared_then_not_cached():
    runs = []

    @memoize
    async def fragile(x):
        runs.append(x)
        await asyncio.sleep(0.01)
        if len(runs) == 1:
            raise RuntimeError("transient")
        return "fine"

    async def main():
        outcomes = await asyncio.gather(fragile(1), fragile(1), return_exceptions=True)
        return outcomes, await fragile(1)

    outcomes, later = asyncio.run(main())
    assert [str(o) for o in outcomes] == ["transient", "transient"]
    assert later == "fine" and len(runs) == 2
    assert fragile.cache_info().currsize == 1


def test_cancelling_one_awaiter_does_not_cancel_the_shared_computation():
    runs = []

    @memoize
    async def slow(x):
        runs.append(x)
        await asyncio.sleep(0.05)
        return x

    async def main():
        impatient = asyncio.ensure_future(slow(7))
        patient = asyncio.ensure_future(slow(7))
        await asyncio.sleep(0.01)
        impatient.cancel()
        return await patient, impatient.cancelled()

    assert asyncio.run(main()) == (7, True)
    assert runs == [7]


def test_async_cache_survives_across_event_loops():
    @memoize
    async def value(x):
        return [x]

    first = asyncio.run(value(1))
    assert asyncio.run(value(1)) is first


def test_async_method_caches_per_instance():
    class Client:
        def __init__(self):
            self.runs = 0

        @memoize
        async def get(self, path):
            self.runs += 1
            return path.upper()

    client = Client()

    async def main():
        return await asyncio.gather(client.get("a"), client.get("a"))

    assert asyncio.run(main()) == ["A", "A"] and client.runs == 1


def test_builtins_with_and_without_a_signature_are_memoized():
    cached_len, cached_max = memoize(len), memoize(max)
    assert cached_len([1, 2]) == 2 and cached_len([1, 2]) == 2
    assert cached_max(3, 9, 4) == 9 and cached_max([3, 9], default=0) == 9
    assert cached_len.cache_info().hits == 1 and cached_max.cache_info().misses == 2


def test_a_plain_function_returning_a_coroutine_is_refused_not_cached():
    async def work():
        return 1

    f = memoize(lambda: work())
    with pytest.raises(TypeError, match="returned a coroutine, which can be awaited only once"):
        f()
    assert f.cache_info().currsize == 0


def test_content_keys_follow_typed_too():
    untyped = memoize(counted(lambda xs: xs))
    untyped([1, 2]), untyped([1.0, 2])
    typed = memoize(typed=True)(counted(lambda xs: xs))
    typed([1, 2]), typed([1.0, 2])
    assert len(untyped.__wrapped__.calls) == 1 and len(typed.__wrapped__.calls) == 2


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt in the thread that computes."""


def test_an_interrupted_computation_is_not_shared_a_waiter_computes_instead():
    runs = []
    entered = threading.Event()

    @memoize
    def work(x):
        runs.append(threading.get_ident())
        entered.set()
        time.sleep(0.2)
        if len(runs) == 1:
            raise Interrupted
        return "done"

    outcome = {}

    def first():
        try:
            work(1)
        except Interrupted:
            outcome["first"] = "interrupted"

    def second():
        entered.wait(5)
        outcome["second"] = work(1)  # waits on the first thread's flight, then retries

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert outcome == {"first": "interrupted", "second": "done"}
    assert len(runs) == 2 and runs[0] != runs[1]


def test_key_function_on_a_method_gets_the_arguments_after_self():
    class Tokenizer:
        def __init__(self):
            self.runs = 0

        @memoize(key=lambda text, options: (text, options["lower"]))
        def tokens(self, text, options):
            self.runs += 1
            return text.lower().split() if options["lower"] else text.split()

    t = Tokenizer()
    assert t.tokens("A b", {"lower": True, "noise": Opaque()}) == ["a", "b"]
    assert t.tokens("A b", {"lower": True, "noise": Opaque()}) == ["a", "b"]
    assert t.runs == 1


def test_unhashable_instances_still_get_their_own_cache():
    """The registry keys instances by identity, so an __eq__ without __hash__ is no obstacle."""

    class Point:
        __hash__ = None  # type: ignore[assignment]

        def __init__(self, x):
            self.x = x

        def __eq__(self, other):
            return isinstance(other, Point) and other.x == self.x

        @memoize
        def shifted(self, dx):
            return self.x + dx

    p, q = Point(1), Point(1)
    assert p.shifted(2) == 3 and q.shifted(2) == 3 and p.shifted(2) == 3
    assert Point.shifted.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)


def test_unbounded_by_default_keeps_every_entry():
    f = memoize(counted(lambda x: x * 2))
    for x in range(3000):
        f(x)
    assert [f(x) for x in range(3000)] == [2 * x for x in range(3000)]
    assert f.cache_info() == CacheInfo(hits=3000, misses=3000, maxsize=None, currsize=3000)


@settings(max_examples=60, deadline=None)
@given(
    maxsize=st.sampled_from([1, 2, 3, 5, None]),
    calls=st.lists(st.integers(min_value=0, max_value=6), max_size=40),
)
def test_eviction_and_statistics_match_functools_lru_cache_call_for_call(maxsize, calls):
    ours = memoize(maxsize=maxsize)(lambda x: x * 3)
    theirs = functools.lru_cache(maxsize=maxsize)(lambda x: x * 3)
    for x in calls:
        assert ours(x) == theirs(x)
        assert ours.cache_info() == CacheInfo(*theirs.cache_info())


def test_content_keyed_arguments_are_not_kept_alive_by_the_cache():
    f = memoize(lambda a: float(a.sum()))
    array = np.arange(10.0)
    alive = weakref.ref(array)
    assert f(array) == 45.0
    del array
    gc.collect()
    assert alive() is None  # the key holds the array's bytes, not the array
    assert f(np.arange(10.0)) == 45.0 and f.cache_info().hits == 1


def test_clear_during_a_computation_lets_it_finish_and_store_its_value_as_functools_does():
    """After a clear the key is new to the cache: a caller computes it again (as with functools),
    and the computation that started before the clear still stores its value when it ends."""
    runs = []
    inside, release = threading.Event(), threading.Event()

    @memoize
    def slow(x):
        runs.append(x)
        inside.set()
        release.wait(5)
        return [x * 2]

    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", slow(4)))
    first.start()
    assert inside.wait(5)
    slow.cache_clear()
    inside.clear()
    second = threading.Thread(target=lambda: results.setdefault("second", slow(4)))
    second.start()
    assert inside.wait(5)  # the second call computes: the clear forgot the first one's entry
    release.set()
    first.join(5)
    second.join(5)
    assert results["first"] == results["second"] == [8] and runs == [4, 4]
    assert slow(4) == [8] and runs == [4, 4]
    assert slow.cache_info().currsize == 1


def test_a_generator_result_is_refused_not_cached():
    def squares(n):
        yield from (i * i for i in range(n))

    f = memoize(squares)
    with pytest.raises(TypeError, match="returned a generator, which can be iterated only once"):
        f(3)
    assert f.cache_info().currsize == 0


def test_async_results_expire_after_ttl():
    clock = FakeClock()
    results = iter(range(10))

    @memoize(ttl=5.0, timer=clock)
    async def fetch(key):
        return next(results)

    async def main():
        first = await fetch("k")
        clock.now += 4.9
        cached = await fetch("k")
        clock.now += 0.1
        return first, cached, await fetch("k")

    assert asyncio.run(main()) == (0, 0, 1)
    assert fetch.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=1)
