"""The C front of a plain memoized function (memograd/memo/_speedups.c): what only it can get wrong.

Behaviour shared with the pure-Python wrapper (keys, statistics, single-flight, recursion depth,
CPython's TestLRU) is tested on both paths by the other modules here (``hit_path``). This module
checks that the extension is built where it can be, which functions get it, and the C object's
own contract: references, the argument copies, the checks of its constructor, binding, pickling.
"""

from __future__ import annotations

import copy
import gc
import os
import pickle
import platform
import shutil
import subprocess
import sys
import sysconfig
import weakref

import pytest

from memograd.memo import memoize, wrapper
from memograd.memo.cache import Cell

Memoized = wrapper.Memoized
needs_front = pytest.mark.skipif(Memoized is None, reason="memograd.memo._speedups is not built")


def test_the_extension_is_built_wherever_a_c_compiler_is_found():
    """setup.py builds it as optional: a failed build would pass silently at install, and
    memoize would quietly run at its pure-Python speed. Where a compiler exists (and always in
    CI) it must have been built."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not (os.environ.get("CI") or shutil.which(compiler)):
        pytest.skip(f"no C compiler ({compiler}) on this machine")
    assert Memoized is not None, "memograd.memo._speedups did not build: see pip install -v"


@needs_front
@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, True),
        ({"maxsize": 16}, True),
        ({"typed": True}, True),
        ({"maxsize": 0}, False),
        ({"ttl": 60}, False),
        ({"key": lambda n: n}, False),
    ],
)
def test_the_front_serves_in_memory_caches_without_ttl_or_key(options, expected):
    def f(n):
        return n + 1

    assert isinstance(memoize(**options)(f), Memoized) is expected


@needs_front
def test_the_front_serves_only_signatures_callable_by_position():
    def by_position(a, b=2, /):
        return a

    def with_varargs(*args):
        return args

    def with_keyword_only(a, *, b=2):
        return a

    def with_kwargs(a, **kwargs):
        return a

    async def coroutine(a):
        return a

    assert isinstance(memoize(by_position), Memoized)
    for fn in (with_varargs, with_keyword_only, with_kwargs, coroutine):
        assert not isinstance(memoize(fn), Memoized), fn.__name__
    assert isinstance(memoize(len), Memoized)  # (obj, /)
    assert not isinstance(memoize(max), Memoized)  # no signature: the generic wrapper


@needs_front
def test_hits_and_misses_leak_no_reference():
    """Every reference the C path takes it gives back: the result's, the cell's, the key's."""
    result = object()
    argument = object()
    f = memoize(lambda x: result)
    f(argument)
    gc.collect()
    before = sys.getrefcount(result), sys.getrefcount(argument)
    for _ in range(1000):
        assert f(argument) is result
    gc.collect()
    assert (sys.getrefcount(result), sys.getrefcount(argument)) == before
    cell = f.__memo__.store(argument)
    cell_references = sys.getrefcount(cell)
    for _ in range(1000):
        f(argument)
    assert sys.getrefcount(cell) == cell_references


@needs_front
def test_a_failed_computation_leaks_no_reference_to_its_arguments():
    argument = object()

    @memoize
    def fails(x):
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        fails(argument)  # the store keeps the key, with an empty cell
    gc.collect()
    before = sys.getrefcount(argument)
    for _ in range(100):
        with pytest.raises(ValueError, match="no"):
            fails(argument)
    gc.collect()
    assert sys.getrefcount(argument) == before
    assert fails.cache_info().misses == 101


@pytest.mark.parametrize("count", [0, 1, 7, 8, 30])
def test_any_number_of_positional_arguments_reaches_the_function_in_order(count):
    """Seven arguments or fewer go through a buffer on the C stack, more through the heap."""
    names = ", ".join(f"a{i}" for i in range(count))
    namespace: dict = {}
    exec(f"def f({names}):\n    return ({names}{',' if count == 1 else ''})", namespace)
    f = memoize(namespace["f"])
    arguments = tuple(range(100, 100 + count))
    assert f(*arguments) == arguments  # a miss: miss(cell, *arguments)
    assert f(*arguments) == arguments  # a hit
    assert f.cache_info() == (1, 1, None, 1)
    if count:
        unhashable = ([1], *arguments[1:])
        assert f(*unhashable) == unhashable  # by content: by_content(error, *arguments)
        assert f(*unhashable) == unhashable
        assert f.cache_info() == (2, 2, None, 2)


@needs_front
def test_the_constructor_refuses_what_would_read_the_wrong_memory():
    store = memoize(lambda x: x).__memo__.store

    class NoSlot:
        pass

    class IntSlot:
        __slots__ = ()
        value = 3

    def callable_(*args):
        return args

    with pytest.raises(TypeError, match="has no 'value' slot"):
        Memoized(store, callable_, callable_, callable_, NoSlot, 1)
    with pytest.raises(TypeError, match="has no 'value' slot"):
        Memoized(store, callable_, callable_, callable_, IntSlot, 1)
    with pytest.raises(TypeError, match="miss must be callable"):
        Memoized(store, 3, callable_, callable_, Cell, 1)
    with pytest.raises(ValueError, match="nargs must be >= 0"):
        Memoized(store, callable_, callable_, callable_, Cell, -1)


@needs_front
def test_a_store_that_returns_anything_but_a_cell_is_an_error_not_a_memory_read():
    def not_a_store(*args):
        return "a string where a cell belongs"

    def never(*args):
        raise AssertionError("not reached")

    front = Memoized(not_a_store, never, never, never, Cell, 1)
    with pytest.raises(SystemError, match="not a cell"):
        front(1)


@needs_front
def test_errors_of_the_arguments_own_hash_reach_the_caller():
    class Broken:
        def __hash__(self):
            raise ZeroDivisionError("hash")

    f = memoize(lambda x: x)
    with pytest.raises(ZeroDivisionError, match="hash"):
        f(Broken())
    assert f.cache_info().misses == 0


@needs_front
def test_it_binds_as_a_method_is_weakly_referenced_and_has_a_readable_repr():
    def twice(self, n):
        return 2 * n

    front = memoize(twice)

    class Holder:
        method = front

    holder = Holder()
    assert holder.method(4) == 8 and Holder.method is front
    assert holder.method.__self__ is holder and holder.method.__func__ is front
    reference = weakref.ref(front)
    assert reference() is front
    assert repr(front).startswith("<memoized function test_it_binds_as_a_method")
    assert front.__name__ == "twice" and front.__wrapped__ is twice
    del front, Holder.method
    gc.collect()
    assert reference() is None  # no cycle of its own keeps it alive


@memoize
def module_square(n):
    return n * n


@needs_front
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_it_pickles_by_reference_and_copies_as_itself(protocol):
    assert isinstance(module_square, Memoized)
    assert pickle.loads(pickle.dumps(module_square, protocol)) is module_square
    assert copy.copy(module_square) is module_square
    assert copy.deepcopy(module_square) is module_square


DEEP_RECURSION = """
import sys, threading
import memograd as mg
from memograd.memo import wrapper
assert wrapper.Memoized is not None
sys.setrecursionlimit(10**6)

@mg.memoize
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def deep(report):
    try:
        fib(200_000)
        report.append("computed")
    except RecursionError as error:
        report.append(str(error))
    fib.cache_clear()
    report.append(fib(400) > 0)

report = []
if sys.argv[1] == "thread":
    threading.stack_size(4 * 1024 * 1024)
    thread = threading.Thread(target=deep, args=(report,))
    thread.start()
    thread.join()
else:
    deep(report)
print(report[0])
print(report[1])
"""


@needs_front
@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the C stack's bounds are read from glibc"
)
@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_deep_recursion_under_a_raised_limit_raises_instead_of_overflowing_the_c_stack(where):
    """Each nested call through the C front is a C frame and an interpreter loop on the C stack,
    as with functools' wrapper, which on Python 3.11 kills the process here (a segmentation
    fault) once the recursion limit is raised far enough. The front stops with RecursionError
    while an eighth of the stack (at most 512 KiB) is left, and the cache goes on working. From
    Python 3.12 on, the interpreter counts C recursion too and may stop the recursion first."""
    run = subprocess.run(
        [sys.executable, "-c", DEEP_RECURSION, where],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    error, later = run.stdout.splitlines()
    assert later == "True"
    if sys.version_info >= (3, 12):  # the interpreter's own C recursion limit may come first
        assert error.startswith("maximum recursion depth exceeded")
        return
    size = "4096 KiB" if where == "thread" else "KiB"
    assert error.startswith("maximum recursion depth exceeded: a memoized function's C stack")
    assert size in error and "bottom-up" in error and "threading.stack_size()" in error


@needs_front
def test_a_method_gets_the_front_and_keeps_each_instances_cache():
    class Scaled:
        def __init__(self, scale):
            self.scale = scale

        @memoize
        def times(self, x):
            return self.scale * (sum(x) if isinstance(x, list) else x)

        @memoize(ttl=60)
        def timed(self, x):
            return x

    assert isinstance(Scaled.__dict__["times"], Memoized)
    assert not isinstance(Scaled.__dict__["timed"], Memoized)
    a, b = Scaled(2), Scaled(3)
    # Alternating instances: each call after the other's goes through the registry.
    assert [a.times(5), b.times(5), a.times(5), b.times(5)] == [10, 15, 10, 15]
    assert [a.times(5), a.times(5)] == [10, 10]  # the instance called last: the C path
    # A list is keyed by content in the instance's own cache: memo.by_content from C.
    assert [a.times([1, 2]), a.times([1, 2]), b.times([1, 2])] == [6, 6, 9]
    info = Scaled.times.cache_info()
    assert (info.hits, info.misses, info.currsize) == (5, 4, 4)
    bound = a.times
    assert bound(5) == 10 and bound.__self__ is a and bound.__func__ is Scaled.times
