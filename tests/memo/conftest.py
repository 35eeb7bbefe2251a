"""Fixtures of the store tests: a real redis-server, and each store made fresh per test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"memograd_tests_{name}", _TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


redis_server_module = _load("redis_server")


@pytest.fixture(scope="session")
def redis_server(skip_unless_ci):
    """A redis-server on a free 127.0.0.1 port for the session; skipped, saying why, if absent."""
    server, reason = redis_server_module.start_or_skip_reason()
    if server is None:
        skip_unless_ci(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The server's database 0, emptied before the test."""
    import redis

    url = redis_server.url(0)
    client = redis.Redis.from_url(url)
    client.flushall()
    client.config_set("maxmemory", 0)
    client.close()
    return url


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request, tmp_path):
    """``make_store(**options)``: a new store of each kind (the Redis one on the test server)."""
    from memograd.memo import RedisStore, SQLiteStore

    if request.param == "sqlite":
        return lambda **options: SQLiteStore(tmp_path / "results.db", **options)
    url = request.getfixturevalue("redis_url")
    return lambda **options: RedisStore(url, **options)
