"""CPython's own lru_cache tests, run against ``memoize``.

The tests are ``TestLRU`` of CPython's Lib/test/test_functools.py: the copy shipped with the Python
running this suite (it matches that Python's functools), or, where the standard library's tests
are not installed (Debian splits them into another package), the copy of CPython 3.11 vendored
next to this file with its license. ``TestLRUMemoize`` runs every one of them with
``module.lru_cache`` spelled with memoize.

A test that contradicts a documented choice of memoize is declared in ``DEVIATIONS`` with the
reason: it must fail with an AssertionError (a crash, or a pass, is reported), and
docs/architecture.md lists it.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import types
import unittest
from pathlib import Path

import pytest

from memograd.memo import CacheInfo, memoize, wrapper

VENDORED = Path(__file__).parent / "cpython" / "cpython_3_11_test_functools.py"
ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _vendored_test_functools() -> types.ModuleType:
    name = "cpython_3_11_test_functools"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, VENDORED)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _cpython_test_functools() -> types.ModuleType:
    try:
        from test import test_functools
    except ImportError:
        return _vendored_test_functools()
    return test_functools


cpython = _cpython_test_functools()


def lru_cache(maxsize=128, typed=False):
    """``functools.lru_cache``'s signature spelled with memoize, which takes the same arguments.

    Only the default differs: ``lru_cache()`` keeps 128 entries, ``memoize()`` all of them (it is
    the drop-in for ``functools.cache``), so the bare form passes 128 on.
    """
    if callable(maxsize) and isinstance(typed, bool):
        return memoize(128, typed)(maxsize)
    return memoize(maxsize, typed)


def python_lru_cache(maxsize=128, typed=False):
    """``lru_cache`` above on the pure-Python wrapper alone, as memoize is where its C front was
    not built (CPython likewise runs TestLRU on both its C and its Python lru_cache)."""
    if callable(maxsize) and isinstance(typed, bool):
        return python_lru_cache(128, typed)(maxsize)
    decorator = lru_cache(maxsize, typed)

    def decorate(function):
        saved, wrapper.Memoized = wrapper.Memoized, None
        try:
            return decorator(function)
        finally:
            wrapper.Memoized = saved

    return decorate


MEMOIZE_AS_FUNCTOOLS = types.SimpleNamespace(
    lru_cache=lru_cache,
    _CacheInfo=CacheInfo,
    WRAPPER_ASSIGNMENTS=functools.WRAPPER_ASSIGNMENTS,
    partial=functools.partial,
)

# name -> why memoize answers differently, on purpose (docs/architecture.md, "memoize").
DEVIATIONS = {
    "test_lru_type_error": (
        "content keys: an unhashable argument such as a list is keyed by its content instead of "
        "raising TypeError"
    ),
    "test_lru_with_types": (
        "keyword normalization: square(3) and square(x=3) are one call, so one entry, where "
        "functools keys the two spellings apart"
    ),
    "test_kwargs_order": (
        "keyword-order normalization: f(a=1, b=2) and f(b=2, a=1) are one entry, where "
        "functools keys the two orders apart"
    ),
}
# Tests that cannot even run to a verdict under memoize's choices (they would block).
SKIPPED = {
    "test_lru_cache_threaded2": (
        "single-flight: five threads calling f(i) at once compute it once, so the barrier inside "
        "f that waits for all five computations never fills (the test blocks, then breaks it)"
    ),
}


@memoize
def cached_func(x, y):
    return 3 * x + y


class TestLRUMemoize(cpython.TestLRU, unittest.TestCase):
    module = MEMOIZE_AS_FUNCTOOLS
    cached_func = (cached_func,)

    @memoize
    def cached_meth(self, x, y):
        return 3 * x + y

    @staticmethod
    @memoize
    def cached_staticmeth(x, y):
        return 3 * x + y


@python_lru_cache(None)
def python_cached_func(x, y):
    return 3 * x + y


class TestLRUMemoizePython(TestLRUMemoize):
    module = types.SimpleNamespace(**{**vars(MEMOIZE_AS_FUNCTOOLS), "lru_cache": python_lru_cache})
    cached_func = (python_cached_func,)

    @python_lru_cache(None)
    def cached_meth(self, x, y):
        return 3 * x + y

    @staticmethod
    @python_lru_cache(None)
    def cached_staticmeth(x, y):
        return 3 * x + y


def _declared(name: str, mark: pytest.MarkDecorator):
    test = getattr(cpython.TestLRU, name)

    @functools.wraps(test)
    def run(self):
        test(self)

    return mark(run)


for _name, _reason in DEVIATIONS.items():
    setattr(
        TestLRUMemoize,
        _name,
        _declared(_name, pytest.mark.xfail(raises=AssertionError, strict=True, reason=_reason)),
    )
for _name, _reason in SKIPPED.items():
    setattr(TestLRUMemoize, _name, _declared(_name, pytest.mark.skip(reason=_reason)))


def test_every_declared_deviation_is_a_cpython_test_and_is_listed_in_the_docs():
    names = {name for name in dir(cpython.TestLRU) if name.startswith("test_")}
    documented = ARCHITECTURE.read_text(encoding="utf-8")
    for name in {**DEVIATIONS, **SKIPPED}:
        assert name in names
        assert f"`{name}`" in documented, f"{name} is not listed in docs/architecture.md"


def test_the_vendored_copy_loads_and_holds_cpython_3_11s_tests():
    """The fallback must work where it is needed, so it is loaded here too."""
    vendored = _vendored_test_functools()
    names = {name for name in dir(vendored.TestLRU) if name.startswith("test_")}
    assert len(names) == 27 and {*DEVIATIONS, *SKIPPED} <= names
    if sys.version_info[:2] == (3, 11):
        assert names == {name for name in dir(cpython.TestLRU) if name.startswith("test_")}


def test_the_suite_runs_the_cpython_tests_not_an_empty_shell():
    names = [name for name in dir(TestLRUMemoize) if name.startswith("test_")]
    assert len(names) >= 25
    assert TestLRUMemoize.module.lru_cache is lru_cache
    assert TestLRUMemoizePython.module.lru_cache is python_lru_cache
    assert isinstance(TestLRUMemoizePython.cached_func[0], types.FunctionType)
    if wrapper.Memoized is not None:
        assert isinstance(TestLRUMemoize.cached_func[0], wrapper.Memoized)
        assert not isinstance(python_lru_cache(None)(len), wrapper.Memoized)
