"""Fixtures of the store tests: each store made fresh per test (the Redis one on the session's
real redis-server, emptied first: ``redis_url`` in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request, tmp_path):
    """``make_store(**options)``: a new store of each kind (the Redis one on the test server)."""
    from memograd.memo import RedisStore, SQLiteStore

    if request.param == "sqlite":
        return lambda **options: SQLiteStore(tmp_path / "results.db", **options)
    url = request.getfixturevalue("redis_url")
    return lambda **options: RedisStore(url, **options)


@pytest.fixture(params=["c", "python"])
def hit_path(request, monkeypatch):
    """Each in-memory test runs twice: on the C front (wrapper.Memoized, from _speedups.c) and on
    the pure-Python wrapper alone, which is what memoize is where the extension was not built.

    The parameter only changes the functions a test memoizes itself; functions memoized when a
    test module is imported are on the C front whenever it is built.
    """
    from memograd.memo import wrapper

    if request.param == "python":
        monkeypatch.setattr(wrapper, "Memoized", None)
    elif wrapper.Memoized is None:
        pytest.skip("memograd.memo._speedups is not built (no C compiler at install)")
    return request.param
