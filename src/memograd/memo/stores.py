"""Which store ``memoize(store=...)`` means: a Store as given, a path, or a Redis URL.

Apart from store.py, because it names both back ends and each back end builds on store.py's
``Store``. One path (or URL) opens one store object per process, shared by every function.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from memograd.memo.store import Store


def open_store(spec: Any) -> Store:
    """A store from what ``memoize(store=...)`` was given: a Store, a path, or a Redis URL.

    One path (or URL) gives one store object per process, shared by every function using it.
    """
    if isinstance(spec, Store):
        return spec
    if isinstance(spec, str) and spec.split("://", 1)[0] in ("redis", "rediss", "unix"):
        from memograd.memo.redis_store import RedisStore

        return _shared(("redis", spec), lambda: RedisStore(spec))
    if isinstance(spec, str | os.PathLike):
        from memograd.memo.sqlite_store import SQLiteStore

        path = os.path.abspath(os.fspath(spec))
        return _shared(("sqlite", path), lambda: SQLiteStore(path))
    raise TypeError(
        "memoize: store must be a path (a SQLite file), a redis:// URL, or a store such as "
        f"mg.memo.SQLiteStore(path) or mg.memo.RedisStore(url); got {spec!r}"
    )


_SHARED: dict[tuple[str, str], Store] = {}
_SHARED_LOCK = threading.Lock()


def _shared(name: tuple[str, str], make: Any) -> Store:
    with _SHARED_LOCK:
        store = _SHARED.get(name)
        if store is None:
            store = _SHARED[name] = make()
        return store
