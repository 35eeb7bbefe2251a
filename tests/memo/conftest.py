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
